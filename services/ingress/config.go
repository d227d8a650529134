// Package ingress is waybill's webhook receiver: authenticate, bound and
// validate the body, derive the provider's event id, wrap the untouched
// payload in a CloudEvent and store it on raw.<source>, answering 2xx only
// after JetStream's ack. It never maps statuses: that is the normalizer's.
package ingress

import (
	"strings"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/service"
)

// Config is the ingress's configuration.
type Config struct {
	service.Common
	// MaxBody is the largest webhook body accepted (WAYBILL_MAX_BODY, 1 MiB).
	MaxBody int64
	// PublishTimeout bounds the wait for JetStream's ack before answering
	// 503 (WAYBILL_PUBLISH_TIMEOUT, 5s: well inside the providers' own
	// request timeouts).
	PublishTimeout time.Duration
	// RetryAfter is the Retry-After a 503 carries (WAYBILL_RETRY_AFTER, 5s).
	RetryAfter time.Duration
	// TokenTTL is the lifetime of OAuth2 tokens (WAYBILL_OAUTH_TOKEN_TTL, 15m).
	TokenTTL time.Duration
	// Auth holds the sources with WAYBILL_AUTH_<SOURCE> set; others answer 404.
	Auth map[string]Authenticator
}

// LoadConfig reads the ingress's environment; env.Err() reports problems.
func LoadConfig(env *service.Env) Config {
	cfg := Config{
		Common:         service.LoadCommon(env, ":8080"),
		MaxBody:        env.Bytes("WAYBILL_MAX_BODY", 1<<20),
		PublishTimeout: env.Duration("WAYBILL_PUBLISH_TIMEOUT", 5*time.Second),
		RetryAfter:     env.Duration("WAYBILL_RETRY_AFTER", 5*time.Second),
		TokenTTL:       env.Duration("WAYBILL_OAUTH_TOKEN_TTL", 15*time.Minute),
		Auth:           map[string]Authenticator{},
	}
	for _, p := range providers.Webhooks() {
		name := AuthVar(p.Info().Name)
		spec, ok := env.Lookup(name)
		if !ok {
			continue
		}
		a, err := ParseAuth(spec)
		if err != nil {
			env.Fail(name, "…", err.Error()) // the value holds a secret: never echoed
			continue
		}
		cfg.Auth[p.Info().Name] = a
	}
	if cfg.MaxBody <= 0 {
		env.Fail("WAYBILL_MAX_BODY", "0", "must be positive")
	}
	if cfg.PublishTimeout <= 0 {
		env.Fail("WAYBILL_PUBLISH_TIMEOUT", "0", "must be positive")
	}
	return cfg
}

// AuthVar is the environment variable that configures source's auth.
func AuthVar(source string) string { return "WAYBILL_AUTH_" + strings.ToUpper(source) }
