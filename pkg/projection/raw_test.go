package projection_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// The raw upsert (the benchmarks' limit) writes every event row and one
// shipments row per shipment, from several writers.
func TestRawUpsert(t *testing.T) {
	pool := migratedPool(t)
	ctx := context.Background()
	var events []tracking.Event
	for i := range 30 {
		events = append(events, event("ups", fmt.Sprintf("1Z%d", i%7), tracking.InTransit, i, fmt.Sprint("S", i)))
	}
	batches, err := projection.RawBatches(events, 4, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 8 || batches[7].Len() != 2 {
		t.Fatalf("%d batches, the last of %d events; want 8, the last of 2", len(batches), batches[len(batches)-1].Len())
	}
	if err := projection.RawUpsert(ctx, pool, projection.Schema, batches, 3); err != nil {
		t.Fatal(err)
	}
	var nEvents, nShipments int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM waybill.shipment_events), (SELECT count(*) FROM waybill.shipments)`).Scan(&nEvents, &nShipments); err != nil {
		t.Fatal(err)
	}
	if nEvents != 30 || nShipments != 7 {
		t.Errorf("%d events, %d shipments; want 30, 7", nEvents, nShipments)
	}
	if err := projection.RawUpsert(ctx, pool, "no_such_schema", batches[:1], 1); err == nil {
		t.Error("a raw upsert into a missing schema must fail")
	}
	if _, err := projection.RawBatches(events, 0, time.Now()); err == nil {
		t.Error("batch size 0 must fail")
	}
}
