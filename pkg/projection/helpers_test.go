package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// migratedPool returns a pool on a fresh, migrated database.
func migratedPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := pgtest.Database(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := projection.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func newStore(t testing.TB) (*projection.Store, *pgxpool.Pool) {
	pool := migratedPool(t)
	return projection.New(pool), pool
}

var t0 = time.Date(2025, 10, 20, 8, 0, 0, 0, time.UTC)

// event builds a normalized event of shipment carrier:tracking at t0+minutes.
// carrierStatus tells apart events of equal status and time.
func event(carrier, number string, status tracking.Status, minutes int, carrierStatus string) tracking.Event {
	e := tracking.Event{
		Carrier:             carrier,
		TrackingNumber:      number,
		Status:              status,
		CarrierStatus:       carrierStatus,
		Message:             "scan " + carrierStatus,
		OccurredAt:          t0.Add(time.Duration(minutes) * time.Minute),
		OccurredAtPrecision: tracking.PrecisionSecond,
		LocalTime:           t0.Add(time.Duration(minutes) * time.Minute).Format("2006-01-02T15:04:05"),
		Timezone:            "UTC",
		TimezoneSource:      tracking.ZoneFromOffset,
		Location:            tracking.Location{City: "Columbus", State: "OH", Country: "US"},
		Source:              "test",
		RawEventID:          "raw-" + carrierStatus,
	}
	e.Normalize()
	return e
}

func apply(t testing.TB, s interface {
	Apply(context.Context, []tracking.Event, time.Time) (projection.Result, error)
}, events ...tracking.Event) projection.Result {
	t.Helper()
	res, err := s.Apply(context.Background(), events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// shipmentRow is a waybill.shipments row but updated_at.
type shipmentRow struct {
	ShipmentKey       string
	Carrier           string
	TrackingNumber    string
	Status            string
	StatusRank        int16
	StatusAt          time.Time
	LastEventID       string
	DeliveredAt       *time.Time
	EstimatedDelivery *string
	Refs              map[string]string
	EventCount        int32
	FirstSeenAt       time.Time
	StalledAt         *time.Time
}

const shipmentRowSQL = `SELECT shipment_key, carrier, tracking_number, status, status_rank,
	status_at, last_event_id, delivered_at, estimated_delivery, refs, event_count,
	first_seen_at, stalled_at FROM %s.shipments`

func shipmentRows(t testing.TB, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, schema string) map[string]shipmentRow {
	t.Helper()
	rows, err := db.Query(context.Background(), fmt.Sprintf(shipmentRowSQL, schema))
	if err != nil {
		t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowToStructByPos[shipmentRow])
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]shipmentRow, len(list))
	for _, r := range list {
		r.StatusAt = r.StatusAt.UTC()
		r.FirstSeenAt = r.FirstSeenAt.UTC()
		if r.DeliveredAt != nil {
			d := r.DeliveredAt.UTC()
			r.DeliveredAt = &d
		}
		m[r.ShipmentKey] = r
	}
	return m
}

func shipment(t testing.TB, db interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, key string) shipmentRow {
	t.Helper()
	r, ok := shipmentRows(t, db, projection.Schema)[key]
	if !ok {
		t.Fatalf("no shipments row %s", key)
	}
	return r
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
