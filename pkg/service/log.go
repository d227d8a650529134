package service

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// NewLogger returns the JSON logger of a service: one line per meaningful
// event, level from WAYBILL_LOG_LEVEL (trace, debug, info, warn, error;
// default info). Log fields carry event ids and shipment keys, never
// personal data: callers must not log payloads or references.
func NewLogger(serviceName string, env *Env) zerolog.Logger {
	return newLogger(os.Stderr, serviceName, env)
}

func newLogger(w io.Writer, serviceName string, env *Env) zerolog.Logger {
	zerolog.TimeFieldFormat = time.RFC3339Nano
	level := zerolog.InfoLevel
	if v, ok := env.Lookup("WAYBILL_LOG_LEVEL"); ok {
		l, err := zerolog.ParseLevel(strings.ToLower(strings.TrimSpace(v)))
		if err != nil || l == zerolog.NoLevel {
			env.Fail("WAYBILL_LOG_LEVEL", v, "want trace, debug, info, warn or error")
		} else {
			level = l
		}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Str("service", serviceName).Logger()
}
