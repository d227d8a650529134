package service

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/streams"
)

// Common is the configuration every service reads (DESIGN.md's table).
type Common struct {
	NATSURL         string
	HTTPAddr        string
	ShutdownTimeout time.Duration
	Streams         streams.Config
	Pprof           bool // WAYBILL_PPROF: serve /debug/pprof/ on HTTP_ADDR
}

// LoadCommon reads NATS_URL, HTTP_ADDR, WAYBILL_SHUTDOWN_TIMEOUT and the
// stream sizing variables. defaultAddr is the service's HTTP_ADDR default.
func LoadCommon(env *Env, defaultAddr string) Common {
	return Common{
		NATSURL:         env.String("NATS_URL", streams.DefaultURL),
		HTTPAddr:        env.String("HTTP_ADDR", defaultAddr),
		ShutdownTimeout: env.Duration("WAYBILL_SHUTDOWN_TIMEOUT", 20*time.Second),
		Pprof:           env.String("WAYBILL_PPROF", "false") == "true",
		Streams: streams.Config{
			Replicas:         env.Int("WAYBILL_STREAM_REPLICAS", 1, 1, 5),
			DuplicateWindow:  env.Duration("WAYBILL_DUPLICATE_WINDOW", 0),
			RawMaxAge:        env.Duration("WAYBILL_RAW_MAX_AGE", 0),
			ShipmentsMaxAge:  env.Duration("WAYBILL_SHIPMENTS_MAX_AGE", 0),
			DeadLetterMaxAge: env.Duration("WAYBILL_DEADLETTER_MAX_AGE", 0),
			MaxBytes:         env.Bytes("WAYBILL_STREAM_MAX_BYTES", -1),
			Partitions:       env.Int("WAYBILL_PARTITIONS", streams.DefaultPartitions, 1, 1024),
		},
	}
}
