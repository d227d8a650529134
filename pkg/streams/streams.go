// Package streams declares waybill's JetStream streams and subjects, creates
// or updates them at service start, connects services to NATS, and embeds a
// nats-server for tests and `waybill run`.
package streams

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Stream names.
const (
	Raw        = "RAW"
	Shipments  = "SHIPMENTS"
	DeadLetter = "DEADLETTER"
	Alerts     = "ALERTS"
)

// RawSubject is where ingress (and the USPS poller) store a source's messages.
func RawSubject(source string) string { return RawSubjectPrefix + tracking.SubjectToken(source) }

// RawSubjectPrefix begins every subject of RAW.
const RawSubjectPrefix = "raw."

// DeadLetterSubject is where a stage (ingress, normalizer, projector) puts a
// message it could not process, by source (or carrier for the projector).
func DeadLetterSubject(stage, source string) string {
	return "deadletter." + tracking.SubjectToken(stage) + "." + tracking.SubjectToken(source)
}

// Config sizes the streams. Zero values take the defaults below.
type Config struct {
	// Replicas of every stream: 1 on one server, 3 on a cluster.
	Replicas int
	// DuplicateWindow is how long a Nats-Msg-Id is remembered. 20 minutes
	// covers the providers' early retries (Carriyo at 1, 3, 5 min;
	// Wineshipping's attempts 2-6 within 15.5 min) and the normalizer's
	// redelivery horizon (AckWait x a few deliveries); later duplicates are
	// caught by the normalizer's durable seen-set and Postgres's primary
	// key. The server keeps the ids in memory: rate x window entries.
	DuplicateWindow time.Duration
	// RawMaxAge keeps raw webhooks long enough to re-normalize after a
	// mapping fix (`waybill replay normalize`): 30 days.
	RawMaxAge time.Duration
	// ShipmentsMaxAge is 0 (forever): SHIPMENTS is the history the
	// projection is rebuilt from.
	ShipmentsMaxAge time.Duration
	// DeadLetterMaxAge keeps dead letters 90 days for inspection and redrive.
	DeadLetterMaxAge time.Duration
	// Partitions is the CANDIDATES partition count used when the stream is
	// first created (DefaultPartitions); an existing stream keeps its own.
	Partitions int
	// MaxBytes caps each stream (-1: bounded only by the server's
	// JetStream store limit). When set, streams refuse new messages when
	// full (DiscardNew) rather than drop old unprocessed ones: ingress then
	// answers 503 and the provider retries, so nothing is lost.
	MaxBytes int64
}

func (c Config) withDefaults() Config {
	if c.Replicas <= 0 {
		c.Replicas = 1
	}
	if c.DuplicateWindow <= 0 {
		c.DuplicateWindow = 20 * time.Minute
	}
	if c.RawMaxAge <= 0 {
		c.RawMaxAge = 30 * 24 * time.Hour
	}
	if c.DeadLetterMaxAge <= 0 {
		c.DeadLetterMaxAge = 90 * 24 * time.Hour
	}
	if c.Partitions <= 0 {
		c.Partitions = DefaultPartitions
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = -1
	}
	return c
}

// StreamConfigs returns the configuration of every stream waybill uses.
func StreamConfigs(c Config) []jetstream.StreamConfig {
	c = c.withDefaults()
	base := func(name, desc string, subjects []string, maxAge time.Duration) jetstream.StreamConfig {
		dup := c.DuplicateWindow
		if maxAge > 0 && dup > maxAge { // the server rejects a window longer than MaxAge
			dup = maxAge
		}
		return jetstream.StreamConfig{
			Name: name, Description: desc, Subjects: subjects,
			Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy,
			Replicas: c.Replicas, MaxAge: maxAge, MaxBytes: c.MaxBytes,
			Discard: jetstream.DiscardNew, Duplicates: dup,
		}
	}
	shipments := base(Shipments, "normalized shipment events: shipments.<carrier>.<tracking>.<status>", []string{"shipments.>"}, c.ShipmentsMaxAge)
	// The normalizer stores each reorder flush as atomic batches (batch.go).
	shipments.AllowAtomicPublish = true
	raw := base(Raw, "provider payloads as received, CloudEvents in binary mode", []string{"raw.>"}, c.RawMaxAge)
	// The ingress group-commits webhooks under load (batch.go).
	raw.AllowAtomicPublish = true
	return []jetstream.StreamConfig{
		raw,
		shipments,
		base(DeadLetter, "messages a stage could not process, with the reason: deadletter.<stage>.<source>", []string{"deadletter.>"}, c.DeadLetterMaxAge),
		base(Alerts, "operational alerts such as stalled shipments: alerts.<kind>.>", []string{"alerts.>"}, c.DeadLetterMaxAge),
	}
}

// Ensure creates every stream, or updates it to cfg, idempotently. Several
// services may call it at once at start.
func Ensure(ctx context.Context, js jetstream.JetStream, cfg Config) error {
	for _, sc := range StreamConfigs(cfg) {
		if err := ensureStream(ctx, js, sc); err != nil {
			return err
		}
	}
	return ensureCandidates(ctx, js, cfg.withDefaults())
}

// Check reports an error unless every stream exists: readiness.
func Check(ctx context.Context, js jetstream.JetStream) error {
	var errs []error
	for _, name := range []string{Raw, Shipments, DeadLetter, Alerts, Candidates} {
		if _, err := js.Stream(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
