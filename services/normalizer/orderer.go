package normalizer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// orderer owns the reorder buffers of the partitions this process consumes.
// Every candidate of a shipment lands in the same partition, so its buffer
// sees all of them; the buffer is emitted ReorderWindow after its first
// event arrived, sorted by (occurred_at, status rank, id).
type orderer struct {
	cfg    Config
	js     jetstream.JetStream
	states *stateStore
	m      *metrics
	log    zerolog.Logger

	buffers  map[string]*buffer
	queue    []*buffer // by first arrival = by due time (one window for all)
	buffered int
	now      func() time.Time
	ho       *handover // partition ownership changes (ownership.go)
}

type buffer struct {
	key   string
	part  int // CANDIDATES partition
	first time.Time
	items []candidate
	ids   map[string]struct{}
}

type candidate struct {
	ev  tracking.Event
	msg jetstream.Msg
}

func newOrderer(cfg Config, js jetstream.JetStream, states *stateStore, m *metrics, partitions int, log zerolog.Logger) *orderer {
	return &orderer{cfg: cfg, js: js, states: states, m: m, log: log, buffers: map[string]*buffer{}, now: time.Now,
		ho: newHandover(cfg.HandoverGrace, partitions)}
}

// run orders candidates from in until ctx ends; then it flushes what it
// holds (emitting early rather than leaving events to wait out AckWait on
// another replica) and returns.
func (o *orderer) run(ctx context.Context, in <-chan jetstream.Msg) {
	tick := min(max(o.cfg.ReorderWindow/20, 5*time.Millisecond), 100*time.Millisecond)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		// Backpressure: with the buffers full, stop taking candidates;
		// the consumers then stop fetching.
		var input <-chan jetstream.Msg
		if o.buffered < o.cfg.MaxBuffered {
			input = in
		}
		select {
		case <-ctx.Done():
			o.flush(context.Background(), o.takeDue(time.Time{}, true))
			return
		case msg := <-input:
			o.add(msg)
		case <-ticker.C:
			if due := o.takeDue(o.now(), false); len(due) > 0 {
				o.flush(ctx, due)
			}
		}
	}
}

// add buffers one candidate message.
func (o *orderer) add(msg jetstream.Msg) {
	part := partitionOf(msg.Subject())
	if o.ho.arrived(part, msg.Headers().Get(pinHeader), o.now()) {
		o.acquired(part)
	}
	ev, err := shipments.Decode(msg.Headers(), msg.Data())
	if err != nil {
		o.deadLetter(msg, err)
		return
	}
	b := o.buffers[ev.ShipmentKey]
	if b == nil {
		b = &buffer{key: ev.ShipmentKey, part: part, first: o.now(), ids: map[string]struct{}{}}
		o.buffers[ev.ShipmentKey] = b
		o.queue = append(o.queue, b)
	}
	if _, dup := b.ids[ev.ID]; dup {
		o.m.duplicates.Inc()
		_ = msg.Ack()
		return
	}
	b.ids[ev.ID] = struct{}{}
	b.items = append(b.items, candidate{ev: ev, msg: msg})
	o.buffered++
	o.m.buffered.Set(float64(o.buffered))
}

// takeDue removes the buffers whose window has passed (all with force),
// except those of a partition held after a handover.
func (o *orderer) takeDue(now time.Time, force bool) []*buffer {
	n := 0
	for n < len(o.queue) && (force || !o.queue[n].first.Add(o.cfg.ReorderWindow).After(now)) {
		n++
	}
	due := o.queue[:n:n]
	o.queue = o.queue[n:]
	if !force && o.ho.holding() {
		due, o.queue = o.ho.release(due, o.queue, now)
	}
	for _, b := range due {
		delete(o.buffers, b.key)
		o.buffered -= len(b.items)
	}
	o.m.buffered.Set(float64(o.buffered))
	return due
}

// emission is one shipment's part of a flush.
type emission struct {
	b        *buffer
	state    *shipmentState
	futures  []jetstream.PubAckFuture
	emitted  int
	err      error
	stateFut jetstream.PubAckFuture
}

// flush emits the due buffers: for each shipment, drop what its state has
// already seen, sort the rest, flag what sorts before the watermark as late,
// and publish to SHIPMENTS; then store the new states; then ack the
// candidates. Publishes and state writes of all shipments pipeline.
func (o *orderer) flush(ctx context.Context, due []*buffer) {
	if len(due) == 0 {
		return
	}
	ems := make([]*emission, len(due))
	o.loadStates(ctx, due, ems)
	for _, em := range ems {
		if em.err != nil {
			continue
		}
		items := em.b.items
		sort.Slice(items, func(i, j int) bool { return tracking.Before(&items[i].ev, &items[j].ev) })
		for i := range items {
			c := &items[i]
			if em.state.has(c.ev.ID) {
				o.m.duplicates.Inc()
				continue
			}
			c.ev.Late = em.state.Watermark != nil && em.state.Watermark.after(&c.ev)
			msg, err := shipments.Message(c.ev.Subject(), &c.ev)
			if err != nil {
				em.err = err
				break
			}
			f, err := o.js.PublishMsgAsync(msg, jetstream.WithMsgID(c.ev.ID))
			if err != nil {
				em.err = err
				break
			}
			em.futures = append(em.futures, f)
			em.state.add(&c.ev)
			em.emitted++
			if c.ev.Late {
				o.m.late.Inc()
			}
			o.m.eventsOut.WithLabelValues(c.ev.Source).Inc()
		}
	}
	for _, em := range ems {
		if em.err == nil {
			em.err = waitAll(em.futures)
		}
		if em.err == nil && em.emitted > 0 {
			em.stateFut, em.err = o.states.writeAsync(em.b.key, em.state)
		}
	}
	for _, em := range ems {
		o.settle(ctx, em)
	}
}

// settle acks a shipment's candidates once its events and state are
// stored, or hands them back for redelivery.
func (o *orderer) settle(ctx context.Context, em *emission) {
	if em.err == nil && em.stateFut != nil {
		select {
		case ack := <-em.stateFut.Ok():
			o.states.written(em.state, ack.Sequence)
		case err := <-em.stateFut.Err():
			if isWrongSequence(err) {
				err = o.states.reconcile(ctx, em.b.key, em.state)
			}
			em.err = err
		}
	}
	if em.err != nil {
		// The events may be on SHIPMENTS already; their redelivery is
		// deduplicated there by message id. The cached state is dropped so
		// the retry starts from what is really stored.
		o.states.forget(em.b.key)
		o.log.Warn().Err(em.err).Str("shipment_key", em.b.key).Int("events", len(em.b.items)).Msg("flush failed: candidates will be redelivered")
		for _, c := range em.b.items {
			_ = c.msg.NakWithDelay(time.Second)
		}
		return
	}
	o.m.flushes.Observe(float64(em.emitted))
	for _, c := range em.b.items {
		_ = c.msg.Ack()
		o.log.Debug().Str("event_id", c.ev.ID).Str("shipment_key", c.ev.ShipmentKey).Str("status", string(c.ev.Status)).Bool("late", c.ev.Late).Msg("event emitted")
	}
}

// loadStates fetches the states of the due shipments, the cache misses
// concurrently (a KV read is a round trip). Only this goroutine touches
// the cache: loaders fill their own emission, the cache is filled after.
func (o *orderer) loadStates(ctx context.Context, due []*buffer, ems []*emission) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	var missed []*emission
	for i, b := range due {
		ems[i] = &emission{b: b}
		if st, ok := o.states.cache.get(b.key); ok {
			ems[i].state = st
			continue
		}
		missed = append(missed, ems[i])
		wg.Add(1)
		sem <- struct{}{}
		go func(em *emission) {
			defer wg.Done()
			defer func() { <-sem }()
			em.state, em.err = o.states.load(ctx, em.b.key)
		}(ems[i])
	}
	wg.Wait()
	for _, em := range missed {
		if em.err == nil {
			o.states.cache.put(em.b.key, em.state)
		}
	}
}

func waitAll(futures []jetstream.PubAckFuture) error {
	var errs []error
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deadLetter moves an undecodable candidate to DEADLETTER (it cannot be
// ordered) and terminates it once stored.
func (o *orderer) deadLetter(msg jetstream.Msg, cause error) {
	orig := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	dl := deadletter.New("normalizer", "candidates", cause.Error(), orig)
	if _, err := o.js.PublishMsg(context.Background(), dl, jetstream.WithMsgID(dl.Header.Get(nats.MsgIdHdr))); err != nil {
		o.log.Warn().Err(err).Msg("dead letter not stored: candidate will be redelivered")
		_ = msg.NakWithDelay(time.Second)
		return
	}
	o.m.deadLetters.WithLabelValues("candidates").Inc()
	o.log.Error().Str("subject", msg.Subject()).Err(cause).Msg("undecodable candidate dead-lettered")
	_ = msg.TermWithReason(fmt.Sprintf("undecodable: %v", cause))
}
