// Package normalizer turns raw provider messages into normalized shipment
// events: mapping (pure: one raw message -> candidate events, any worker)
// publishes each candidate to its shipment's partition of CANDIDATES;
// ordering (stateful, one owner per partition) drops duplicates, holds each
// shipment's events for the reorder window and emits them to SHIPMENTS in
// carrier-time order, flagging those older than what was already emitted as
// late. Every hop acks its input only after its output is stored.
package normalizer

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/service"
)

// Config is the normalizer's configuration.
type Config struct {
	service.Common
	// ReorderWindow is how long a shipment's new events are held before
	// they are emitted sorted (NORMALIZER_REORDER_WINDOW, 2s). Carriyo
	// documents "delivered before out_for_delivery" when a carrier batches.
	ReorderWindow time.Duration
	// MaxBuffered bounds the events held in reorder buffers
	// (NORMALIZER_MAX_BUFFERED, 50000); beyond it no more are fetched.
	MaxBuffered int
	// AckWait is how long JetStream waits for an ack before redelivering
	// (NORMALIZER_ACK_WAIT, 30s). It must exceed the reorder window plus a
	// publish, or held events would be redelivered while still buffered.
	AckWait time.Duration
	// StateTTL is how long a shipment's dedup set and watermark are kept
	// after its last event (NORMALIZER_STATE_TTL, 30 days: a provider's
	// duplicate older than that is indistinguishable from news).
	StateTTL time.Duration
	// StateCache bounds the shipment states cached in memory
	// (NORMALIZER_STATE_CACHE, 200000).
	StateCache int
	// PinnedTTL is how long a partition stays pinned to a replica that has
	// stopped pulling (NORMALIZER_PINNED_TTL, 15s): the failover time of a
	// crashed replica's partitions. Replicas renew their pin by pulling at
	// least every PinnedTTL/3 (ownership.go).
	PinnedTTL time.Duration
	// HandoverGrace is how long a replica holds a partition's buffers after
	// it became the partition's owner, so a previous owner that is still
	// alive finishes its last flush first (NORMALIZER_HANDOVER_GRACE,
	// reorder window + 5s).
	HandoverGrace time.Duration
}

// LoadConfig reads the normalizer's environment; env.Err() reports problems.
func LoadConfig(env *service.Env) Config {
	cfg := Config{
		Common:        service.LoadCommon(env, ":8081"),
		ReorderWindow: env.Duration("NORMALIZER_REORDER_WINDOW", 2*time.Second),
		MaxBuffered:   env.Int("NORMALIZER_MAX_BUFFERED", 50000, 100, 10_000_000),
		AckWait:       env.Duration("NORMALIZER_ACK_WAIT", 30*time.Second),
		StateTTL:      env.Duration("NORMALIZER_STATE_TTL", 30*24*time.Hour),
		StateCache:    env.Int("NORMALIZER_STATE_CACHE", 200000, 1000, 100_000_000),
		PinnedTTL:     env.Duration("NORMALIZER_PINNED_TTL", 15*time.Second),
	}
	cfg.HandoverGrace = env.Duration("NORMALIZER_HANDOVER_GRACE", cfg.ReorderWindow+5*time.Second)
	if cfg.PinnedTTL < 3*time.Second {
		env.Fail("NORMALIZER_PINNED_TTL", cfg.PinnedTTL.String(), "must be at least 3s (pulls renew the pin every third of it, at least 1s apart)")
	}
	if cfg.HandoverGrace < 0 {
		env.Fail("NORMALIZER_HANDOVER_GRACE", cfg.HandoverGrace.String(), "must not be negative")
	}
	if cfg.AckWait < cfg.ReorderWindow+5*time.Second {
		env.Fail("NORMALIZER_ACK_WAIT", cfg.AckWait.String(), "must exceed NORMALIZER_REORDER_WINDOW by at least 5s")
	}
	if cfg.StateTTL <= 0 {
		env.Fail("NORMALIZER_STATE_TTL", cfg.StateTTL.String(), "must be positive")
	}
	return cfg
}
