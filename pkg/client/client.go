// Package client is how another service consumes waybill's normalized
// shipment events: pick the events by status, carrier or tracking number,
// name a durable subscription so a restart resumes where it stopped,
// optionally backfill from a start time, and handle typed events in a
// callback. A nil error acks the event; an error redelivers it with
// backoff; an event that keeps failing is given up after MaxDeliver
// attempts (logged through OnError) instead of blocking the ones after it.
//
//	sub, err := client.Subscribe(ctx, js, client.Filter{Status: tracking.FailedAttempt},
//		"support-alerts", func(ctx context.Context, e tracking.Event) error {
//			return tickets.Open(ctx, e.ShipmentKey, e.Message)
//		})
package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Handler handles one event. It is called from one goroutine at a time.
// Returning nil acks the event; an error schedules a redelivery.
type Handler func(ctx context.Context, e tracking.Event) error

// Filter selects events by subject: shipments.<carrier>.<tracking>.<status>.
// Empty fields match everything.
type Filter struct {
	Carrier        string
	TrackingNumber string
	Status         tracking.Status
}

// Subject is the SHIPMENTS subject filter of f.
func (f Filter) Subject() string {
	tok := func(s string) string {
		if s == "" {
			return "*"
		}
		return tracking.SubjectToken(s)
	}
	tn := ""
	if f.TrackingNumber != "" {
		tn = tracking.NormalizeTrackingNumber(f.TrackingNumber)
	}
	carrier := ""
	if f.Carrier != "" {
		carrier = tracking.NormalizeCarrier(f.Carrier)
	}
	return "shipments." + tok(carrier) + "." + tok(tn) + "." + tok(string(f.Status))
}

// Option configures a subscription.
type Option func(*options)

type options struct {
	since      time.Time
	maxDeliver int
	backoff    []time.Duration
	ackWait    time.Duration
	onError    func(e tracking.Event, err error, final bool)
}

// Since backfills: a new durable subscription starts with the events stored
// since t (an existing one resumes where it stopped; to backfill again, use
// a new durable name).
func Since(t time.Time) Option { return func(o *options) { o.since = t } }

// MaxDeliver gives up an event after n failed attempts (default 10).
func MaxDeliver(n int) Option { return func(o *options) { o.maxDeliver = n } }

// Backoff sets the delays between attempts (default 1s, 5s, 30s, 2m, 10m;
// the last repeats).
func Backoff(d ...time.Duration) Option { return func(o *options) { o.backoff = d } }

// OnError observes handler failures; final is true when the event is given up.
func OnError(f func(e tracking.Event, err error, final bool)) Option {
	return func(o *options) { o.onError = f }
}

// Subscription is a running subscription.
type Subscription struct {
	cc   jetstream.ConsumeContext
	cons jetstream.Consumer
}

// Stop stops delivering; the handler call in progress completes.
func (s *Subscription) Stop() { s.cc.Drain(); <-s.cc.Closed() }

// Pending is how many matching events are stored but not yet handled.
func (s *Subscription) Pending(ctx context.Context) (uint64, error) {
	info, err := s.cons.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.NumPending + uint64(info.NumAckPending), nil
}

// Subscribe creates (or resumes) the durable subscription name on SHIPMENTS
// and delivers matching events to h until Stop. Errors: the stream's or the
// server's, e.g. jetstream.ErrStreamNotFound when waybill has not started.
func Subscribe(ctx context.Context, js jetstream.JetStream, f Filter, name string, h Handler, opts ...Option) (*Subscription, error) {
	o := options{maxDeliver: 10, backoff: []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute}, ackWait: time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if name == "" {
		return nil, errors.New("client: a durable name is required")
	}
	cfg := jetstream.ConsumerConfig{
		Durable: name, Description: "waybill subscriber " + f.Subject(),
		FilterSubject: f.Subject(), AckPolicy: jetstream.AckExplicitPolicy,
		AckWait: o.ackWait, MaxDeliver: o.maxDeliver, DeliverPolicy: jetstream.DeliverNewPolicy,
	}
	if !o.since.IsZero() {
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &o.since
	}
	cons, err := js.Consumer(ctx, streams.Shipments, name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		cons, err = js.CreateConsumer(ctx, streams.Shipments, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("client: subscription %s: %w", name, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		e, err := shipments.Decode(msg.Headers(), msg.Data())
		if err != nil {
			// Not an event this client understands (a newer schema?):
			// retrying cannot help.
			report(o, e, err, true)
			_ = msg.TermWithReason(err.Error())
			return
		}
		if err := h(ctx, e); err != nil {
			meta, _ := msg.Metadata()
			attempt := 1
			if meta != nil {
				attempt = int(meta.NumDelivered)
			}
			final := attempt >= o.maxDeliver
			report(o, e, err, final)
			if final {
				_ = msg.TermWithReason(fmt.Sprintf("handler failed %d times: %v", attempt, err))
				return
			}
			_ = msg.NakWithDelay(o.backoff[min(attempt-1, len(o.backoff)-1)])
			return
		}
		_ = msg.Ack()
	})
	if err != nil {
		return nil, fmt.Errorf("client: consume %s: %w", name, err)
	}
	return &Subscription{cc: cc, cons: cons}, nil
}

func report(o options, e tracking.Event, err error, final bool) {
	if o.onError != nil {
		o.onError(e, err, final)
	}
}
