// Package service is the plumbing every waybill binary shares: configuration
// from the environment with all problems reported at once, zerolog JSON
// logging, the /healthz /readyz /metrics endpoints, and graceful shutdown.
package service

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Env reads configuration from environment variables, collecting every
// problem so a misconfigured service names them all at start, not one per
// restart.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// NewEnv reads the process environment.
func NewEnv() *Env { return &Env{lookup: os.LookupEnv} }

// EnvFrom reads a fixed map (tests, `waybill run`).
func EnvFrom(m map[string]string) *Env {
	return &Env{lookup: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

// Lookup returns the raw value of name.
func (e *Env) Lookup(name string) (string, bool) {
	v, ok := e.lookup(name)
	if ok && strings.TrimSpace(v) == "" {
		return "", false // an empty variable means "use the default"
	}
	return v, ok
}

// String returns name's value or def.
func (e *Env) String(name, def string) string {
	if v, ok := e.Lookup(name); ok {
		return v
	}
	return def
}

// Int returns name's value as an integer within [lo, hi], or def.
func (e *Env) Int(name string, def, lo, hi int) int {
	v, ok := e.Lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want an integer from %d to %d", name, v, lo, hi))
		return def
	}
	return n
}

// Duration returns name's value (Go duration syntax, "90s", "4h") or def.
func (e *Env) Duration(name string, def time.Duration) time.Duration {
	v, ok := e.Lookup(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a non-negative duration such as 30s or 4h", name, v))
		return def
	}
	return d
}

// Bytes returns name's value as a byte size ("1MiB", "512KiB", "1048576") or def.
func (e *Env) Bytes(name string, def int64) int64 {
	v, ok := e.Lookup(name)
	if !ok {
		return def
	}
	n, err := ParseBytes(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: %v", name, v, err))
		return def
	}
	return n
}

// Fail records a problem found by the caller's own validation.
func (e *Env) Fail(name, value, problem string) {
	e.errs = append(e.errs, fmt.Errorf("%s=%q: %s", name, value, problem))
}

// Err returns every problem found, or nil.
func (e *Env) Err() error {
	if len(e.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(e.errs...))
}

// ParseBytes reads "1048576", "512KiB", "1MiB", "2GiB" (also KB/MB/GB as
// powers of 1024, since that is what people mean in a config).
func ParseBytes(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			s, mult = strings.TrimSpace(s[:len(s)-len(u.suffix)]), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("want a byte size such as 1048576, 512KiB or 1MiB")
	}
	return n * mult, nil
}
