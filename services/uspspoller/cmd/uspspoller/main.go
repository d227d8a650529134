// Command uspspoller polls USPS Tracking v3 for the USPS parcels of
// non-granular sources and stores each response on raw.usps.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/uspspoller"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "uspspoller:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	env := service.NewEnv()
	log := service.NewLogger("uspspoller", env)
	cfg := uspspoller.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	// Without credentials a production poller must not start: it would
	// poll nothing real. USPS_FAKE=true (docker compose for development)
	// runs it against the built-in fake USPS instead, and it says so.
	if !cfg.HasCredentials() {
		if env.String("USPS_FAKE", "false") != "true" {
			return errors.New("USPS_CLIENT_ID and USPS_CLIENT_SECRET are not set (set USPS_FAKE=true to run against the built-in fake USPS in development)")
		}
		if err := uspspoller.StartFakeUSPS(ctx, &cfg, log); err != nil {
			return err
		}
	}
	ops := service.NewOps()
	ops.Pprof = cfg.Pprof
	return uspspoller.Run(ctx, cfg, log, ops)
}
