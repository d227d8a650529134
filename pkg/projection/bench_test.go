package projection_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Benchmarks write batches of distinct new events from benchWriters
// goroutines, like REFERENCE.md's raw Postgres figure (4 clients). Events go
// to benchShipments shipments round-robin, so each batch touches as many
// shipments as it has events and every shipment gains history as the run
// goes on (after a preload of two events each), as in steady operation.
// One event in benchLateEvery is late: older than its shipment's state.
const (
	benchWriters   = 4
	benchShipments = 20000
	benchLateEvery = 50
)

var benchStatuses = []tracking.Status{
	tracking.InfoReceived, tracking.InTransit, tracking.InTransit, tracking.InTransit,
	tracking.OutForDelivery, tracking.Delivered,
}

// benchEvents makes events number from..from+n-1 of the sequence.
func benchEvents(from, n int) []tracking.Event {
	events := make([]tracking.Event, n)
	for i := range events {
		seq := from + i
		key := seq % benchShipments
		e := tracking.Event{
			Carrier: "ups", TrackingNumber: fmt.Sprintf("1Z%010d", key),
			Status:        benchStatuses[seq/benchShipments%len(benchStatuses)],
			CarrierStatus: "AR", Message: "Arrived at Facility",
			OccurredAt:          t0.Add(time.Duration(seq) * time.Second),
			OccurredAtPrecision: tracking.PrecisionSecond,
			LocalTime:           "2025-10-20T08:00:00", Timezone: "America/Chicago",
			TimezoneSource: tracking.ZoneFromZIP, TimezoneInferred: true,
			Location: tracking.Location{City: "Chicago", State: "IL", PostalCode: "60601", Country: "US"},
			Source:   "wineshipping", RawEventID: fmt.Sprintf("evt_%d", seq),
			References: map[string]string{"order_id": fmt.Sprintf("ORD-%d", key)},
		}
		if seq%3 == 0 {
			e.EstimatedDelivery = "2025-10-24"
		}
		if seq%benchLateEvery == 0 && seq >= 2*benchShipments {
			e.OccurredAt = e.OccurredAt.Add(-3 * benchShipments / 2 * time.Second)
		}
		e.Normalize()
		events[i] = e
	}
	return events
}

// benchDB is a migrated database holding the preload, and where the
// event sequence continues.
type benchDB struct {
	pool *pgxpool.Pool
	next int
}

func newBenchDB(b *testing.B) *benchDB {
	pool := migratedPool(b)
	s := projection.New(pool)
	ctx := context.Background()
	const preload = 2 * benchShipments
	for from := 0; from < preload; from += 2000 {
		if _, err := s.Apply(ctx, benchEvents(from, 2000), time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, "ANALYZE"); err != nil {
		b.Fatal(err)
	}
	return &benchDB{pool: pool, next: preload}
}

// run writes b.N batches of size events through write and reports events/s.
func (db *benchDB) run(b *testing.B, size int, write func(ctx context.Context, events []tracking.Event) error) {
	batches := make([][]tracking.Event, b.N)
	for i := range batches {
		batches[i] = benchEvents(db.next, size)
		db.next += size
	}
	ctx := context.Background()
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	for range benchWriters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(batches); i = int(next.Add(1)) - 1 {
				if err := write(ctx, batches[i]); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
}

var benchSizes = []int{200, 1000}

func BenchmarkApply(b *testing.B) {
	db := newBenchDB(b)
	s := projection.New(db.pool)
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db.run(b, size, func(ctx context.Context, events []tracking.Event) error {
				_, err := s.Apply(ctx, events, time.Now())
				return err
			})
		})
	}
}

// BenchmarkRawUpsert is the raw Postgres limit Apply is measured against
// (projection.RawUpsert): the same event rows, prepared and written by the
// bare statement within the timed write, as Apply prepares and writes them.
func BenchmarkRawUpsert(b *testing.B) {
	db := newBenchDB(b)
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db.run(b, size, func(ctx context.Context, events []tracking.Event) error {
				batch, err := projection.NewRawBatch(events, time.Now())
				if err != nil {
					return err
				}
				return projection.RawUpsert(ctx, db.pool, projection.Schema, []projection.RawBatch{batch}, 1)
			})
		})
	}
}
