package normalizer

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/streams"
)

// Partition ownership.
//
// Each CANDIDATES partition has one durable consumer (normalizer-order-<p>)
// with a pinned_client priority group (nats-server 2.11+). Every replica
// pulls every partition, but the server delivers a partition's messages to
// one pulling client only, the pinned one, and stamps them with its pin id
// (Nats-Pin-Id). So one shipment's candidates meet in one reorder buffer at
// a time, with no election or lock of our own:
//
//   - Crash (SIGKILL, node loss): the dead replica stops pulling; after
//     PinnedTTL without a pull from it the server unpins it and pins the
//     next replica that pulls. New candidates flow to it after at most
//     PinnedTTL; the ones the dead replica held unacked are redelivered to
//     it after AckWait (from their delivery). The shipment state in KV (ids
//     emitted, watermark) makes the new owner drop what the dead one had
//     already emitted and flag as late what sorts before its watermark; a
//     dead owner's buffered-but-unemitted events arrive as a group and are
//     emitted in carrier-time order.
//   - Drain (SIGTERM, scale-in, rolling update): the replica stops pulling,
//     flushes its buffers, naks what it fetched but had not buffered, and
//     unpins its partitions (the consumer's Unpin API), so they move at once
//     instead of after PinnedTTL.
//   - Handover with the old owner alive (the consumer leader moved to
//     another node, which resets pins; or an owner stalled for PinnedTTL):
//     the old owner still flushes what it buffered, within the reorder
//     window. The new owner therefore holds a newly acquired partition's
//     buffers for HandoverGrace and reads its shipments' states from KV
//     afresh (its cache may predate the old owner's writes), so it orders
//     after the old owner's last flush. An old owner stalled for longer than
//     that can still emit in parallel: SHIPMENTS drops the duplicate ids
//     (Nats-Msg-Id = event id), the state's compare-and-set merges both
//     writers, and the projection is order-independent; the worst outcome
//     is one event not flagged late that should have been.
//
// With the defaults (15 s PinnedTTL, 30 s AckWait, 2 s reorder window) a
// crashed replica's partitions resume new events within ~15 s plus the
// 7 s handover grace, and its in-hand events within ~30 s; a drained
// replica's within the grace. docs/SCALING.md has the figures.

// PriorityGroup is the pinned_client priority group of every ordering
// consumer.
const PriorityGroup = "ordering"

// orderConsumerConfig is partition p's ordering consumer.
func orderConsumerConfig(p int, cfg Config) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable: OrderConsumer(p), Description: "normalizer ordering of one shipment partition (one pinned replica)",
		FilterSubject: streams.CandidateFilter(p), AckPolicy: jetstream.AckExplicitPolicy,
		// Held events stay unacked for the reorder window: AckWait exceeds
		// it (checked in LoadConfig) and MaxAckPending admits everything
		// the buffers may hold.
		AckWait: cfg.AckWait, MaxAckPending: cfg.MaxBuffered, DeliverPolicy: jetstream.DeliverAllPolicy,
		PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{PriorityGroup},
		PinnedTTL: cfg.PinnedTTL,
	}
}

// pullExpiry is how long one pull request waits. The pinned client keeps its
// pin by pulling again within PinnedTTL, even when idle, so a request must
// expire (and be renewed) well inside it.
func pullExpiry(pinnedTTL time.Duration) time.Duration {
	return min(max(pinnedTTL/3, time.Second), 30*time.Second)
}

// pinHeader is the header the server stamps on a pinned consumer's messages.
const pinHeader = "Nats-Pin-Id"

// pins records, per partition, the pin id this replica last received
// messages under: at drain, the partitions it still owns are unpinned.
type pins struct {
	mu sync.Mutex
	id map[int]string
}

func (p *pins) set(partition int, id string) {
	if id == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.id == nil {
		p.id = map[int]string{}
	}
	p.id[partition] = id
}

func (p *pins) snapshot() map[int]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[int]string, len(p.id))
	for k, v := range p.id {
		out[k] = v
	}
	return out
}

// pullPartition starts pulling one partition's consumer in the priority
// group: the server delivers only while this replica holds the pin.
func pullPartition(c jetstream.Consumer, cfg Config) (jetstream.MessagesContext, error) {
	return c.Messages(jetstream.PullMaxMessages(256), jetstream.PullPriorityGroup(PriorityGroup),
		jetstream.PullExpiry(pullExpiry(cfg.PinnedTTL)))
}

// readPartition feeds partition p's candidates to the orderer while this
// replica is the partition's pinned client; the others' pulls wait. At
// drain it stops pulling and naks what was fetched but not handed over, so
// the next owner gets it at once.
func readPartition(ctx context.Context, p int, it jetstream.MessagesContext, in chan<- jetstream.Msg, owned *pins, log zerolog.Logger) {
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			if ctx.Err() != nil {
				it.Stop()
				return
			}
			log.Warn().Err(err).Int("partition", p).Msg("ordering consumer")
			continue
		}
		owned.set(p, msg.Headers().Get(pinHeader))
		if ctx.Err() != nil {
			_ = msg.Nak()
			continue
		}
		select {
		case in <- msg:
		case <-ctx.Done():
			_ = msg.Nak()
		}
	}
}

// unpinOwned releases the partitions this replica is still pinned to, so
// another replica takes them now rather than after PinnedTTL. A partition
// whose pin has moved on meanwhile is left alone: unpinning it would take
// it from its new owner.
func unpinOwned(ctx context.Context, js jetstream.JetStream, owned *pins, log zerolog.Logger) {
	s, err := js.Stream(ctx, streams.Candidates)
	if err != nil {
		log.Warn().Err(err).Msg("unpin: partitions will move after the pinned TTL")
		return
	}
	n := 0
	for p, id := range owned.snapshot() {
		c, err := s.Consumer(ctx, OrderConsumer(p))
		if err != nil {
			continue
		}
		info, err := c.Info(ctx)
		if err != nil || len(info.PriorityGroups) == 0 || info.PriorityGroups[0].PinnedClientID != id {
			continue
		}
		if err := s.UnpinConsumer(ctx, OrderConsumer(p), PriorityGroup); err != nil {
			log.Warn().Err(err).Int("partition", p).Msg("unpin failed: partition moves after the pinned TTL")
			continue
		}
		n++
	}
	log.Info().Int("partitions", n).Msg("partitions unpinned")
}

// partitionOf reads the partition from a candidate's subject
// (candidates.<p>.<carrier>.<tracking>); -1 if it has none.
func partitionOf(subject string) int {
	rest, ok := strings.CutPrefix(subject, "candidates.")
	if !ok {
		return -1
	}
	tok, _, _ := strings.Cut(rest, ".")
	p, err := strconv.Atoi(tok)
	if err != nil {
		return -1
	}
	return p
}

// handover tracks, inside the orderer, which pin each partition's
// candidates arrive under. A new pin means the partition (re)arrived here,
// possibly while its previous owner is still flushing: its buffers are held
// until the grace ends and its cached states are dropped.
type handover struct {
	grace      time.Duration
	partitions int
	pin        map[int]string
	holdUntil  map[int]time.Time
}

func newHandover(grace time.Duration, partitions int) *handover {
	return &handover{grace: grace, partitions: partitions, pin: map[int]string{}, holdUntil: map[int]time.Time{}}
}

// arrived notes a candidate of partition p delivered under pin id; it
// reports whether that is a new ownership of p.
func (h *handover) arrived(p int, id string, now time.Time) bool {
	if p < 0 || id == "" || h.pin[p] == id {
		return false
	}
	h.pin[p] = id
	if h.grace > 0 {
		h.holdUntil[p] = now.Add(h.grace)
	}
	return true
}

// held reports whether partition p's buffers must wait at now.
func (h *handover) held(p int, now time.Time) bool {
	until, ok := h.holdUntil[p]
	if !ok {
		return false
	}
	if !now.Before(until) {
		delete(h.holdUntil, p)
		return false
	}
	return true
}

// holding reports whether any partition is held.
func (h *handover) holding() bool { return len(h.holdUntil) > 0 }

// release splits the buffers past their window into those due now and
// those of held partitions, which go back to the front of the queue (they
// are the oldest) to be taken once the hold ends.
func (h *handover) release(past, queue []*buffer, now time.Time) (due, rest []*buffer) {
	var kept []*buffer
	for _, b := range past {
		if h.held(b.part, now) {
			kept = append(kept, b)
			continue
		}
		due = append(due, b)
	}
	if len(kept) == 0 {
		return due, queue
	}
	return due, append(kept, queue...)
}

// acquired drops the cached states of partition p's shipments: another
// replica may have written them since they were cached here.
func (o *orderer) acquired(p int) {
	for _, gen := range []map[string]*shipmentState{o.states.cache.young, o.states.cache.old} {
		for k := range gen {
			if streams.PartitionOf(k, o.ho.partitions) == p {
				delete(gen, k)
			}
		}
	}
	o.epoch[p]++ // a flush in flight must not cache its states again
	o.m.acquired.Inc()
	o.log.Info().Int("partition", p).Dur("hold", o.ho.grace).Msg("partition acquired")
}
