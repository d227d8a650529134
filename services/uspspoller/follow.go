package uspspoller

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/providers"
	_ "github.com/waybill-dev/waybill/pkg/providers/all" // Granular comes from every provider's Info
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// ConsumerName is the durable SHIPMENTS consumer every replica shares:
// each event is handled by one replica.
const ConsumerName = "uspspoller"

// FilterSubject is the part of SHIPMENTS the poller watches.
const FilterSubject = "shipments.usps.>"

// pollSource is the provider name of the poller's own results.
const pollSource = "usps"

// action is what one SHIPMENTS event does to the schedule.
type action int

const (
	actIgnore   action = iota
	actSchedule        // a non-granular source reports the parcel: poll it
	actOff             // terminal status, or a granular source covers it
	actNews            // a USPS event: the parcel is alive
)

// classify decides what a normalized USPS event does. It depends only on
// the event, so replicas and replays agree.
func classify(e *tracking.Event, now time.Time, maxAge time.Duration) (action, string) {
	if e.Carrier != "usps" {
		return actIgnore, "carrier"
	}
	if e.Status.Terminal() {
		return actOff, string(e.Status)
	}
	if e.Source == pollSource {
		return actNews, ""
	}
	p, ok := providers.Lookup(e.Source)
	if !ok {
		// A source this build does not know: not enough to spend quota on.
		return actIgnore, "unknown source"
	}
	if p.Info().Granular {
		return actOff, ReasonGranularPrefix + e.Source
	}
	if now.Sub(e.OccurredAt) > maxAge {
		// A replay of history: the parcel would expire at once.
		return actIgnore, "older than max age"
	}
	return actSchedule, ""
}

// changeFor turns an action into a schedule change. wasActive reports
// whether the last call saw the shipment on the schedule.
func changeFor(act action, reason string, e *tracking.Event, now time.Time, wasActive *bool) change {
	switch act {
	case actSchedule:
		at := e.OccurredAt
		if at.After(now) {
			at = now
		}
		return func(cur Entry, exists bool) (Entry, bool) {
			if exists {
				return cur, false // already on, or off for good
			}
			// The first poll is due at once: the seed's flow polls after
			// the Shipped webhook, and a label not yet in the USPS system
			// only costs a 404 and a retry after the interval.
			return Entry{
				TrackingNumber: e.TrackingNumber, State: Active, Source: e.Source,
				ScheduledAt: at, NewsAt: at, Due: now,
			}, true
		}
	case actOff:
		return func(cur Entry, exists bool) (Entry, bool) {
			*wasActive = exists && cur.State == Active
			if exists && cur.State == Off {
				return cur, false
			}
			if !exists {
				// A tombstone: a granular or finished parcel is never
				// scheduled by a later non-granular event.
				cur = Entry{TrackingNumber: e.TrackingNumber}
			}
			cur.State, cur.Reason, cur.OffAt, cur.Lease = Off, reason, now, nil
			return cur, true
		}
	case actNews:
		return func(cur Entry, exists bool) (Entry, bool) {
			if !exists || cur.State != Active || !e.OccurredAt.After(cur.NewsAt) {
				return cur, false
			}
			cur.NewsAt = e.OccurredAt
			if cur.NewsAt.After(now) {
				cur.NewsAt = now
			}
			return cur, true
		}
	}
	return nil
}

// follow consumes SHIPMENTS until ctx ends, then drains: the event in
// hand is applied and acked.
func (p *Poller) follow(ctx context.Context) error {
	cons, err := p.js.CreateOrUpdateConsumer(ctx, streams.Shipments, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "uspspoller: USPS shipments to put on or take off the poll schedule",
		FilterSubject: FilterSubject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 1000,
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while starting
		}
		return fmt.Errorf("uspspoller: %s consumer: %w", streams.Shipments, err)
	}
	cc, err := cons.Consume(p.handle,
		jetstream.PullMaxMessages(100),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			p.log.Debug().Err(err).Msg("shipments consumer")
		}))
	if err != nil {
		return fmt.Errorf("uspspoller: consume %s: %w", streams.Shipments, err)
	}
	<-ctx.Done()
	cc.Drain()
	select {
	case <-cc.Closed():
	case <-time.After(p.cfg.ShutdownTimeout):
		cc.Stop()
	}
	return nil
}

// handle applies one SHIPMENTS event to the schedule and acks it after the
// KV write: a crash in between redelivers it, and every change is
// idempotent.
func (p *Poller) handle(msg jetstream.Msg) {
	ev, err := shipments.Decode(msg.Headers(), msg.Data())
	if err != nil {
		p.log.Error().Err(err).Str("subject", msg.Subject()).Msg("undecodable SHIPMENTS event skipped")
		p.m.events.WithLabelValues("ignored").Inc()
		_ = msg.TermWithReason(err.Error())
		return
	}
	now := p.clock.Now()
	act, reason := classify(&ev, now, p.cfg.MaxAge)
	if act == actIgnore {
		p.m.events.WithLabelValues("ignored").Inc()
		p.log.Debug().Str("shipment_key", ev.ShipmentKey).Str("event_id", ev.ID).Str("source", ev.Source).Str("why", reason).Msg("event ignored")
		_ = msg.Ack()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wasActive bool
	entry, wrote, err := p.st.mutate(ctx, Key(ev.TrackingNumber), changeFor(act, reason, &ev, now, &wasActive))
	if err != nil {
		p.log.Warn().Err(err).Str("shipment_key", ev.ShipmentKey).Str("event_id", ev.ID).Msg("schedule update failed: event will be redelivered")
		_ = msg.NakWithDelay(time.Second)
		return
	}
	label := "none"
	if wrote {
		switch act {
		case actSchedule:
			label = "scheduled"
			p.log.Info().Str("shipment_key", ev.ShipmentKey).Str("event_id", ev.ID).Str("source", ev.Source).
				Time("due", entry.Due).Msg("shipment scheduled for USPS polling")
		case actOff:
			label = "off"
			lvl := p.log.Debug() // a tombstone for a parcel never polled
			if wasActive {
				lvl = p.log.Info()
			}
			lvl.Str("shipment_key", ev.ShipmentKey).Str("event_id", ev.ID).Str("source", ev.Source).
				Str("reason", reason).Msg("shipment off the USPS poll schedule")
		case actNews:
			label = "news"
		}
	}
	p.m.events.WithLabelValues(label).Inc()
	_ = msg.Ack()
}
