package normalizer

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/streams"
)

// TrimEvery is how often each replica removes from CANDIDATES what every
// partition has acked.
//
// CANDIDATES is a limits stream trimmed here rather than a work queue
// (pkg/streams/partition.go says why): with sync_interval: always a work
// queue writes and fsyncs a tombstone for every ack, on the same serial
// write path as the stream's stores, so each candidate cost two fsyncs; a
// purge removes everything acked in one operation. Between trims the stream
// holds at most TrimEvery of acked candidates beside the work.
const TrimEvery = 2 * time.Second

// trimCandidates removes the candidates every partition's ordering
// consumer has acked: all messages below the lowest sequence some
// partition still needs. It is safe from any number of replicas at once
// (each purge only removes what is acked, and a bound is never too high
// even when read stale). It returns the first sequence kept, 0 when it
// removed nothing.
func trimCandidates(ctx context.Context, js jetstream.JetStream, partitions int) (uint64, error) {
	s, err := js.Stream(ctx, streams.Candidates)
	if err != nil {
		return 0, err
	}
	// The last sequence is read before the consumers: a partition with
	// nothing pending or unacked then has acked everything up to it, and a
	// candidate stored after this read has a higher sequence.
	si, err := s.Info(ctx)
	if err != nil {
		return 0, err
	}
	if si.State.Msgs == 0 {
		return 0, nil
	}
	infos, err := partitionInfos(ctx, s, partitions)
	if err != nil {
		return 0, err
	}
	keep := si.State.LastSeq + 1
	for _, ci := range infos {
		if ci.NumPending == 0 && ci.NumAckPending == 0 {
			continue
		}
		// Every candidate of this partition at or below the ack floor is
		// acked; the one after it may not be.
		keep = min(keep, ci.AckFloor.Stream+1)
	}
	if keep <= si.State.FirstSeq {
		return 0, nil
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSequence(keep)); err != nil {
		return 0, err
	}
	return keep, nil
}

// trimLoop trims CANDIDATES every TrimEvery until ctx ends.
func trimLoop(ctx context.Context, js jetstream.JetStream, partitions int, log zerolog.Logger) {
	t := time.NewTicker(TrimEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		keep, err := trimCandidates(ctx, js, partitions)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn().Err(err).Msg("trimming CANDIDATES failed: acked candidates stay until the next trim")
		case keep > 0:
			log.Debug().Uint64("first_kept", keep).Msg("CANDIDATES trimmed")
		}
	}
}

// PendingCandidates is how many candidates the ordering consumers have not
// acked yet: the work CANDIDATES holds (its message count also includes
// acked candidates not trimmed yet).
func PendingCandidates(ctx context.Context, js jetstream.JetStream) (uint64, error) {
	partitions, err := streams.Partitions(ctx, js)
	if err != nil {
		return 0, err
	}
	s, err := js.Stream(ctx, streams.Candidates)
	if err != nil {
		return 0, err
	}
	infos, err := partitionInfos(ctx, s, partitions)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, ci := range infos {
		n += ci.NumPending + uint64(ci.NumAckPending)
	}
	return n, nil
}

// partitionInfos reads the current state of every partition's ordering
// consumer.
func partitionInfos(ctx context.Context, s jetstream.Stream, partitions int) ([]*jetstream.ConsumerInfo, error) {
	infos := make([]*jetstream.ConsumerInfo, partitions)
	for p := range partitions {
		c, err := s.Consumer(ctx, OrderConsumer(p))
		if err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, err)
		}
		if infos[p], err = c.Info(ctx); err != nil {
			return nil, fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return infos, nil
}
