// Package projector keeps the Postgres projection of SHIPMENTS up to date:
// a durable consumer on shipments.> hands batches of events to
// projection.Store, one transaction per batch, and acks a batch only after
// it is committed. While Postgres is unavailable it holds what it has,
// retries with backoff and reports not-ready; a message that fails on its
// own (bad data) goes to deadletter.projector.<carrier> after MaxDeliver
// attempts instead of blocking the stream. It also finds stalled shipments
// and alerts on ALERTS, and replays SHIPMENTS into a rebuilt projection
// (`waybill replay projection`).
package projector

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/service"
)

// DefaultDatabaseURL is DATABASE_URL's default (DESIGN.md).
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/waybill?sslmode=disable"

// Config is the projector's configuration.
type Config struct {
	service.Common
	// DatabaseURL names the projection's database (DATABASE_URL); it is
	// created if missing and migrated at start.
	DatabaseURL string
	// BatchSize is the most events written in one transaction
	// (PROJECTOR_BATCH_SIZE, 500).
	BatchSize int
	// BatchWait is the longest the first event of a batch waits for more
	// before the batch is written (PROJECTOR_BATCH_WAIT, 5ms). At low load
	// an event is committed within BatchWait plus one transaction; under
	// load batches fill up before it.
	BatchWait time.Duration
	// Writers is the number of batches written at once, each on its own
	// connection (PROJECTOR_WRITERS, 4). The projection does not depend on
	// the order batches commit in.
	Writers int
	// MaxDeliver is how many times a message that fails on its own is
	// tried before it is dead-lettered (PROJECTOR_MAX_DELIVER, 5).
	// Failures of Postgres itself never count toward it.
	MaxDeliver int
	// AckWait is how long JetStream waits for an ack before redelivering
	// (PROJECTOR_ACK_WAIT, 30s). Batches held during an outage are kept
	// alive with in-progress acks.
	AckWait time.Duration
	// RetryMax is the longest pause between two attempts at a batch while
	// Postgres is unavailable (PROJECTOR_RETRY_MAX, 5s); the pause starts
	// at 100ms and doubles.
	RetryMax time.Duration
	// StallAfter is the silence after which a shipment in a non-terminal
	// status is reported stalled (WAYBILL_STALL_AFTER, 72h).
	StallAfter time.Duration
	// StallInterval is how often stalled shipments are looked for
	// (WAYBILL_STALL_INTERVAL, 5m; 0 turns stall alerts off).
	StallInterval time.Duration
}

// LoadConfig reads the projector's environment; env.Err() reports problems.
func LoadConfig(env *service.Env) Config {
	cfg := Config{
		Common:        service.LoadCommon(env, ":8082"),
		DatabaseURL:   env.String("DATABASE_URL", DefaultDatabaseURL),
		BatchSize:     env.Int("PROJECTOR_BATCH_SIZE", 500, 1, 10000),
		BatchWait:     env.Duration("PROJECTOR_BATCH_WAIT", 5*time.Millisecond),
		Writers:       env.Int("PROJECTOR_WRITERS", 4, 1, 64),
		MaxDeliver:    env.Int("PROJECTOR_MAX_DELIVER", 5, 1, 1000),
		AckWait:       env.Duration("PROJECTOR_ACK_WAIT", 30*time.Second),
		RetryMax:      env.Duration("PROJECTOR_RETRY_MAX", 5*time.Second),
		StallAfter:    env.Duration("WAYBILL_STALL_AFTER", 72*time.Hour),
		StallInterval: env.Duration("WAYBILL_STALL_INTERVAL", 5*time.Minute),
	}
	if cfg.AckWait < 3*time.Second {
		env.Fail("PROJECTOR_ACK_WAIT", cfg.AckWait.String(), "must be at least 3s")
	}
	if cfg.RetryMax < 100*time.Millisecond {
		env.Fail("PROJECTOR_RETRY_MAX", cfg.RetryMax.String(), "must be at least 100ms")
	}
	if cfg.StallAfter <= 0 {
		env.Fail("WAYBILL_STALL_AFTER", cfg.StallAfter.String(), "must be positive")
	}
	return cfg
}
