package projector

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/deadletter"
)

// Stage is the projector's name on DEADLETTER: deadletter.projector.<carrier>.
const Stage = "projector"

// consumer feeds the live projection from the durable consumer: it
// collects batches (BatchSize events, or what BatchWait brought), has
// Writers of them written at once, and settles each message after its
// batch: ack once committed; a message that fails on its own is retried
// with a delay up to MaxDeliver deliveries, then dead-lettered.
type consumer struct {
	cfg Config
	js  jetstream.JetStream
	w   *batchWriter
	m   *metrics
	log zerolog.Logger
}

// run consumes until ctx ends, then drains: no more messages are fetched,
// those already fetched are written and acked. Writes get most of the
// shutdown timeout to finish; a batch still unwritten then (Postgres
// down) is handed back with a nak, for another replica or the next start.
func (c *consumer) run(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(2 * c.cfg.BatchSize))
	if err != nil {
		return err
	}
	stopFetching := context.AfterFunc(ctx, it.Drain)
	defer stopFetching()

	wctx, cancelWrites := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWrites()
	stopWrites := context.AfterFunc(ctx, func() { time.AfterFunc(c.cfg.ShutdownTimeout*3/4, cancelWrites) })
	defer stopWrites()

	batches := make(chan []jetstream.Msg)
	var wg sync.WaitGroup
	for range c.cfg.Writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				c.writeAndSettle(wctx, b)
			}
		}()
	}
	watching, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	go c.watch(watching, cons, it)
	c.collect(it, batches)
	close(batches)
	wg.Wait()
	if ctx.Err() == nil {
		// The consumer was deleted: exit, so the restart recreates it,
		// rather than idle as if all were well.
		return errors.New("projector: the shipments consumer was deleted")
	}
	return nil
}

// consumerCheckEvery is how often the consumer's existence is checked:
// the pull iterator notices a deletion only when a pull is waiting at that
// moment, and otherwise keeps pulling from nothing.
const consumerCheckEvery = 5 * time.Second

// watch stops the iterator once the consumer no longer exists.
func (c *consumer) watch(ctx context.Context, cons jetstream.Consumer, it jetstream.MessagesContext) {
	t := time.NewTicker(consumerCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := cons.Info(ctx); errors.Is(err, jetstream.ErrConsumerNotFound) {
			c.log.Error().Str("consumer", ConsumerName).Msg("shipments consumer deleted: stopping")
			it.Stop()
			return
		}
	}
}

// collect reads the iterator into batches until it is closed: a batch is
// sent when it holds BatchSize messages or its first message has waited
// BatchWait, so at low load an event waits at most BatchWait for company.
func (c *consumer) collect(it jetstream.MessagesContext, out chan<- []jetstream.Msg) {
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return
			}
			c.log.Warn().Err(err).Msg("shipments consumer")
			continue
		}
		batch := make([]jetstream.Msg, 1, c.cfg.BatchSize)
		batch[0] = msg
		deadline := time.Now().Add(c.cfg.BatchWait)
		closed := false
		for len(batch) < c.cfg.BatchSize {
			wait := time.Until(deadline)
			if wait <= 0 {
				break
			}
			msg, err := it.Next(jetstream.NextMaxWait(wait))
			if err != nil {
				closed = errors.Is(err, jetstream.ErrMsgIteratorClosed)
				if !closed && !errors.Is(err, nats.ErrTimeout) {
					c.log.Warn().Err(err).Msg("shipments consumer")
				}
				break
			}
			batch = append(batch, msg)
		}
		out <- batch
		if closed {
			return
		}
	}
}

// writeAndSettle writes a batch and settles its messages.
func (c *consumer) writeAndSettle(ctx context.Context, batch []jetstream.Msg) {
	start := time.Now()
	out, err := c.w.write(ctx, batch)
	if err != nil {
		// Shut down before the batch was written: hand it back at once
		// rather than after AckWait.
		for _, m := range batch {
			_ = m.Nak()
		}
		c.log.Warn().Err(err).Int("events", len(batch)).Msg("batch not written before shutdown: handed back")
		return
	}
	committed := time.Now()
	c.m.writeTime.Observe(committed.Sub(start).Seconds())
	c.m.batchEvents.Observe(float64(len(batch) - len(out.rejected)))
	c.m.events.WithLabelValues("inserted").Add(float64(out.result.Inserted))
	c.m.events.WithLabelValues("duplicate").Add(float64(out.result.Duplicates))

	var bad map[jetstream.Msg]bool
	if len(out.rejected) > 0 {
		bad = make(map[jetstream.Msg]bool, len(out.rejected))
		for _, r := range out.rejected {
			bad[r.msg] = true
		}
	}
	for _, m := range batch {
		if bad[m] {
			continue
		}
		if meta, err := m.Metadata(); err == nil {
			c.m.latency.Observe(committed.Sub(meta.Timestamp).Seconds())
		}
		// A lost ack means a redelivery, which Apply absorbs.
		_ = m.Ack()
	}
	for _, r := range out.rejected {
		c.reject(ctx, r)
	}
}

// reject settles a message that failed on its own: a delayed redelivery
// until its MaxDeliver-th delivery (the data might have hit a transient
// bug), then a dead letter on deadletter.projector.<carrier> and a term, so
// it stops coming back and the stream behind it keeps flowing.
func (c *consumer) reject(ctx context.Context, r rejected) {
	c.m.rejected.Inc()
	attempt := 1
	var seq uint64
	if meta, err := r.msg.Metadata(); err == nil {
		attempt, seq = int(meta.NumDelivered), meta.Sequence.Stream
	}
	h := r.msg.Headers()
	log := c.log.With().Str("subject", r.msg.Subject()).Uint64("seq", seq).
		Str("event_id", h.Get("ce-id")).Str("shipment_key", h.Get("ce-subject")).
		Int("attempt", attempt).Str("reason", truncate(r.reason.Error(), 300)).Logger()
	if attempt < c.cfg.MaxDeliver {
		log.Warn().Msg("event rejected by the projection: will be retried")
		_ = r.msg.NakWithDelay(min(time.Second<<(attempt-1), c.cfg.RetryMax))
		return
	}
	carrier := carrierOf(r.msg.Subject())
	dl := deadletter.New(Stage, carrier, r.reason.Error(), &nats.Msg{Subject: r.msg.Subject(), Header: h, Data: r.msg.Data()})
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := c.js.PublishMsg(pctx, dl, jetstream.WithMsgID(dl.Header.Get(nats.MsgIdHdr))); err != nil {
		log.Error().Err(err).Msg("dead letter not stored: event will be retried")
		_ = r.msg.NakWithDelay(c.cfg.RetryMax)
		return
	}
	_ = r.msg.TermWithReason(truncate(r.reason.Error(), 200))
	c.m.deadLetters.WithLabelValues(carrier).Inc()
	c.m.events.WithLabelValues("deadlettered").Inc()
	log.Error().Str("dead_letter", dl.Subject).Msg("event dead-lettered")
}

// carrierOf reads the carrier token of shipments.<carrier>.<tracking>.<status>.
func carrierOf(subject string) string {
	parts := strings.SplitN(subject, ".", 3)
	if len(parts) < 3 || parts[1] == "" {
		return "unknown"
	}
	return parts[1]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
