package lookup_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func openDB(t *testing.T, migrate bool) *pgxpool.Pool {
	t.Helper()
	ctx := context.Background()
	url := pgtest.Database(t)
	if migrate {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		err = projection.Migrate(ctx, conn)
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func event(carrier, tn string, st tracking.Status, at time.Time, refs map[string]string) tracking.Event {
	e := tracking.Event{Carrier: carrier, TrackingNumber: tn, Status: st, CarrierStatus: string(st), OccurredAt: at,
		OccurredAtPrecision: tracking.PrecisionSecond, Source: "test", References: refs}
	e.Normalize()
	return e
}

func TestListPagesThroughTies(t *testing.T) {
	pool := openDB(t, true)
	ctx := context.Background()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var evs []tracking.Event
	for i := 0; i < 9; i++ {
		evs = append(evs, event("ups", fmt.Sprintf("1Z%d", i), tracking.InTransit, at.Add(time.Duration(i/3)*time.Second), nil))
	}
	if _, err := projection.New(pool).Apply(ctx, evs, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := lookup.New(pool)
	var got []string
	var after *lookup.Position
	for {
		page, err := r.List(ctx, lookup.Filter{}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Shipments {
			got = append(got, s.TrackingNumber)
		}
		if page.Next == nil {
			break
		}
		after = page.Next
	}
	want := []string{"1Z6", "1Z7", "1Z8", "1Z3", "1Z4", "1Z5", "1Z0", "1Z1", "1Z2"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if _, err := r.List(ctx, lookup.Filter{}, nil, 0); err == nil {
		t.Error("limit 0 accepted")
	}
}

func TestSearchGetTimelineCounts(t *testing.T) {
	pool := openDB(t, true)
	ctx := context.Background()
	at := time.Now().Add(-10 * time.Minute).UTC().Truncate(time.Second)
	evs := []tracking.Event{
		event("ups", "1ZA", tracking.InfoReceived, at, map[string]string{"order_id": "ORD-100"}),
		event("ups", "1ZA", tracking.Delivered, at.Add(time.Minute), nil),
		event("usps", "9400B", tracking.InTransit, at, map[string]string{"device_id": "ORD-1000"}),
		event("dhl", "JD1", tracking.InTransit, at, map[string]string{"partner_ref": "Zür\U0010FFFF-9"}),
	}
	if _, err := projection.New(pool).Apply(ctx, evs, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := lookup.New(pool)
	for q, want := range map[string]int{
		"ORD-100": 2, "ORD-1000": 1, "1za": 1, "9400": 1, "ord-100": 0, "zzz": 0,
		"Zü": 1, "Zür\U0010FFFF": 1, "Zür\U0010FFFF-9": 1, "Zür\U0010FFFF-99": 0, "Zu": 0,
	} {
		page, err := r.List(ctx, lookup.Filter{Query: q}, nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Shipments) != want {
			t.Errorf("q=%s: %d shipments, want %d", q, len(page.Shipments), want)
		}
	}
	s, err := r.Get(ctx, lookup.FormatKey("UPS", "1za"))
	if err != nil || s.Status != tracking.Delivered || s.EventCount != 2 || s.DeliveredAt == nil || s.References["order_id"] != "ORD-100" {
		t.Errorf("get: %+v %v", s, err)
	}
	if _, err := r.Get(ctx, "ups:NONE"); !errors.Is(err, lookup.ErrNotFound) {
		t.Errorf("unknown: %v", err)
	}
	tl, err := r.Timeline(ctx, "ups:1ZA")
	if err != nil || len(tl) != 2 || tl[0].Status != tracking.InfoReceived || tl[1].Status != tracking.Delivered {
		t.Errorf("timeline %+v %v", tl, err)
	}
	c, err := r.Counts(ctx)
	if err != nil || c.Total != 3 || c.ByStatus[tracking.Delivered] != 1 || c.ByCarrier["usps"] != 1 || c.Stalled != 0 {
		t.Errorf("counts %+v %v", c, err)
	}
	now := time.Now()
	rates, err := r.EventsPerMinute(ctx, now, 60)
	var sum int64
	for _, rt := range rates {
		sum += rt.Events
	}
	if err != nil || len(rates) != 60 || sum != 4 || !rates[59].Minute.Equal(now.UTC().Truncate(time.Minute)) {
		t.Errorf("rates: %d buckets, %d events, last %v, %v", len(rates), sum, rates[len(rates)-1].Minute, err)
	}
	if err := r.Ready(ctx); err != nil {
		t.Errorf("ready: %v", err)
	}
}

func TestNotMigrated(t *testing.T) {
	r := lookup.New(openDB(t, false))
	ctx := context.Background()
	if err := r.Ready(ctx); !errors.Is(err, lookup.ErrNotMigrated) {
		t.Errorf("ready: %v", err)
	}
	if _, err := r.List(ctx, lookup.Filter{}, nil, 10); !errors.Is(err, lookup.ErrNotMigrated) {
		t.Errorf("list: %v", err)
	}
	if _, err := r.Get(ctx, "ups:1"); !errors.Is(err, lookup.ErrNotMigrated) {
		t.Errorf("get: %v", err)
	}
	if _, _, err := r.Detail(ctx, "ups:1"); !errors.Is(err, lookup.ErrNotMigrated) {
		t.Errorf("detail: %v", err)
	}
	if _, err := r.List(ctx, lookup.Filter{Query: "ORD-1"}, nil, 10); !errors.Is(err, lookup.ErrNotMigrated) {
		t.Errorf("search: %v", err)
	}
}

// TestTimelineReadsEveryLocationField: the timeline reads the location's
// fields as columns, so a field added to tracking.Location must be added to
// the query too; this fails until it is.
func TestTimelineReadsEveryLocationField(t *testing.T) {
	pool := openDB(t, true)
	ctx := context.Background()
	var loc tracking.Location
	v := reflect.ValueOf(&loc).Elem()
	for i := range v.NumField() {
		if v.Field(i).Kind() != reflect.String {
			t.Fatalf("tracking.Location.%s is not a string: read it in TimelineSQL", v.Type().Field(i).Name)
		}
		v.Field(i).SetString(fmt.Sprintf("value %d", i))
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first := event("ups", "1ZLOC", tracking.InTransit, at, map[string]string{"order_id": "ORD-7"})
	first.Location = loc
	second := event("ups", "1ZLOC", tracking.OutForDelivery, at.Add(time.Hour), map[string]string{"partner_ref": "P-1"})
	third := event("ups", "1ZLOC", tracking.Delivered, at.Add(2*time.Hour), nil)
	if _, err := projection.New(pool).Apply(ctx, []tracking.Event{first, second, third}, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := lookup.New(pool)
	tl, err := r.Timeline(ctx, "ups:1ZLOC")
	if err != nil || len(tl) != 3 {
		t.Fatalf("timeline %+v %v", tl, err)
	}
	if tl[0].Location != loc || tl[1].Location != (tracking.Location{}) {
		t.Errorf("locations %+v, %+v; want %+v and none", tl[0].Location, tl[1].Location, loc)
	}
	// Each event has its own references, and none is an empty map.
	want := []map[string]string{{"order_id": "ORD-7"}, {"partner_ref": "P-1"}, {}}
	for i, e := range tl {
		if e.References == nil || !reflect.DeepEqual(e.References, want[i]) {
			t.Errorf("event %d: references %#v, want %#v", i, e.References, want[i])
		}
	}
	s, detail, err := r.Detail(ctx, "ups:1ZLOC")
	if err != nil || s.EventCount != 3 || !reflect.DeepEqual(detail, tl) {
		t.Errorf("detail %+v %+v %v, want the timeline %+v", s, detail, err, tl)
	}
	if _, _, err := r.Detail(ctx, "ups:NONE"); !errors.Is(err, lookup.ErrNotFound) {
		t.Errorf("detail of an unknown shipment: %v", err)
	}
}
