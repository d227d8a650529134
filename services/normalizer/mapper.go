package normalizer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// mapper consumes RAW, maps each message with its provider and publishes
// the candidate events to their shipment's CANDIDATES partition. A raw
// message is acked only after all its candidates have their PubAck; one that
// cannot be mapped is acked only after its dead letter has one.
type mapper struct {
	js         jetstream.JetStream
	partitions int
	m          *metrics
	log        zerolog.Logger
}

// inflight is a raw message whose outputs are being stored.
type inflight struct {
	msg     jetstream.Msg
	futures []jetstream.PubAckFuture
	dead    string // non-empty: dead-lettered for this reason, Term after the PubAck
	failed  error  // a publish could not even start: redeliver
}

// run maps until ctx ends, then stops fetching and finishes what is in
// flight. Publishes are asynchronous and a second goroutine waits for their
// acks in order, so mapping the next message overlaps storing the last.
func (mp *mapper) run(ctx context.Context, cons jetstream.Consumer) error {
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return fmt.Errorf("normalizer: raw consumer: %w", err)
	}
	go func() { <-ctx.Done(); it.Stop() }()
	pending := make(chan inflight, 4096)
	done := make(chan struct{})
	go func() { defer close(done); mp.settle(pending) }()
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
		pending <- mp.handle(msg)
	}
}

// settle acks each raw message once its outputs are stored, or naks it for
// redelivery when a publish failed (nothing is lost: the outputs carry
// message ids, so a retry stores no duplicate).
func (mp *mapper) settle(pending <-chan inflight) {
	for p := range pending {
		failed := p.failed
		for _, f := range p.futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				failed = err
			}
		}
		switch {
		case failed != nil:
			mp.log.Warn().Err(failed).Str("subject", p.msg.Subject()).Msg("publish failed: raw message will be redelivered")
			_ = p.msg.NakWithDelay(time.Second)
		case p.dead != "":
			_ = p.msg.TermWithReason(p.dead)
		default:
			_ = p.msg.Ack()
		}
	}
}

// handle maps one raw message and starts publishing its outputs.
func (mp *mapper) handle(msg jetstream.Msg) inflight {
	source := strings.TrimPrefix(msg.Subject(), "raw.")
	events, err := mp.mapRaw(source, msg)
	switch {
	case errors.Is(err, providers.ErrNotShipment):
		mp.m.raw.WithLabelValues(source, "not_shipment").Inc()
		mp.log.Debug().Str("source", source).Str("raw_event_id", msg.Headers().Get("ce-id")).Msg("not a shipment event")
		return inflight{msg: msg}
	case err != nil:
		return mp.deadLetter(source, msg, err)
	}
	p := inflight{msg: msg}
	for i := range events {
		e := &events[i]
		out, err := shipments.Message(streams.CandidateSubject(streams.PartitionOf(e.ShipmentKey, mp.partitions), e.Carrier, e.TrackingNumber), e)
		if err == nil {
			var f jetstream.PubAckFuture
			if f, err = mp.js.PublishMsgAsync(out, jetstream.WithMsgID(e.ID)); err == nil {
				p.futures = append(p.futures, f)
				continue
			}
		}
		p.failed = fmt.Errorf("candidate %s of %s: %w", e.ID, e.ShipmentKey, err)
		return p
	}
	mp.m.raw.WithLabelValues(source, "mapped").Inc()
	mp.m.eventsIn.WithLabelValues(source).Add(float64(len(events)))
	return p
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

// deadLetter stores the raw message on deadletter.normalizer.<source> with
// the reason and its original headers; the raw message is terminated once
// the dead letter is stored.
func (mp *mapper) deadLetter(source string, msg jetstream.Msg, cause error) inflight {
	orig := &nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()}
	dl := deadletter.New("normalizer", source, cause.Error(), orig)
	f, err := mp.js.PublishMsgAsync(dl, jetstream.WithMsgID(dl.Header.Get(nats.MsgIdHdr)))
	if err != nil {
		return inflight{msg: msg, failed: fmt.Errorf("dead letter: %w", err)}
	}
	mp.m.raw.WithLabelValues(source, "deadlettered").Inc()
	mp.m.deadLetters.WithLabelValues(source).Inc()
	mp.log.Warn().Str("source", source).Str("raw_event_id", msg.Headers().Get("ce-id")).Str("reason", truncate(cause.Error(), 200)).Msg("raw message dead-lettered")
	return inflight{msg: msg, futures: []jetstream.PubAckFuture{f}, dead: truncate(cause.Error(), 200)}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
