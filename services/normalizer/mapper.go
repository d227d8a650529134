package normalizer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/fifoset"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// mapper consumes RAW, maps each message with its provider and publishes
// the candidate events to their shipment's CANDIDATES partition. A raw
// message is acked only after all its candidates are stored; one that
// cannot be mapped is acked only after its dead letter is.
//
// Raw messages are taken in groups: what the consumer has at hand, up to
// groupMax, and the group's candidates are stored together as atomic
// batches (pkg/streams/batch.go), one fsync for the group instead of one per
// candidate. Candidates carry no message id: a candidate stored twice (a
// provider's retry, a redelivered raw message) is dropped by ordering,
// which remembers the ids it emitted, and an id in a batch that the stream
// had already seen would refuse the whole batch.
//
// Providers send a shipment's whole history with every webhook (Carriyo,
// Wineshipping) and the USPS poller re-reads it on every poll, so most
// candidates of a raw message repeat events stored before. A candidate
// whose event id this mapper has already stored on CANDIDATES is not
// stored again: ordering would drop it as a duplicate anyway, and the
// copy on CANDIDATES is consumed (or redelivered) until it is emitted.
// Only stored ids count, so a failed store loses nothing: its raw message
// is redelivered and mapped again.
type mapper struct {
	js         jetstream.JetStream
	candidates *streams.Publisher // CANDIDATES
	stored     *storedIDs         // candidates this mapper stored lately
	partitions int
	m          *metrics
	log        zerolog.Logger
}

const (
	// groupMax bounds the raw messages mapped into one group.
	groupMax = 256
	// groupWait is how long a group waits for one more raw message that
	// is not at hand yet: short, it only gathers what is in flight.
	groupWait = time.Millisecond
)

// group is raw messages being stored: their candidates, and their dead
// letters' futures.
type group struct {
	raws   []rawOutcome
	msgs   []*nats.Msg // candidates of every raw message, in order
	ids    []string    // ids[i] is msgs[i]'s event id
	mapped time.Time   // when its first raw message was mapped
}

// rawOutcome is one raw message of a group and what became of it.
type rawOutcome struct {
	msg      jetstream.Msg
	from, to int                    // its candidates: group.msgs[from:to]
	dead     string                 // non-empty: dead-lettered for this reason, Term once stored
	deadFut  jetstream.PubAckFuture // the dead letter's publish
	failed   error                  // could not even be published: redeliver
	mapped   time.Time              // when its group's mapping began
}

// merge appends o's raw messages and candidates to g.
func (g *group) merge(o *group) {
	off := len(g.msgs)
	for _, r := range o.raws {
		r.from, r.to = r.from+off, r.to+off
		g.raws = append(g.raws, r)
	}
	g.msgs = append(g.msgs, o.msgs...)
	g.ids = append(g.ids, o.ids...)
}

// run maps until ctx ends, then stops fetching and finishes what is in
// flight. A second goroutine stores each group and settles its raw
// messages, so mapping the next group overlaps storing the last.
func (mp *mapper) run(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("normalizer: raw consumer: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	pending := make(chan *group, 16)
	done := make(chan struct{})
	go func() { defer close(done); mp.store(pending) }()
	defer func() { close(pending); <-done }()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			mp.log.Warn().Err(err).Msg("raw consumer")
			continue
		}
		g := &group{mapped: time.Now()}
		mp.handle(g, msg)
		for len(g.raws) < groupMax {
			next, err := it.Next(jetstream.NextMaxWait(groupWait))
			if err != nil {
				break // nothing at hand (or closing: the next Next says so)
			}
			mp.handle(g, next)
		}
		pending <- g
	}
}

// store stores each group's candidates and settles its raw messages: ack
// once stored, nak for redelivery when a publish failed (nothing is lost:
// a retry's duplicates are dropped by ordering), Term once a dead letter
// is stored.
func (mp *mapper) store(pending <-chan *group) {
	for g := range pending {
		// Group commit: the groups mapped while the last one was being
		// stored go out together, so the busier the stream, the larger
		// (and cheaper per candidate) the batches, with no wait added.
		for more := true; more && len(g.raws) < 4*groupMax; {
			select {
			case next, ok := <-pending:
				if !ok {
					more = false
					break
				}
				g.merge(next)
			default:
				more = false
			}
		}
		stored := mp.candidates.PublishAll(context.Background(), g.msgs)
		now := time.Now()
		mp.stored.add(g.ids, stored)
		for _, r := range g.raws {
			mp.m.candidateStore.Observe(now.Sub(r.mapped).Seconds())
			failed := r.failed
			for _, s := range stored[r.from:r.to] {
				if s.Err != nil {
					failed = s.Err
				}
			}
			if r.deadFut != nil {
				select {
				case <-r.deadFut.Ok():
				case failed = <-r.deadFut.Err():
				}
			}
			switch {
			case failed != nil:
				mp.log.Warn().Err(failed).Str("subject", r.msg.Subject()).Msg("publish failed: raw message will be redelivered")
				_ = r.msg.NakWithDelay(time.Second)
			case r.dead != "":
				_ = r.msg.TermWithReason(r.dead)
			default:
				_ = r.msg.Ack()
			}
		}
	}
}

// handle maps one raw message into g.
func (mp *mapper) handle(g *group, msg jetstream.Msg) {
	source := strings.TrimPrefix(msg.Subject(), "raw.")
	observeSince(mp.m.rawWait, msg, time.Now())
	r := rawOutcome{msg: msg, from: len(g.msgs), to: len(g.msgs), mapped: g.mapped}
	defer func() { g.raws = append(g.raws, r) }()
	events, err := mp.mapRaw(source, msg)
	switch {
	case errors.Is(err, providers.ErrNotShipment):
		mp.m.raw.WithLabelValues(source, "not_shipment").Inc()
		mp.log.Debug().Str("source", source).Str("raw_event_id", msg.Headers().Get("ce-id")).Msg("not a shipment event")
		return
	case err != nil:
		r.dead, r.deadFut, r.failed = mp.deadLetter(source, msg, err)
		return
	}
	known := mp.stored.has(events)
	for i := range events {
		e := &events[i]
		if known[i] {
			mp.m.candidatesKnown.Inc()
			continue
		}
		out, err := shipments.Message(streams.CandidateSubject(streams.PartitionOf(e.ShipmentKey, mp.partitions), e.Carrier, e.TrackingNumber), e)
		if err != nil {
			g.msgs, g.ids = g.msgs[:r.from], g.ids[:r.from]
			r.to, r.failed = r.from, fmt.Errorf("candidate %s of %s: %w", e.ID, e.ShipmentKey, err)
			return
		}
		// No message id on a candidate (see mapper): one the stream has
		// already seen would refuse the whole batch.
		out.Header.Del(nats.MsgIdHdr)
		g.msgs, g.ids = append(g.msgs, out), append(g.ids, e.ID)
	}
	r.to = len(g.msgs)
	mp.m.raw.WithLabelValues(source, "mapped").Inc()
	mp.m.eventsIn.WithLabelValues(source).Add(float64(len(events)))
}

// mapRaw maps a raw message and counts the carrier statuses no mapping
// knows (kept as unknown).
func (mp *mapper) mapRaw(source string, msg jetstream.Msg) ([]tracking.Event, error) {
	events, err := MapRaw(source, msg.Headers(), msg.Data())
	if err != nil {
		return nil, err
	}
	for i := range events {
		if e := &events[i]; e.Status == tracking.Unknown {
			mp.m.unknown.WithLabelValues(source).Inc()
			mp.log.Info().Str("source", source).Str("event_id", e.ID).Str("shipment_key", e.ShipmentKey).
				Str("carrier_status", e.CarrierStatus).Msg("carrier status not mapped: kept as unknown")
		}
	}
	return events, nil
}

// MapRaw is the pure mapping step: it decodes a RAW message of source (a
// CloudEvent in binary mode, h and data as stored) and maps it with the
// source's provider to validated, normalized candidate events. The mapper
// and `waybill replay normalize` both use it, so a replay maps exactly as the
// live path does. Errors: providers.ErrNotShipment (nothing to map), an
// error wrapping providers.ErrUnmappable or cloudevent.ErrNotCloudEvent, or
// one naming a source without a provider: all permanent.
func MapRaw(source string, h nats.Header, data []byte) ([]tracking.Event, error) {
	ce, err := cloudevent.FromMsg(h, data)
	if err != nil {
		return nil, err
	}
	p, ok := providers.Lookup(source)
	if !ok {
		return nil, fmt.Errorf("no provider for source %q", source)
	}
	raw := providers.Raw{
		Source: source, ID: ce.ID(), Type: ce.Type(), Subject: ce.Subject(), Time: ce.Time(),
		Extensions: map[string]string{}, Data: data,
	}
	for k, v := range ce.Extensions() {
		raw.Extensions[k] = fmt.Sprint(v)
	}
	events, err := p.Map(raw)
	if err != nil {
		return nil, err
	}
	for i := range events {
		e := &events[i]
		e.Source, e.RawEventID = source, ce.ID()
		e.Normalize()
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("%w: event %d: %v", providers.ErrUnmappable, i, err)
		}
	}
	return events, nil
}

// deadLetter starts storing the raw message on
// deadletter.normalizer.<source> with the reason and its original headers;
// the raw message is terminated once the dead letter is stored.
func (mp *mapper) deadLetter(source string, msg jetstream.Msg, cause error) (reason string, f jetstream.PubAckFuture, failed error) {
	orig := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	dl := deadletter.New("normalizer", source, cause.Error(), orig)
	f, err := mp.js.PublishMsgAsync(dl, jetstream.WithMsgID(dl.Header.Get(nats.MsgIdHdr)))
	if err != nil {
		return "", nil, fmt.Errorf("dead letter: %w", err)
	}
	mp.m.raw.WithLabelValues(source, "deadlettered").Inc()
	mp.m.deadLetters.WithLabelValues(source).Inc()
	mp.log.Warn().Str("source", source).Str("raw_event_id", msg.Headers().Get("ce-id")).Str("reason", truncate(cause.Error(), 200)).Msg("raw message dead-lettered")
	return truncate(cause.Error(), 200), f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// storedCapacity is how many candidate ids a mapper remembers as stored:
// the oldest are forgotten first, so at 100k new events a day it covers
// about 2.5 days of a history's repeats, in ~16 MB.
const storedCapacity = 1 << 18

// storedIDs is the event ids of candidates stored on CANDIDATES lately,
// kept as 128-bit hashes (a collision, which would drop an event, is
// ~2^-90 likely at this size). The mapping and storing goroutines share it.
type storedIDs struct {
	mu  sync.Mutex
	ids *fifoset.Set[[2]uint64]
}

func newStoredIDs(n int) *storedIDs { return &storedIDs{ids: fifoset.New[[2]uint64](n)} }

func idKey(id string) [2]uint64 {
	h := fnv.New128a()
	h.Write([]byte(id))
	var sum [16]byte
	h.Sum(sum[:0])
	return [2]uint64{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:])}
}

// has reports, for each event, whether its id is known as stored.
func (s *storedIDs) has(events []tracking.Event) []bool {
	known := make([]bool, len(events))
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range events {
		known[i] = s.ids.Has(idKey(events[i].ID))
	}
	return known
}

// add records the ids whose candidates were stored.
func (s *storedIDs) add(ids []string, stored []streams.Stored) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, id := range ids {
		if stored[i].Err == nil {
			s.ids.Add(idKey(id))
		}
	}
}
