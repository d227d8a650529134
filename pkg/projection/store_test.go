package projection_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestDeliveredAt(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	at := func(minutes int) *time.Time {
		v := t0.Add(time.Duration(minutes) * time.Minute)
		return &v
	}
	tests := []struct {
		name       string
		events     []tracking.Event // applied one batch each, in this order
		wantStatus tracking.Status
		want       *time.Time
	}{{
		name:       "delivered is the latest event",
		events:     []tracking.Event{event("ups", "1", tracking.InTransit, 0, "I"), event("ups", "1", tracking.Delivered, 60, "D")},
		wantStatus: tracking.Delivered, want: at(60),
	}, {
		name:       "a later carrier event supersedes the delivery",
		events:     []tracking.Event{event("ups", "2", tracking.Delivered, 60, "D"), event("ups", "2", tracking.ReturnToSender, 120, "RS")},
		wantStatus: tracking.ReturnToSender, want: nil,
	}, {
		name:       "a late, earlier event does not undo the delivery",
		events:     []tracking.Event{event("ups", "3", tracking.Delivered, 60, "D"), event("ups", "3", tracking.OutForDelivery, 30, "OFD")},
		wantStatus: tracking.Delivered, want: at(60),
	}, {
		name:       "at equal carrier time delivered outranks out for delivery",
		events:     []tracking.Event{event("ups", "4", tracking.Delivered, 60, "D"), event("ups", "4", tracking.OutForDelivery, 60, "OFD")},
		wantStatus: tracking.Delivered, want: at(60),
	}, {
		name:       "of two deliveries the later one counts",
		events:     []tracking.Event{event("ups", "5", tracking.Delivered, 90, "D2"), event("ups", "5", tracking.Delivered, 60, "D1")},
		wantStatus: tracking.Delivered, want: at(90),
	}, {
		name:       "never delivered",
		events:     []tracking.Event{event("ups", "6", tracking.Exception, 60, "X")},
		wantStatus: tracking.Exception, want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, e := range tt.events {
				apply(t, s, e)
			}
			row := shipment(t, pool, tt.events[0].ShipmentKey)
			if row.Status != string(tt.wantStatus) {
				t.Errorf("status %s, want %s", row.Status, tt.wantStatus)
			}
			switch {
			case tt.want == nil && row.DeliveredAt != nil:
				t.Errorf("delivered_at %v, want null", *row.DeliveredAt)
			case tt.want != nil && (row.DeliveredAt == nil || !row.DeliveredAt.Equal(*tt.want)):
				t.Errorf("delivered_at %v, want %v", row.DeliveredAt, *tt.want)
			}
		})
	}
}

// TestRefsUnion applies the events newest first, one batch each: the case
// an incremental "newer event wins" merge gets wrong.
func TestRefsUnion(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	e1 := event("fedex", "77", tracking.InfoReceived, 0, "OC")
	e1.References = map[string]string{"order_id": "ORD-1001", "partner_ref": "P-9"}
	e2 := event("fedex", "77", tracking.InTransit, 60, "IT")
	e2.References = map[string]string{"order_id": "ORD-1002"}
	e3 := event("fedex", "77", tracking.OutForDelivery, 120, "OD")
	e3.References = map[string]string{"device_id": "DEV-1"}
	for _, e := range []tracking.Event{e3, e1, e2} {
		apply(t, s, e)
	}

	row := shipment(t, pool, e1.ShipmentKey)
	want := map[string]string{"order_id": "ORD-1002", "partner_ref": "P-9", "device_id": "DEV-1"}
	if jsonString(row.Refs) != jsonString(want) {
		t.Errorf("refs %v, want %v", row.Refs, want)
	}

	// Every value ever seen finds the shipment, exactly or by prefix.
	ctx := context.Background()
	find := func(sql, arg string) []string {
		rows, err := pool.Query(ctx, sql, arg)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return keys
	}
	for _, v := range []string{"ORD-1001", "ORD-1002", "P-9", "DEV-1"} {
		if got := find("SELECT shipment_key FROM waybill.shipment_refs WHERE value = $1", v); len(got) != 1 || got[0] != e1.ShipmentKey {
			t.Errorf("value %s finds %v", v, got)
		}
	}
	if got := find("SELECT DISTINCT shipment_key FROM waybill.shipment_refs WHERE value LIKE $1 || '%'", "ORD-10"); len(got) != 1 {
		t.Errorf("prefix ORD-10 finds %v", got)
	}
}

// TestRefPrefixSearchUsesIndex: the primary key of shipment_refs serves
// prefix search, whatever the database collation.
func TestRefPrefixSearchUsesIndex(t *testing.T) {
	t.Parallel()
	pool := migratedPool(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT shipment_key FROM waybill.shipment_refs WHERE value LIKE 'ORD-10%'",
		"SELECT shipment_key FROM waybill.shipment_refs WHERE value ^@ 'ORD-10'",
	} {
		var plan strings.Builder
		rows, err := tx.Query(ctx, "EXPLAIN "+q)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan.WriteString(strings.Join(lines, "\n"))
		if !strings.Contains(plan.String(), "Index Cond") {
			t.Errorf("%s:\n%s\nwant an index condition", q, plan.String())
		}
	}
}

func TestEstimatedDeliveryIsTheLatestEstimate(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	e1 := event("usps", "9400", tracking.InfoReceived, 0, "GX")
	e1.EstimatedDelivery = "2025-10-24"
	e2 := event("usps", "9400", tracking.InTransit, 60, "10")
	e2.EstimatedDelivery = "2025-10-23"
	e3 := event("usps", "9400", tracking.OutForDelivery, 120, "OF") // no estimate
	apply(t, s, e3, e2)
	apply(t, s, e1)
	if row := shipment(t, pool, e1.ShipmentKey); row.EstimatedDelivery == nil || *row.EstimatedDelivery != "2025-10-23" {
		t.Errorf("estimated_delivery %v, want 2025-10-23", row.EstimatedDelivery)
	}
}

func TestStalledAtClearsOnlyWhenTheStateChanges(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := context.Background()
	key := event("dhl", "55", tracking.InTransit, 60, "T").ShipmentKey
	markStalled := func() {
		if _, err := pool.Exec(ctx, "UPDATE waybill.shipments SET stalled_at = now() WHERE shipment_key = $1", key); err != nil {
			t.Fatal(err)
		}
	}
	stalled := func() bool { return shipment(t, pool, key).StalledAt != nil }

	apply(t, s, event("dhl", "55", tracking.InTransit, 60, "T"))
	markStalled()
	apply(t, s, event("dhl", "55", tracking.InTransit, 60, "T"))   // duplicate
	apply(t, s, event("dhl", "55", tracking.InfoReceived, 0, "I")) // late, older
	if !stalled() {
		t.Error("stalled_at cleared by a duplicate or an older event")
	}
	apply(t, s, event("dhl", "55", tracking.OutForDelivery, 120, "O"))
	if stalled() {
		t.Error("stalled_at kept after a newer event")
	}
}

// TestStallScanIndexMatchesTerminal keeps the partial index's status list
// (SQL) and tracking.Status.Terminal (Go) in step.
func TestStallScanIndexMatchesTerminal(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	ctx := context.Background()
	for i, st := range tracking.Statuses {
		apply(t, s, event("ups", "T"+string(rune('A'+i)), st, 0, "x"))
	}
	var predicate string
	err := pool.QueryRow(ctx, `SELECT pg_get_expr(indpred, indrelid) FROM pg_index
		WHERE indexrelid = 'waybill.shipments_stall_scan'::regclass`).Scan(&predicate)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, "SELECT status FROM waybill.shipments WHERE "+predicate)
	if err != nil {
		t.Fatal(err)
	}
	scanned, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	inScan := map[string]bool{}
	for _, st := range scanned {
		inScan[st] = true
	}
	for _, st := range tracking.Statuses {
		if inScan[string(st)] == st.Terminal() {
			t.Errorf("status %s: in stall scan %v, terminal %v", st, inScan[string(st)], st.Terminal())
		}
	}
}

func TestApplyStoresTheWholeEvent(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	e := event("usps", "9400111", tracking.Exception, 30, "07")
	e.Substatus = "weather_delay"
	e.Late = true
	e.TimezoneInferred = true
	e.TimezoneSource = tracking.ZoneFromZIP
	e.Timezone = "America/New_York"
	e.References = map[string]string{"order_id": "A1"}
	e.EstimatedDelivery = "2025-10-25T17:00:00Z"
	received := time.Date(2025, 10, 20, 9, 0, 0, 0, time.UTC)
	if _, err := s.Apply(context.Background(), []tracking.Event{e}, received); err != nil {
		t.Fatal(err)
	}
	var got tracking.Event
	var rank int16
	var receivedAt time.Time
	var substatus, estimate *string
	err := pool.QueryRow(context.Background(), `SELECT id, shipment_key, carrier, tracking_number,
		status, status_rank, substatus, carrier_status, message, occurred_at, occurred_at_precision,
		local_time, timezone, timezone_source, timezone_inferred, location, source,
		raw_event_id, refs, estimated_delivery, late, received_at
		FROM waybill.shipment_events`).Scan(&got.ID, &got.ShipmentKey, &got.Carrier,
		&got.TrackingNumber, &got.Status, &rank, &substatus, &got.CarrierStatus, &got.Message,
		&got.OccurredAt, &got.OccurredAtPrecision, &got.LocalTime, &got.Timezone,
		&got.TimezoneSource, &got.TimezoneInferred, &got.Location, &got.Source,
		&got.RawEventID, &got.References, &estimate, &got.Late, &receivedAt)
	if err != nil {
		t.Fatal(err)
	}
	got.Substatus, got.EstimatedDelivery = *substatus, *estimate
	got.OccurredAt = got.OccurredAt.UTC()
	if jsonString(got) != jsonString(e) {
		t.Errorf("stored\n %s\nwant\n %s", jsonString(got), jsonString(e))
	}
	if int(rank) != e.Status.Rank() || !receivedAt.Equal(received) {
		t.Errorf("status_rank %d received_at %v, want %d %v", rank, receivedAt, e.Status.Rank(), received)
	}
}

func TestApplyRejectsInvalidEvents(t *testing.T) {
	t.Parallel()
	s, pool := newStore(t)
	good := event("ups", "1Z", tracking.InTransit, 0, "I")
	tests := []struct {
		name   string
		mutate func(*tracking.Event)
	}{
		{"no id", func(e *tracking.Event) { e.ID = "" }},
		{"key not carrier:tracking", func(e *tracking.Event) { e.ShipmentKey = "ups:OTHER" }},
		{"status outside the taxonomy", func(e *tracking.Event) { e.Status = "lost_in_space" }},
		{"no occurred_at", func(e *tracking.Event) { e.OccurredAt = time.Time{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := good
			tt.mutate(&bad)
			_, err := s.Apply(context.Background(), []tracking.Event{good, bad}, time.Now())
			if !errors.Is(err, tracking.ErrInvalidEvent) || projection.Retryable(err) {
				t.Errorf("err %v: want a permanent tracking.ErrInvalidEvent", err)
			}
		})
	}
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM waybill.shipment_events").Scan(&n); err != nil || n != 0 {
		t.Errorf("%d events stored (err %v), want none: a rejected batch writes nothing", n, err)
	}
}
