package projector

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Sink stores batches of events: the live projection (*projection.Store)
// or one being rebuilt (*projection.Rebuild). Apply is idempotent and its
// outcome does not depend on how events are batched or ordered, which is
// what lets several batches be written at once and a failed batch be
// retried or split.
type Sink interface {
	Apply(ctx context.Context, events []tracking.Event, receivedAt time.Time) (projection.Result, error)
}

// rejected is a message that fails on its own: it cannot be decoded, or
// Postgres refuses its event in any batch (projection.Retryable is false).
type rejected struct {
	msg    jetstream.Msg
	reason error
}

// written is what became of a batch.
type written struct {
	result   projection.Result
	rejected []rejected
}

// batchWriter writes batches of SHIPMENTS messages to a Sink, one
// transaction per batch: the projector's live path and the replay share it.
type batchWriter struct {
	sink Sink
	// retryMin and retryMax bound the pause between attempts at a batch
	// while its failure may pass.
	retryMin, retryMax time.Duration
	// attemptTimeout bounds one attempt, so a connection that hangs (a
	// paused server, a dropped route) is given up and retried on another
	// rather than blocking the batch until TCP notices.
	attemptTimeout time.Duration
	// hold, if set, is called with the batch about every holdEvery while
	// it waits to be retried: the live consumer extends its ack deadline.
	hold      func(msgs []jetstream.Msg)
	holdEvery time.Duration
	// onRetry, if set, sees each failed attempt that will be retried;
	// onAnswered each attempt that Postgres answered (written, or refused
	// for its data).
	onRetry    func(err error, attempt int)
	onAnswered func()
}

// decoded is a batch of SHIPMENTS messages read into events.
type decoded struct {
	msgs     []jetstream.Msg
	events   []tracking.Event
	owners   []int // events[i] is the event of msgs[owners[i]]
	rejected []rejected
}

// decode reads a batch; messages that are not valid events are rejected.
func decode(msgs []jetstream.Msg) decoded {
	d := decoded{msgs: msgs, events: make([]tracking.Event, 0, len(msgs)), owners: make([]int, 0, len(msgs))}
	for i, m := range msgs {
		e, err := shipments.Decode(m.Headers(), m.Data())
		if err != nil {
			d.rejected = append(d.rejected, rejected{msg: m, reason: err})
			continue
		}
		d.events = append(d.events, e)
		d.owners = append(d.owners, i)
	}
	return d
}

// write decodes msgs and applies their events in one transaction (see
// writeDecoded).
func (w *batchWriter) write(ctx context.Context, msgs []jetstream.Msg) (written, error) {
	return w.writeDecoded(ctx, decode(msgs))
}

// writeDecoded applies a decoded batch in one transaction. A failure that
// may pass (Postgres unavailable, a deadlock, a timeout) is retried with
// backoff until the batch is written or ctx ends. A batch Postgres refuses
// for its data is split in halves until the events at fault are isolated,
// so the rest is written; those, and the messages that could not be
// decoded, are returned as rejected.
//
// The error is ctx's, when it ended before the batch was written; some of
// the batch may have been committed then (a retry is harmless).
func (w *batchWriter) writeDecoded(ctx context.Context, d decoded) (written, error) {
	out := written{rejected: d.rejected}
	err := w.isolate(ctx, d.msgs, d.events, d.owners, &out)
	return out, err
}

// isolate applies events, splitting them when Postgres refuses the batch
// for its data. One bad event costs about 2·log2(batch) extra transactions.
func (w *batchWriter) isolate(ctx context.Context, msgs []jetstream.Msg, events []tracking.Event, owners []int, out *written) error {
	if len(events) == 0 {
		return nil
	}
	res, err := w.apply(ctx, msgs, events)
	switch {
	case err == nil:
		out.result.Inserted += res.Inserted
		out.result.Duplicates += res.Duplicates
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case len(events) == 1:
		out.rejected = append(out.rejected, rejected{msg: msgs[owners[0]], reason: err})
		return nil
	}
	half := len(events) / 2
	if err := w.isolate(ctx, msgs, events[:half], owners[:half], out); err != nil {
		return err
	}
	return w.isolate(ctx, msgs, events[half:], owners[half:], out)
}

// apply writes events, retrying while the failure may pass. It returns nil,
// a permanent error, or an error once ctx has ended.
func (w *batchWriter) apply(ctx context.Context, msgs []jetstream.Msg, events []tracking.Event) (projection.Result, error) {
	delay := w.retryMin
	held := time.Now() // the ack deadline was last extended when the batch arrived, at best
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, w.attemptTimeout)
		res, err := w.sink.Apply(actx, events, time.Now())
		cancel()
		if err == nil || !projection.Retryable(err) {
			if w.onAnswered != nil {
				w.onAnswered()
			}
			return res, err
		}
		if ctx.Err() != nil {
			return res, err
		}
		if w.onRetry != nil {
			w.onRetry(err, attempt)
		}
		if err := w.pause(ctx, msgs, delay, &held); err != nil {
			return res, err
		}
		delay = min(2*delay, w.retryMax)
	}
}

// pause waits about d (jittered, so replicas that failed together do not
// retry together), holding the batch every holdEvery meanwhile; held is
// when it was last held.
func (w *batchWriter) pause(ctx context.Context, msgs []jetstream.Msg, d time.Duration, held *time.Time) error {
	d = d/2 + rand.N(d/2+1)
	deadline := time.Now().Add(d)
	for {
		if w.hold != nil && time.Since(*held) >= w.holdEvery {
			w.hold(msgs)
			*held = time.Now()
		}
		step := time.Until(deadline)
		if step <= 0 {
			return nil
		}
		if w.hold != nil {
			step = min(step, max(w.holdEvery-time.Since(*held), time.Millisecond))
		}
		t := time.NewTimer(step)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
