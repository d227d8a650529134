package lookup_test

import (
	"context"
	"errors"
	"fmt"
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
	}
	if _, err := projection.New(pool).Apply(ctx, evs, time.Now()); err != nil {
		t.Fatal(err)
	}
	r := lookup.New(pool)
	for q, want := range map[string]int{"ORD-100": 2, "ORD-1000": 1, "1za": 1, "9400": 1, "ord-100": 0, "zzz": 0} {
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
	if err != nil || c.Total != 2 || c.ByStatus[tracking.Delivered] != 1 || c.ByCarrier["usps"] != 1 || c.Stalled != 0 {
		t.Errorf("counts %+v %v", c, err)
	}
	now := time.Now()
	rates, err := r.EventsPerMinute(ctx, now, 60)
	var sum int64
	for _, rt := range rates {
		sum += rt.Events
	}
	if err != nil || len(rates) != 60 || sum != 3 || !rates[59].Minute.Equal(now.UTC().Truncate(time.Minute)) {
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
}
