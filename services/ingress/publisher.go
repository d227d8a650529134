package ingress

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/waybill-dev/waybill/pkg/fifoset"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// publisher stores messages on JetStream and waits for the ack.
//
// Requests hand their message to one publishing goroutine, which issues
// asynchronous publishes in bursts: everything queued is written to the
// connection's buffer before the NATS flusher runs, so one write syscall
// carries many webhooks instead of one each (with 64 concurrent handlers
// publishing themselves, the flusher wakes per message and they contend for
// the connection lock). Each request then waits for its own outcome, so
// concurrent webhooks pipeline over one connection. jetstream's own async
// publish is kept (not a hand-made one) for its retry on "no responders"
// during a stream leader change, but its outcomes arrive through the
// JetStream context's ack and error handlers, which hand each one straight
// to the waiting request: one wake-up per webhook, where waiting for the
// publishing goroutine to return the future and then on the future's
// channels took two (and two channels per publish).
//
// Under load, webhooks for RAW go out as atomic batches instead (group
// commit): with sync_interval: always the stream fsyncs each message
// published one by one, serially, and that fsync was the ingress's limit;
// a batch is stored with one. A burst of at least streams.MinBatch RAW
// messages is committed as one batch (on its own goroutine, at most
// maxCommits at once), and every request in it is answered by the batch's
// outcome. A batch is refused whole when one of its message ids is already
// stored, so a webhook whose id this ingress has published recently (a
// provider's retry) goes one by one, where the stream answers it as a
// duplicate; a batch refused anyway (a retry first seen by another
// replica, or one older than the recent set) or failed for any other
// reason is published again one by one, which the message ids make safe.
// Below MinBatch (light load) nothing waits to fill a batch.
type publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
	stall   []jetstream.PublishOpt
	queue   chan *pubReq
	pool    sync.Pool

	raw      *streams.Publisher   // batches; nil: RAW is published one by one
	recent   *fifoset.Set[string] // ids published lately: only the publishing goroutine
	commits  atomic.Int32         // batches being committed
	batched  prometheus.Counter   // webhooks stored in batches
	fallback prometheus.Counter   // webhooks of refused batches, published again one by one

	mu      sync.Mutex
	waiting map[*nats.Msg]*pubReq // published, outcome not yet handed over
}

type pubReq struct {
	msg  *nats.Msg
	id   string
	done chan pubOutcome // buffered: whoever takes the request out of waiting sends once
}

type pubOutcome struct {
	duplicate bool
	err       error
}

// burst bounds how many publishes go out before the flusher gets a turn,
// and so the size of a batch (with the RAW publisher's MaxBatch).
const burst = 256

// maxCommits bounds the batches being committed at once: the stream stores
// them one after the other anyway, and the requests of a burst that finds
// no free slot go one by one rather than wait.
const maxCommits = 4

// recentCapacity is how many message ids the ingress remembers as
// published, to keep providers' retries out of batches: ~20 s of webhooks
// at the ingress's saturation rate on a 2-core machine, a few MB.
const recentCapacity = 1 << 16

// newPublisher wraps nc in a JetStream context whose async publishes time
// out after timeout, so a future whose ack never comes (server gone)
// releases its pending slot instead of holding it forever.
func newPublisher(nc *nats.Conn, timeout time.Duration, m *metrics) (*publisher, error) {
	p := &publisher{timeout: timeout, queue: make(chan *pubReq, 4096), waiting: map[*nats.Msg]*pubReq{},
		recent: fifoset.New[string](recentCapacity), batched: m.batched, fallback: m.batchFallback,
		// Stall (up to the timeout) when too many publishes are pending
		// rather than fail: a burst is absorbed, a dead server answers 503.
		stall: []jetstream.PublishOpt{jetstream.WithStallWait(timeout)}}
	p.pool.New = func() any { return &pubReq{done: make(chan pubOutcome, 1)} }
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(timeout),
		jetstream.WithPublishAsyncMaxPending(8192),
		jetstream.WithPublishAsyncAckHandler(func(_ jetstream.JetStream, m *nats.Msg, ack *jetstream.PubAck) {
			p.resolve(m, pubOutcome{duplicate: ack.Duplicate})
		}),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) {
			if errors.Is(err, jetstream.ErrAsyncPublishTimeout) {
				// A resend on "no responders" may be under way: the
				// message may still be read.
				err = fmt.Errorf("%w: %v", errUndecided, err)
			}
			p.resolve(m, pubOutcome{err: err})
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("ingress: jetstream: %w", err)
	}
	p.js = js
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if p.raw, err = streams.NewPublisher(ctx, js, streams.Raw); err != nil {
		return nil, fmt.Errorf("ingress: %w", err)
	}
	return p, nil
}

// resolve hands a publish's outcome to the request waiting for it, if it
// still is (not given up at its deadline). It runs on jetstream's
// ack-processing goroutine (or its timers) and must not block.
func (p *publisher) resolve(m *nats.Msg, o pubOutcome) {
	p.mu.Lock()
	r := p.waiting[m]
	delete(p.waiting, m)
	p.mu.Unlock()
	if r != nil {
		r.done <- o
	}
}

func (p *publisher) loop() {
	var batch []*pubReq
	for r := range p.queue {
		// Before publishing, let the goroutines that are runnable now (under
		// load: handlers about to hand over their own webhook) run first, so
		// that the burst below, and the NATS flush after it, carries them
		// too. Idle, this returns at once; busy, it costs one trip through
		// the run queue. Measured under load: NATS writes fell from ~0.8 to
		// ~0.2 per webhook, the ingress's read+write system calls from 4.0
		// to 3.5 (and the NATS server reads fewer, larger batches).
		runtime.Gosched()
		batch = p.take(r, batch[:0])
		for n, most := 1, min(burst, p.raw.MaxBatch()); n < most; n++ {
			select {
			case r = <-p.queue:
				batch = p.take(r, batch)
				continue
			default:
			}
			break
		}
		if len(batch) >= streams.MinBatch && p.raw.Atomic() {
			if p.commits.Add(1) <= maxCommits {
				go p.commit(slices.Clone(batch))
				continue
			}
			p.commits.Add(-1)
		}
		for _, r := range batch {
			p.start(r)
		}
	}
}

// take publishes r now, or adds it to batch when it may go in one: a RAW
// message whose id was not published lately.
func (p *publisher) take(r *pubReq, batch []*pubReq) []*pubReq {
	if !strings.HasPrefix(r.msg.Subject, streams.RawSubjectPrefix) || p.recent.Has(r.id) {
		p.start(r)
		return batch
	}
	p.recent.Add(r.id)
	return append(batch, r)
}

// commit stores rs as one atomic batch and answers each request with its
// outcome; a batch that fails is published again one by one.
func (p *publisher) commit(rs []*pubReq) {
	defer p.commits.Add(-1)
	msgs := make([]*nats.Msg, len(rs))
	for i, r := range rs {
		msgs[i] = r.msg
		r.msg.Header.Set(nats.MsgIdHdr, r.id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	_, err := p.raw.Batch(ctx, msgs)
	cancel()
	if err != nil {
		p.fallback.Add(float64(len(rs)))
		for _, r := range rs {
			p.start(r)
		}
		return
	}
	p.batched.Add(float64(len(rs)))
	for _, r := range rs {
		p.resolve(r.msg, pubOutcome{})
	}
}

func (p *publisher) start(r *pubReq) {
	msg, opts := r.msg, p.stall // r may be reused as soon as its outcome is in
	if msg.Header.Get(nats.MsgIdHdr) != r.id {
		opts = []jetstream.PublishOpt{jetstream.WithMsgID(r.id), jetstream.WithStallWait(p.timeout)}
	}
	if _, err := p.js.PublishMsgAsync(msg, opts...); err != nil {
		p.resolve(msg, pubOutcome{err: err}) // never published: no handler will be called
	}
}

// run starts the publishing goroutine.
func (p *publisher) run() { go p.loop() }

// close stops the publishing goroutine once every request has been handed over.
func (p *publisher) close() { close(p.queue) }

// publish stores msg with msgID as its Nats-Msg-Id and returns whether
// JetStream took it for a duplicate of a message already stored.
//
// A publish cut short by a reconnect (nats.ErrDisconnected: a node of the
// cluster went away and the client moved to another) or one refused while
// an earlier attempt with the same id is still being proposed (during a
// leader change) is retried with the same msg id until the timeout: the
// stream's deduplication makes the retry safe, and its PubAck (Duplicate
// when the first attempt was stored after all) is what lets the webhook be
// answered 200. Anything else, or the timeout, is answered 503.
func (p *publisher) publish(ctx context.Context, msg *nats.Msg, msgID string) (duplicate bool, err error) {
	deadline := time.Now().Add(p.timeout)
	for attempt := 0; ; attempt++ {
		duplicate, err = p.publishOnce(ctx, msg, msgID, deadline)
		if err == nil || !retryable(err) {
			return duplicate, err
		}
		wait := min(time.Duration(attempt+1)*50*time.Millisecond, 250*time.Millisecond)
		if time.Until(deadline) < wait {
			return false, fmt.Errorf("%w: %v", errUndecided, err)
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false, fmt.Errorf("%w: %v", errUndecided, ctx.Err())
		}
	}
}

// retryable: the publish did not reach a decision for a reason that passes
// within a leader election or a reconnect.
func retryable(err error) bool {
	if errors.Is(err, nats.ErrDisconnected) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jsErrCodeMsgIDInProcess
}

// jsErrCodeMsgIDInProcess is nats-server's "duplicate message id is in
// process" (10158): the same id's earlier publish is still being proposed.
const jsErrCodeMsgIDInProcess jetstream.ErrorCode = 10158

func (p *publisher) publishOnce(ctx context.Context, msg *nats.Msg, msgID string, deadline time.Time) (duplicate bool, err error) {
	r := p.pool.Get().(*pubReq)
	r.msg, r.id = msg, msgID
	p.mu.Lock()
	p.waiting[msg] = r
	p.mu.Unlock()
	p.queue <- r
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case o := <-r.done:
		p.release(r)
		return o.duplicate, o.err
	case <-timer.C:
		err = fmt.Errorf("%w: no ack within %v", errUndecided, p.timeout)
	case <-ctx.Done():
		err = fmt.Errorf("%w: %v", errUndecided, ctx.Err())
	}
	p.mu.Lock()
	_, abandoned := p.waiting[msg]
	delete(p.waiting, msg)
	p.mu.Unlock()
	if abandoned {
		// Its outcome, if any, will find no one. r may still be queued
		// for the publishing goroutine: left to the GC, not reused.
		return false, err
	}
	o := <-r.done // resolve took it out first: its outcome is on the way
	p.release(r)
	return o.duplicate, o.err
}

func (p *publisher) release(r *pubReq) {
	r.msg = nil
	p.pool.Put(r)
}

// errUndecided: the publish may still complete (JetStream may even resend
// it), so its message must not be reused.
var errUndecided = errors.New("publish undecided")
