// Package uspspoller polls USPS Tracking v3 for the USPS parcels that no
// provider reports scan by scan. It watches SHIPMENTS (shipments.usps.>):
// a parcel whose events come only from a non-granular source (Tenovi
// "Shipped" with a usps.com link) goes on a durable poll schedule in
// JetStream KV, and comes off at a terminal status, when a granular source
// reports it, or after USPS_MAX_AGE without USPS news (with an expired
// event). Each USPS response is published untouched as a CloudEvent on
// raw.usps; the normalizer maps it like any webhook, so the poller never
// writes SHIPMENTS itself.
//
// Any number of replicas may run: they share one durable consumer, one
// schedule (claims are compare-and-set on the KV revision) and one USPS
// request budget (a rate limiter whose state is also in KV).
package uspspoller

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/service"
)

// DefaultBaseURL is USPS's production API host (test: https://apis-tem.usps.com).
const DefaultBaseURL = "https://apis.usps.com"

// Secret is a credential. It prints as "[redacted]" so that a Config
// logged or wrapped in an error never carries it.
type Secret string

// String hides the value.
func (Secret) String() string { return "[redacted]" }

// GoString hides the value from %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// MarshalText hides the value from encoders.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Config is the poller's configuration.
type Config struct {
	service.Common
	// BaseURL is the USPS API host (USPS_BASE_URL, https://apis.usps.com).
	BaseURL string
	// ClientID and ClientSecret are the OAuth 2.0 client credentials of a
	// USPS developer app (USPS_CLIENT_ID, USPS_CLIENT_SECRET).
	ClientID     Secret
	ClientSecret Secret
	// Interval is the base time between two polls of a parcel
	// (USPS_POLL_INTERVAL, 4h), plus a random Jitter up to USPS_POLL_JITTER
	// (2h): the "every 4-6 hours" of Tenovi's USPS recipe. The jitter
	// spreads parcels shipped together over the quota.
	Interval time.Duration
	Jitter   time.Duration
	// MaxAge ends polling of a parcel with no USPS news for this long
	// (USPS_MAX_AGE, 720h = 30 days), with an expired event.
	MaxAge time.Duration
	// RateLimit is the USPS requests per hour this app may make, token
	// requests included, across all replicas (USPS_RATE_LIMIT, 60: the
	// default quota USPS users report).
	RateLimit int
	// Concurrency is the polls one replica runs at once
	// (USPS_POLL_CONCURRENCY, 4). The rate limit, not this, bounds the
	// request rate; concurrency only hides USPS's latency.
	Concurrency int
	// HTTPTimeout bounds one USPS request (USPS_HTTP_TIMEOUT, 30s).
	HTTPTimeout time.Duration
}

// LoadConfig reads the poller's environment; env.Err() reports problems.
// Missing credentials are not an error here: see HasCredentials.
func LoadConfig(env *service.Env) Config {
	cfg := Config{
		Common:       service.LoadCommon(env, ":8083"),
		BaseURL:      env.String("USPS_BASE_URL", DefaultBaseURL),
		ClientID:     Secret(env.String("USPS_CLIENT_ID", "")),
		ClientSecret: Secret(env.String("USPS_CLIENT_SECRET", "")),
		Interval:     env.Duration("USPS_POLL_INTERVAL", 4*time.Hour),
		Jitter:       env.Duration("USPS_POLL_JITTER", 2*time.Hour),
		MaxAge:       env.Duration("USPS_MAX_AGE", 30*24*time.Hour),
		RateLimit:    env.Int("USPS_RATE_LIMIT", 60, 1, 1_000_000_000),
		Concurrency:  env.Int("USPS_POLL_CONCURRENCY", 4, 1, 1024),
		HTTPTimeout:  env.Duration("USPS_HTTP_TIMEOUT", 30*time.Second),
	}
	if cfg.Interval <= 0 {
		env.Fail("USPS_POLL_INTERVAL", cfg.Interval.String(), "must be positive")
	}
	if cfg.MaxAge <= 0 {
		env.Fail("USPS_MAX_AGE", cfg.MaxAge.String(), "must be positive")
	}
	if cfg.HTTPTimeout <= 0 {
		env.Fail("USPS_HTTP_TIMEOUT", cfg.HTTPTimeout.String(), "must be positive")
	}
	return cfg
}

// HasCredentials reports whether USPS credentials are configured. Without
// them the poller cannot run against USPS; `waybill run` then starts the
// fake USPS (StartFakeUSPS).
func (c Config) HasCredentials() bool { return c.ClientID != "" && c.ClientSecret != "" }

func (c Config) withDefaults() Config {
	if c.BaseURL == "" {
		c.BaseURL = DefaultBaseURL
	}
	if c.Interval <= 0 {
		c.Interval = 4 * time.Hour
	}
	if c.Jitter < 0 {
		c.Jitter = 0
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 30 * 24 * time.Hour
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 60
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.HTTPTimeout <= 0 {
		c.HTTPTimeout = 30 * time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
	return c
}
