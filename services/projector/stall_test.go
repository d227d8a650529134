package projector_test

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/schematest"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/projector"
)

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// A non-terminal shipment silent for WAYBILL_STALL_AFTER is alerted once,
// with a valid dev.waybill.shipment.stalled.v1 CloudEvent; not again while
// it stays silent; again after it moves and stalls anew. Terminal and
// recent shipments are never alerted.
func TestStalledShipments(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"WAYBILL_STALL_INTERVAL": "100ms", "WAYBILL_STALL_AFTER": "72h"})
	clock := &fakeClock{now: t0.Add(2 * time.Hour)}
	h.start(projector.WithClock(clock))

	inTransit := event("ups", "1ZSTALL1", tracking.InTransit, 60)
	attempt := event("usps", "9400STALL2", tracking.FailedAttempt, 60)
	attempt.References = map[string]string{"order_id": "ORD-2"}
	delivered := event("fedex", "7700STALL3", tracking.Delivered, 60)
	h.publish(event("ups", "1ZSTALL1", tracking.InfoReceived, 0), inTransit, attempt, delivered)
	h.waitEvents(4)

	// Fresh: scans find nothing.
	h.waitScans(2)
	if alerts := h.alerts(); len(alerts) != 0 {
		t.Fatalf("alerts before anything stalled: %v", alerts)
	}

	clock.Advance(72 * time.Hour) // inTransit and attempt were last heard 73h ago
	first := h.waitAlerts(2)
	checkAlert(t, first[inTransit.ShipmentKey], inTransit, clock.Now(), nil)
	checkAlert(t, first[attempt.ShipmentKey], attempt, clock.Now(), attempt.References)
	for _, key := range []string{inTransit.ShipmentKey, attempt.ShipmentKey} {
		if h.stalledAt(key) == nil {
			t.Errorf("%s alerted but not marked", key)
		}
	}
	if h.stalledAt(delivered.ShipmentKey) != nil {
		t.Error("a delivered shipment was marked stalled")
	}

	// Still silent: not sent again.
	h.waitScans(2)
	if n := len(h.alerts()); n != 2 {
		t.Fatalf("%d alerts after two more scans, want still 2", n)
	}

	// The parcel moves: the mark goes, no alert while the news is fresh...
	moved := event("ups", "1ZSTALL1", tracking.OutForDelivery, int(clock.Now().Sub(t0)/time.Minute))
	h.publish(moved)
	h.waitEvents(5)
	if h.stalledAt(inTransit.ShipmentKey) != nil {
		t.Error("stall mark kept after the shipment moved")
	}
	h.waitScans(2)
	if n := len(h.alerts()); n != 2 {
		t.Fatalf("%d alerts right after the shipment moved, want 2", n)
	}
	// ...and a new alert when it goes silent again, naming its new state.
	clock.Advance(73 * time.Hour)
	second := h.waitAlerts(3)
	checkAlert(t, second[inTransit.ShipmentKey], moved, clock.Now(), nil)
	if h.metric("waybill_projector_stalled_alerts_total") != 3 {
		t.Errorf("stalled alerts metric %v, want 3", h.metric("waybill_projector_stalled_alerts_total"))
	}
}

// waitScans waits until n more stall scans have completed.
func (h *harness) waitScans(n int) {
	h.t.Helper()
	base := h.metric("waybill_projector_stall_scans_total", "outcome", "done")
	poll.Until(h.t, 10*time.Second, func() error {
		if got := h.metric("waybill_projector_stall_scans_total", "outcome", "done"); got < base+float64(n) {
			return fmt.Errorf("%v stall scans done, waiting for %v", got, base+float64(n))
		}
		return nil
	})
}

// alerts decodes ALERTS in stream order, checking each message against
// the CloudEvent attributes and the schema.
func (h *harness) alerts() []tracking.Stalled {
	h.t.Helper()
	var out []tracking.Stalled
	for _, m := range h.stored(streams.Alerts) {
		ce, err := cloudevent.FromMsg(m.Header, m.Data)
		if err != nil {
			h.t.Fatal(err)
		}
		schematest.Validate(h.t, schematest.ShipmentStalled, m.Data)
		var s tracking.Stalled
		if err := ce.DataAs(&s); err != nil {
			h.t.Fatal(err)
		}
		if ce.Type() != tracking.StalledType || ce.Source() != projector.AlertSource || ce.Subject() != s.ShipmentKey {
			h.t.Errorf("alert attributes type=%s source=%s subject=%s", ce.Type(), ce.Source(), ce.Subject())
		}
		if m.Subject != s.Subject() {
			h.t.Errorf("alert on %s, want %s", m.Subject, s.Subject())
		}
		if m.Header.Get(nats.MsgIdHdr) != ce.ID() {
			h.t.Errorf("Nats-Msg-Id %q, want the CloudEvent id %q", m.Header.Get(nats.MsgIdHdr), ce.ID())
		}
		out = append(out, s)
	}
	return out
}

// waitAlerts waits for n alerts and returns the newest of each shipment.
func (h *harness) waitAlerts(n int) map[string]tracking.Stalled {
	h.t.Helper()
	var all []tracking.Stalled
	poll.Until(h.t, 10*time.Second, func() error {
		if all = h.alerts(); len(all) != n {
			return fmt.Errorf("%d alerts, want %d", len(all), n)
		}
		return nil
	})
	sort.SliceStable(all, func(i, j int) bool { return all[i].DetectedAt.Before(all[j].DetectedAt) })
	out := map[string]tracking.Stalled{}
	for _, s := range all {
		out[s.ShipmentKey] = s
	}
	return out
}

func (h *harness) stalledAt(key string) *time.Time {
	h.t.Helper()
	var at *time.Time
	if err := h.pool().QueryRow(context.Background(),
		"SELECT stalled_at FROM waybill.shipments WHERE shipment_key = $1", key).Scan(&at); err != nil {
		h.t.Fatal(err)
	}
	return at
}

func checkAlert(t *testing.T, got tracking.Stalled, last tracking.Event, now time.Time, refs map[string]string) {
	t.Helper()
	want := tracking.Stalled{
		ShipmentKey: last.ShipmentKey, Carrier: last.Carrier, TrackingNumber: last.TrackingNumber,
		Status: last.Status, LastEventAt: last.OccurredAt, LastEventID: last.ID,
		StalledAfter: 72 * time.Hour, DetectedAt: now, References: refs,
	}
	if got.ShipmentKey != want.ShipmentKey || got.Carrier != want.Carrier || got.TrackingNumber != want.TrackingNumber ||
		got.Status != want.Status || !got.LastEventAt.Equal(want.LastEventAt) || got.LastEventID != want.LastEventID ||
		got.StalledAfter != want.StalledAfter || !got.DetectedAt.Equal(want.DetectedAt) ||
		fmt.Sprint(got.References) != fmt.Sprint(want.References) {
		t.Errorf("alert\n got %+v\nwant %+v", got, want)
	}
}
