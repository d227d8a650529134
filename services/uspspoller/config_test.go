package uspspoller_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/uspspoller"
)

func TestLoadConfig(t *testing.T) {
	env := service.EnvFrom(map[string]string{})
	cfg := uspspoller.LoadConfig(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.BaseURL != "https://apis.usps.com" || cfg.Interval != 4*time.Hour || cfg.Jitter != 2*time.Hour ||
		cfg.MaxAge != 30*24*time.Hour || cfg.RateLimit != 60 || cfg.Concurrency != 4 || cfg.HTTPAddr != ":8083" {
		t.Errorf("defaults %+v", cfg)
	}
	if cfg.HasCredentials() {
		t.Error("credentials without USPS_CLIENT_ID")
	}

	env = service.EnvFrom(map[string]string{
		"USPS_POLL_INTERVAL": "0s", "USPS_RATE_LIMIT": "0", "USPS_MAX_AGE": "soon", "USPS_POLL_JITTER": "-1h",
	})
	uspspoller.LoadConfig(env)
	err := env.Err()
	for _, name := range []string{"USPS_POLL_INTERVAL", "USPS_RATE_LIMIT", "USPS_MAX_AGE", "USPS_POLL_JITTER"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("error %v does not name %s", err, name)
		}
	}
}

func TestRunWithoutCredentials(t *testing.T) {
	cfg := uspspoller.LoadConfig(service.EnvFrom(map[string]string{}))
	if err := uspspoller.Run(context.Background(), cfg, zerolog.Nop(), service.NewOps()); !errors.Is(err, uspspoller.ErrNoCredentials) {
		t.Errorf("Run without credentials: %v", err)
	}
}

// TestStartFakeUSPS is what `waybill run` does without credentials: the
// fake is started, cfg points at it, and the log says so.
func TestStartFakeUSPS(t *testing.T) {
	h := newHarness(t)
	cfg := h.config(map[string]string{"USPS_CLIENT_ID": "", "USPS_CLIENT_SECRET": "", "USPS_BASE_URL": ""})
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := uspspoller.StartFakeUSPS(ctx, &cfg, zerolog.New(&logs)); err != nil {
		t.Fatal(err)
	}
	if !cfg.HasCredentials() || !strings.HasPrefix(cfg.BaseURL, "http://127.0.0.1:") {
		t.Fatalf("config not pointed at the fake: %s", cfg.BaseURL)
	}
	if !strings.Contains(logs.String(), "fake USPS") {
		t.Errorf("log does not say so: %s", logs.String())
	}
	c := uspspoller.NewClient(cfg.BaseURL, cfg.ClientID, cfg.ClientSecret)
	if _, err := c.Track(ctx, "9400DEMO1"); !errors.Is(err, uspspoller.ErrNotFound) {
		t.Errorf("first demo poll: %v, want not found", err)
	}
}
