package uspspoller

import (
	"context"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

// StartFakeUSPS serves the fake USPS (uspsfake, every number scripted by
// uspsfake.Demo, one event per poll interval) on a loopback port until ctx
// ends, points cfg at it with the fake's credentials, and says so in the
// log. `waybill run` calls it when cfg.HasCredentials() is false, so that
// the pipeline runs end to end with no USPS account.
func StartFakeUSPS(ctx context.Context, cfg *Config, log zerolog.Logger) error {
	const id, secret = "waybill-dev", "waybill-dev-secret"
	interval := cfg.Interval
	if interval <= 0 {
		interval = cfg.withDefaults().Interval
	}
	fake := uspsfake.New(uspsfake.WithCredentials(id, secret), uspsfake.WithAutoScript(uspsfake.Demo(interval)))
	url, stop, err := fake.Start("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("uspspoller: fake USPS: %w", err)
	}
	go func() { <-ctx.Done(); stop() }()
	cfg.BaseURL, cfg.ClientID, cfg.ClientSecret = url, Secret(id), Secret(secret)
	log.Warn().Str("usps_base_url", url).
		Msg("no USPS credentials (USPS_CLIENT_ID, USPS_CLIENT_SECRET): polling a built-in fake USPS with scripted parcels")
	return nil
}
