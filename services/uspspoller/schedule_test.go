package uspspoller_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/uspspoller"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

// TestScheduleFollowsShipments checks which SHIPMENTS events put a USPS
// shipment on the schedule and which take it off.
func TestScheduleFollowsShipments(t *testing.T) {
	type ev struct {
		source string
		status tracking.Status
		ago    time.Duration
	}
	tests := []struct {
		name       string
		events     []ev
		wantState  uspspoller.State // "" for no entry
		wantReason string
	}{
		{"tenovi shipped is polled", []ev{{"tenovi", tracking.InTransit, 0}}, uspspoller.Active, ""},
		{"tenovi then usps delivered", []ev{{"tenovi", tracking.InTransit, 0}, {"usps", tracking.Delivered, 0}}, uspspoller.Off, "delivered"},
		{"tenovi then usps returned", []ev{{"tenovi", tracking.InTransit, 0}, {"usps", tracking.Returned, 0}}, uspspoller.Off, "returned"},
		{"tenovi delivered is terminal", []ev{{"tenovi", tracking.Delivered, 0}}, uspspoller.Off, "delivered"},
		{"tenovi then granular swiftpod", []ev{{"tenovi", tracking.InTransit, 0}, {"swiftpod", tracking.InTransit, 0}}, uspspoller.Off, "granular:swiftpod"},
		{"granular swiftpod first, tenovi later", []ev{{"swiftpod", tracking.InTransit, 0}, {"tenovi", tracking.InTransit, 0}}, uspspoller.Off, "granular:swiftpod"},
		{"delivered first, tenovi replayed later", []ev{{"usps", tracking.Delivered, 0}, {"tenovi", tracking.InTransit, 0}}, uspspoller.Off, "delivered"},
		{"usps events alone schedule nothing", []ev{{"usps", tracking.InTransit, 0}}, "", ""},
		{"unknown source schedules nothing", []ev{{"acme", tracking.InTransit, 0}}, "", ""},
		{"tenovi event older than max age", []ev{{"tenovi", tracking.InTransit, 31 * 24 * time.Hour}}, "", ""},
	}
	h := newHarness(t)
	// The 404s of unknown numbers keep every active shipment active.
	h.start("a", nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			number := fmt.Sprintf("9400SCHED%04d", i)
			for _, e := range tt.events {
				h.ship(e.source, number, e.status, h.clock.Now().Add(-e.ago))
			}
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				e, ok := h.entry(number)
				if tt.wantState == "" {
					if ok {
						return fmt.Errorf("entry %+v, want none", e)
					}
					return nil
				}
				if !ok || e.State != tt.wantState || e.Reason != tt.wantReason {
					return fmt.Errorf("entry %+v (exists %v), want %s %q", e, ok, tt.wantState, tt.wantReason)
				}
				return nil
			})
			if tt.wantState == "" {
				// Give the consumer time to process, then check again.
				checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
					if n := h.consumerPending(); n > 0 {
						return fmt.Errorf("%d events pending", n)
					}
					return nil
				})
				if e, ok := h.entry(number); ok {
					t.Fatalf("entry %+v, want none", e)
				}
			}
		})
	}
}

// TestPollPublishesResponse follows one Tenovi shipment through its first
// poll: the USPS response is stored untouched on raw.usps as a CloudEvent
// with the usps provider's event id, and the next poll is due 4-6 hours
// later.
func TestPollPublishesResponse(t *testing.T) {
	h := newHarness(t)
	const number = "9400111899223512345670"
	// One event a day: the second poll, hours later, sees the same one.
	h.usps.Script(number, uspsfake.Script{Every: 24 * time.Hour, Events: uspsfake.Delivered})
	r := h.start("a", nil)
	h.ship("tenovi", number, tracking.InTransit, t0)

	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := len(h.raw()); got != 1 {
			return fmt.Errorf("%d raw.usps messages", got)
		}
		return nil
	})
	ev := h.raw()[0]
	wantID, err := usps.EventID(ev.Data(), number)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Source() != uspspoller.Source || ev.Type() != uspspoller.TrackingType || ev.ID() != wantID ||
		ev.Subject() != number || !near(ev.Time(), t0) {
		t.Errorf("CloudEvent %s %s %s %s %v, want id %s", ev.Source(), ev.Type(), ev.ID(), ev.Subject(), ev.Time(), wantID)
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		e, _ := h.entry(number)
		if e.Polls != 1 || e.Lease != nil {
			return fmt.Errorf("entry %+v", e)
		}
		if d := e.Due.Sub(t0); d < 4*time.Hour || d >= 6*time.Hour {
			return fmt.Errorf("next poll due after %v, want 4h-6h", d)
		}
		if e.LastResponse != wantID || !near(e.NewsAt, t0) {
			return fmt.Errorf("entry %+v", e)
		}
		return nil
	})

	// An unchanged response is published again with the same id: a
	// duplicate that JetStream drops.
	e, _ := h.entry(number)
	h.clock.Set(e.Due)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if e, _ := h.entry(number); e.Polls != 2 || e.Lease != nil {
			return fmt.Errorf("polls %d", e.Polls)
		}
		return nil
	})
	if got := len(h.raw()); got != 1 {
		t.Errorf("%d raw.usps messages after an unchanged poll, want 1", got)
	}
	if got := r.metric("waybill_uspspoller_polls_total", map[string]string{"outcome": "unchanged"}); got != 1 {
		t.Errorf("unchanged polls %v, want 1", got)
	}
	if e2, _ := h.entry(number); !e2.NewsAt.Equal(e.NewsAt) {
		t.Errorf("an unchanged response moved news_at from %v to %v", e.NewsAt, e2.NewsAt)
	}
}

// TestMostOverdueFirst: with a quota of one request a minute, the
// shipments that have waited longest are polled first.
func TestMostOverdueFirst(t *testing.T) {
	h := newHarness(t)
	h.start("setup", nil).stop() // creates the bucket
	overdue := []time.Duration{2 * time.Hour, 5 * time.Hour, 30 * time.Minute, 3 * time.Hour}
	for i, d := range overdue {
		h.putEntry(uspspoller.Entry{
			TrackingNumber: fmt.Sprintf("9400ORDER%d", i), State: uspspoller.Active, Source: "tenovi",
			ScheduledAt: t0.Add(-d), NewsAt: t0.Add(-d), Due: t0.Add(-d),
		})
	}
	h.start("a", map[string]string{"USPS_RATE_LIMIT": "60"})
	h.advanceUntil(10*time.Second, 100, func() error {
		if n := h.usps.Counts().Tracking; n < len(overdue) {
			return fmt.Errorf("%d polls", n)
		}
		return nil
	})
	var order []string
	for _, hit := range h.usps.Hits() {
		if hit.Kind == "tracking" {
			order = append(order, hit.Number)
		}
	}
	want := []string{"9400ORDER1", "9400ORDER3", "9400ORDER0", "9400ORDER2"}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("poll order %v, want %v", order, want)
	}
}

// TestDeadReplicaLeaseTakenOver: a shipment claimed by a replica that died
// mid-poll is polled by another once the lease has run out, not before.
func TestDeadReplicaLeaseTakenOver(t *testing.T) {
	h := newHarness(t)
	h.start("setup", nil).stop()
	const number = "9400ORPHAN"
	h.usps.Script(number, uspsfake.Script{Events: uspsfake.Delivered})
	h.putEntry(uspspoller.Entry{
		TrackingNumber: number, State: uspspoller.Active, Source: "tenovi", ScheduledAt: t0, NewsAt: t0,
		Due:   t0.Add(-time.Hour),
		Lease: &uspspoller.Lease{Owner: "dead", ID: "x", Due: t0.Add(-time.Hour), Until: t0.Add(2 * time.Minute)},
	})
	h.start("a", nil)
	for range 11 {
		h.clock.Advance(10 * time.Second)
		h.settle()
	}
	if n := h.usps.Requests(number); n != 0 {
		t.Fatalf("%d polls under a live lease (at %v)", n, h.clock.Now())
	}
	h.clock.Set(t0.Add(2 * time.Minute))
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if e, _ := h.entry(number); e.Polls != 1 || e.Lease != nil {
			return fmt.Errorf("entry %+v", e)
		}
		return nil
	})
}
