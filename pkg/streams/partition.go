package streams

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Candidates is the normalizer's internal work queue between mapping and
// ordering: candidates.<partition>.<carrier>.<tracking>. Mapping (stateless,
// any replica) publishes each candidate event to the partition of its
// shipment key; ordering (stateful: dedup, reorder buffer, watermark) runs
// one durable consumer per partition, so one shipment's events always meet
// in one reorder buffer whichever raw message or mapper produced them.
const Candidates = "CANDIDATES"

// DefaultPartitions is the partition count a new CANDIDATES stream gets.
// It is fixed at creation (it is recorded in the stream's metadata and
// every mapper reads it from there) because changing it would move
// shipments between buffers with events in flight. 16 spreads ordering over
// up to 16 normalizer replicas.
const DefaultPartitions = 16

const partitionsKey = "waybill_partitions"

// ErrNoPartitions classifies a CANDIDATES stream without a partition count.
var ErrNoPartitions = errors.New("streams: CANDIDATES has no partition count")

func candidatesConfig(c Config) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        Candidates,
		Description: "normalizer work queue: candidate events by shipment partition",
		Subjects:    []string{"candidates.>"},
		Storage:     jetstream.FileStorage,
		// Limits, trimmed by the normalizer (TrimEvery): it purges what
		// every partition's orderer has acked. Not a work queue: a work
		// queue removes each candidate as it is acked, and with
		// sync_interval: always each removal is a tombstone written and
		// fsynced on the stream's serial write path, which halved how many
		// candidates per second the stream could take. MaxAge is only a
		// backstop for a normalizer that never comes back.
		Retention:  jetstream.LimitsPolicy,
		Replicas:   c.Replicas,
		MaxAge:     7 * 24 * time.Hour,
		MaxBytes:   c.MaxBytes,
		Discard:    jetstream.DiscardNew,
		Duplicates: min(c.DuplicateWindow, 7*24*time.Hour),
		Metadata:   map[string]string{partitionsKey: strconv.Itoa(c.Partitions)},
		// Mapping stores its candidates as atomic batches (batch.go).
		AllowAtomicPublish: true,
	}
}

// ensureCandidates creates CANDIDATES, or updates it keeping the partition
// count it was created with.
func ensureCandidates(ctx context.Context, js jetstream.JetStream, c Config) error {
	sc := candidatesConfig(c)
	have, err := streamConfig(ctx, js, Candidates)
	if err != nil {
		return err
	}
	if have != nil {
		if n, ok := have.Metadata[partitionsKey]; ok {
			sc.Metadata[partitionsKey] = n
		}
		// A stream's retention cannot change: one created as a work queue
		// by an earlier version stays one (trimming it is harmless).
		sc.Retention = have.Retention
	}
	return applyStream(ctx, js, have, sc)
}

// Partitions reads the partition count recorded in CANDIDATES.
func Partitions(ctx context.Context, js jetstream.JetStream) (int, error) {
	s, err := js.Stream(ctx, Candidates)
	if err != nil {
		return 0, fmt.Errorf("streams: %s: %w", Candidates, err)
	}
	n, err := strconv.Atoi(s.CachedInfo().Config.Metadata[partitionsKey])
	if err != nil || n < 1 {
		return 0, ErrNoPartitions
	}
	return n, nil
}

// PartitionOf places a shipment key in one of n partitions (FNV-1a).
func PartitionOf(shipmentKey string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(shipmentKey))
	return int(h.Sum32() % uint32(n))
}

// CandidateSubject is where the mapper publishes a candidate event.
func CandidateSubject(partition int, carrier, trackingNumber string) string {
	return "candidates." + strconv.Itoa(partition) + "." + tracking.SubjectToken(carrier) + "." + tracking.SubjectToken(trackingNumber)
}

// CandidateFilter is the subject filter of one partition's orderer.
func CandidateFilter(partition int) string { return "candidates." + strconv.Itoa(partition) + ".>" }
