// Package console is waybill's read side for people: a JSON read API under
// /api/v1 over the Postgres projection (shipments, timelines, search by
// reference, counts) and the streams (stream and consumer state, dead
// letters with redrive, live events as Server-Sent Events), and the web
// console's embedded assets at /. It never writes the projection; the only
// state it changes is a redriven dead letter, through pkg/dlq.
//
// Every API route needs WAYBILL_CONSOLE_TOKEN, as a bearer token or as the
// session cookie the web console gets by logging in with it. Sessions and
// pagination cursors are stateless (HMACs under keys derived from the
// token), so any number of console replicas serve the same users.
package console

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/service"
)

// DefaultDatabaseURL is DATABASE_URL's default (DESIGN.md).
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/waybill?sslmode=disable"

// MinTokenLength is the shortest WAYBILL_CONSOLE_TOKEN accepted: the token
// guards references (patient and device ids, order ids).
const MinTokenLength = 16

// Config is the console's configuration.
type Config struct {
	service.Common
	// Token is WAYBILL_CONSOLE_TOKEN (required, at least MinTokenLength
	// characters): the API's bearer token, the web console's password, and
	// the root of the keys that sign session cookies and cursors.
	Token string
	// DatabaseURL names the projection's database (DATABASE_URL). The
	// console only reads it and reports not-ready until the projector has
	// migrated it.
	DatabaseURL string
	// SessionTTL is how long a web console login lasts
	// (WAYBILL_CONSOLE_SESSION_TTL, 12h).
	SessionTTL time.Duration
	// Heartbeat is the interval of the comment lines that keep an idle
	// live-event stream open through proxies (WAYBILL_CONSOLE_SSE_HEARTBEAT,
	// 15s).
	Heartbeat time.Duration
	// MaxConns bounds the console's Postgres connections
	// (WAYBILL_CONSOLE_DB_CONNS, 8).
	MaxConns int
}

// LoadConfig reads the console's environment; env.Err() reports problems,
// among them a missing or short WAYBILL_CONSOLE_TOKEN.
func LoadConfig(env *service.Env) Config {
	cfg := Config{
		Common:      service.LoadCommon(env, ":8084"),
		Token:       env.String("WAYBILL_CONSOLE_TOKEN", ""),
		DatabaseURL: env.String("DATABASE_URL", DefaultDatabaseURL),
		SessionTTL:  env.Duration("WAYBILL_CONSOLE_SESSION_TTL", 12*time.Hour),
		Heartbeat:   env.Duration("WAYBILL_CONSOLE_SSE_HEARTBEAT", 15*time.Second),
		MaxConns:    env.Int("WAYBILL_CONSOLE_DB_CONNS", 8, 1, 256),
	}
	switch {
	case cfg.Token == "":
		env.Fail("WAYBILL_CONSOLE_TOKEN", "", "required: the console shows references, so it serves nothing without a token (generate one with: openssl rand -hex 24)")
	case len(cfg.Token) < MinTokenLength:
		env.Fail("WAYBILL_CONSOLE_TOKEN", "(hidden)", "must be at least 16 characters")
	}
	if cfg.SessionTTL < time.Minute {
		env.Fail("WAYBILL_CONSOLE_SESSION_TTL", cfg.SessionTTL.String(), "must be at least 1m")
	}
	if cfg.Heartbeat < 100*time.Millisecond {
		env.Fail("WAYBILL_CONSOLE_SSE_HEARTBEAT", cfg.Heartbeat.String(), "must be at least 100ms")
	}
	return cfg
}

// validate repeats LoadConfig's checks for a Config built by hand
// (`waybill run`, tests).
func (c Config) validate() error {
	env := service.EnvFrom(map[string]string{"WAYBILL_CONSOLE_TOKEN": c.Token})
	LoadConfig(env)
	return env.Err()
}
