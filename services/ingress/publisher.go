package ingress

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher stores messages on JetStream and waits for the ack.
//
// Requests hand their message to one publishing goroutine, which issues
// asynchronous publishes in bursts: everything queued is written to the
// connection's buffer before the NATS flusher runs, so one write syscall
// carries many webhooks instead of one each (with 64 concurrent handlers
// publishing themselves, the flusher wakes per message and they contend for
// the connection lock). Each request then waits on its own ack future, so
// concurrent webhooks pipeline over one connection. jetstream's own async
// publish is kept (not a hand-made one) for its retry on "no responders"
// during a stream leader change.
type publisher struct {
	js      jetstream.JetStream
	timeout time.Duration
	queue   chan *pubReq
	pool    sync.Pool
}

type pubReq struct {
	msg     *nats.Msg
	id      string
	started chan struct{} // fut/err are set
	fut     jetstream.PubAckFuture
	err     error
}

// burst bounds how many publishes go out before the flusher gets a turn.
const burst = 256

// newPublisher wraps nc in a JetStream context whose async publishes time
// out after timeout, so a future whose ack never comes (server gone)
// releases its pending slot instead of holding it forever.
func newPublisher(nc *nats.Conn, timeout time.Duration) (*publisher, error) {
	js, err := jetstream.New(nc,
		jetstream.WithPublishAsyncTimeout(timeout),
		jetstream.WithPublishAsyncMaxPending(8192),
	)
	if err != nil {
		return nil, fmt.Errorf("ingress: jetstream: %w", err)
	}
	p := &publisher{js: js, timeout: timeout, queue: make(chan *pubReq, 4096)}
	p.pool.New = func() any { return &pubReq{started: make(chan struct{}, 1)} }
	go p.loop()
	return p, nil
}

func (p *publisher) loop() {
	for r := range p.queue {
		p.start(r)
		for n := 1; n < burst; n++ {
			select {
			case r = <-p.queue:
				p.start(r)
				continue
			default:
			}
			break
		}
	}
}

func (p *publisher) start(r *pubReq) {
	// Stall (up to the timeout) when too many publishes are pending rather
	// than fail: a burst is absorbed, a dead server answers 503.
	r.fut, r.err = p.js.PublishMsgAsync(r.msg, jetstream.WithMsgID(r.id), jetstream.WithStallWait(p.timeout))
	r.started <- struct{}{}
}

// close stops the publishing goroutine once every request has been handed over.
func (p *publisher) close() { close(p.queue) }

// publish stores msg with msgID as its Nats-Msg-Id and returns whether
// JetStream took it for a duplicate of a message already stored.
func (p *publisher) publish(ctx context.Context, msg *nats.Msg, msgID string) (duplicate bool, err error) {
	r := p.pool.Get().(*pubReq)
	r.msg, r.id = msg, msgID
	p.queue <- r
	<-r.started
	fut, err := r.fut, r.err
	r.msg, r.fut, r.err = nil, nil, nil
	p.pool.Put(r)
	if err != nil {
		return false, err
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case ack := <-fut.Ok():
		return ack.Duplicate, nil
	case err := <-fut.Err():
		return false, err
	case <-timer.C:
		return false, fmt.Errorf("%w: no ack within %v", errUndecided, p.timeout)
	case <-ctx.Done():
		return false, fmt.Errorf("%w: %v", errUndecided, ctx.Err())
	}
}

// errUndecided: the publish may still complete (JetStream may even resend
// it), so its message must not be reused.
var errUndecided = errors.New("publish undecided")
