package projection_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// A bulk rebuild fed the events shuffled, repeated and cut into batches
// written at once is, after Finish, the projection Store.Apply makes of
// them: the same rows (by TableHash, and by the Go model of the contract),
// the same indexes; until Finish it has the events and no shipments rows.
// After Finish it applies events as Store.Apply does, and the swap brings
// it in as it is.
func TestBulkRebuildMatchesApply(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)

	var events []tracking.Event
	for seed := 1; seed <= 20; seed++ {
		events = append(events, randomEvents(rand.New(rand.NewPCG(uint64(seed), 11)), seed, 40)...)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	// The live projection, written as the projector writes it: in stream
	// order, late events included.
	for _, batch := range randomBatches(rng, withDuplicates(rng, events)) {
		apply(t, s, batch...)
	}
	live := tableHash(t, pool, projection.Schema)

	rb, err := s.BeginRebuild(ctx, projection.BulkLoad())
	if err != nil {
		t.Fatal(err)
	}
	stream := withDuplicates(rng, events)
	res := applyAll(t, rb, randomBatches(rng, stream), 4)
	if res.Inserted != len(events) || res.Duplicates != len(stream)-len(events) {
		t.Fatalf("bulk load: %+v, want %d inserted, %d duplicates", res, len(events), len(stream)-len(events))
	}
	if n := count(t, pool, "waybill_rebuild.shipments"); n != 0 {
		t.Errorf("%d shipments rows before Finish, want none yet", n)
	}
	if err := rb.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rb.Finish(ctx); err != nil {
		t.Fatalf("Finish again: %v", err)
	}
	if got := tableHash(t, pool, "waybill_rebuild"); got != live {
		t.Errorf("bulk rebuild hashes %s, live %s", got, live)
	}
	compareRows(t, "bulk rebuild", shipmentRows(t, pool, "waybill_rebuild"), model(events))
	if got, want := indexes(t, pool, "waybill_rebuild"), indexes(t, pool, projection.Schema); !slices.Equal(got, want) {
		t.Errorf("indexes of the rebuild:\n%s\nwant those of the live projection:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Finished, it folds new and late events like the live store.
	more := []tracking.Event{
		event("ups", "BULK1", tracking.InTransit, 10, "n1"),
		event(events[0].Carrier, events[0].TrackingNumber, tracking.InfoReceived, -600, "late"),
		event(events[0].Carrier, events[0].TrackingNumber, tracking.Delivered, 6000, "new"),
	}
	apply(t, s, more...)
	if res := apply(t, rb, append(more, events[:5]...)...); res.Inserted != len(more) {
		t.Errorf("apply after Finish: %+v, want %d inserted", res, len(more))
	}
	live = tableHash(t, pool, projection.Schema)
	if got := tableHash(t, pool, "waybill_rebuild"); got != live {
		t.Errorf("after more events, bulk rebuild hashes %s, live %s", got, live)
	}
	if err := rb.Swap(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tableHash(t, pool, projection.Schema); got != live {
		t.Errorf("swapped in, the projection hashes %s, want %s", got, live)
	}
}

// Swap finishes a bulk rebuild first, and a Finish whose steps failed
// runs the failed ones again, not those that committed.
func TestBulkRebuildFinishRetriesAndSwap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	events := randomEvents(rand.New(rand.NewPCG(5, 5)), 1, 60)
	apply(t, s, events...)
	live := tableHash(t, pool, projection.Schema)

	rb, err := s.BeginRebuild(ctx, projection.BulkLoad())
	if err != nil {
		t.Fatal(err)
	}
	applyAll(t, rb, randomBatches(rand.New(rand.NewPCG(6, 6)), events), 2)
	// A row in the way: deriving the shipments fails on its key.
	if _, err := pool.Exec(ctx, `INSERT INTO waybill_rebuild.shipments (shipment_key, carrier, tracking_number,
		status, status_rank, status_at, last_event_id, event_count, first_seen_at)
		VALUES ($1, 'x', 'x', 'in_transit', 0, now(), 'x', 1, now())`, events[0].ShipmentKey); err != nil {
		t.Fatal(err)
	}
	err = rb.Finish(ctx)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("Finish with a row in the way: %v, want a unique violation", err)
	}
	refs := count(t, pool, "waybill_rebuild.shipment_refs")
	if refs == 0 {
		t.Fatal("the references step did not commit beside the failed one")
	}
	if _, err := pool.Exec(ctx, "DELETE FROM waybill_rebuild.shipments"); err != nil {
		t.Fatal(err)
	}
	if err := rb.Swap(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, pool, "waybill.shipment_refs"); got != refs {
		t.Errorf("%d references after the retry, %d before: the step ran twice?", got, refs)
	}
	if got := tableHash(t, pool, projection.Schema); got != live {
		t.Errorf("swapped-in bulk rebuild hashes %s, live was %s", got, live)
	}
	if got, want := len(indexes(t, pool, projection.Schema)), len(indexes(t, migratedPool(t), projection.Schema)); got != want {
		t.Errorf("%d indexes after the swap, a migrated schema has %d", got, want)
	}
}

// applyAll applies batches from writers goroutines at once and sums the
// results.
func applyAll(t *testing.T, s interface {
	Apply(context.Context, []tracking.Event, time.Time) (projection.Result, error)
}, batches [][]tracking.Event, writers int) projection.Result {
	t.Helper()
	var (
		mu    sync.Mutex
		total projection.Result
		wg    sync.WaitGroup
		work  = make(chan []tracking.Event)
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				res, err := s.Apply(context.Background(), batch, time.Now())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total.Inserted += res.Inserted
				total.Duplicates += res.Duplicates
				mu.Unlock()
			}
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	return total
}

func count(t *testing.T, pool *pgxpool.Pool, table string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// indexes are the definitions of the indexes in schema, the schema's name
// left out.
func indexes(t *testing.T, pool *pgxpool.Pool, schema string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(),
		"SELECT replace(indexdef, $1, 'S.') FROM pg_indexes WHERE schemaname = $2 ORDER BY indexname",
		schema+".", schema)
	if err != nil {
		t.Fatal(err)
	}
	defs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return defs
}
