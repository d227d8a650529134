package projection_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestRebuildAndSwap(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One connection, so the statements Apply prepares before the swap are
	// the ones it runs after.
	cfg := migratedPool(t).Config()
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	s := projection.New(pool)

	rng := rand.New(rand.NewPCG(7, 7))
	events := randomEvents(rng, 1, 30)
	apply(t, s, events...)
	stalled := events[0].ShipmentKey
	if _, err := pool.Exec(ctx, "UPDATE waybill.shipments SET stalled_at = now() WHERE shipment_key = $1", stalled); err != nil {
		t.Fatal(err)
	}
	live := tableHash(t, pool, "waybill")

	rb, err := s.BeginRebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, batch := range randomBatches(rng, withDuplicates(rng, events)) {
		apply(t, rb, batch...)
	}
	if rebuilt := tableHash(t, pool, "waybill_rebuild"); rebuilt != live {
		t.Fatalf("rebuilt projection hashes %s, live %s", rebuilt, live)
	}

	// The live projector stores an event the replay does not reach.
	missed := event("ups", "LIVE1", tracking.InTransit, 0, "L")
	apply(t, s, missed)

	if err := rb.Swap(ctx); err != nil {
		t.Fatal(err)
	}

	var schemas []string
	rows, err := pool.Query(ctx, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'waybill%' ORDER BY 1")
	if err == nil {
		schemas, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || fmt.Sprint(schemas) != "[waybill]" {
		t.Errorf("schemas after the swap %v (err %v), want [waybill]", schemas, err)
	}
	var version int
	if err := pool.QueryRow(ctx, "SELECT version FROM waybill.schema_version").Scan(&version); err != nil || version != migrations(t) {
		t.Errorf("schema_version %d (err %v), want %d", version, err, migrations(t))
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := projection.Migrate(ctx, conn); err != nil {
		t.Errorf("migrate after the swap: %v", err)
	}

	// The swapped-in projection is the one the events make, the missed
	// event included, and the stall mark survived.
	fresh, freshPool := newStore(t)
	apply(t, fresh, append(events, missed)...)
	if got, want := tableHash(t, pool, "waybill"), tableHash(t, freshPool, "waybill"); got != want {
		t.Errorf("swapped projection hashes %s, want %s", got, want)
	}
	if shipment(t, pool, stalled).StalledAt == nil {
		t.Errorf("stall mark of unchanged shipment %s lost in the swap", stalled)
	}

	// The live store, statements prepared before the swap, writes the new tables.
	after := event("ups", "LIVE2", tracking.InTransit, 0, "L")
	apply(t, s, after)
	shipment(t, pool, after.ShipmentKey)
}

// TestSwapUnderLiveWrites: a live projector keeps writing while a rebuild
// replays and swaps; nothing it stored may be lost.
func TestSwapUnderLiveWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, pool := newStore(t)
	events := randomEvents(rand.New(rand.NewPCG(9, 9)), 1, 40)
	apply(t, s, events...)

	var (
		stored []string
		mu     sync.Mutex
		stop   atomic.Bool
		wg     sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load(); i++ {
			e := event("fedex", fmt.Sprintf("W%d", i%7), tracking.InTransit, i, fmt.Sprint(i))
			if _, err := s.Apply(ctx, []tracking.Event{e}, time.Now()); err != nil {
				t.Errorf("live apply: %v", err)
				continue
			}
			mu.Lock()
			stored = append(stored, e.ID)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { stop.Store(true); wg.Wait() })

	rb, err := s.BeginRebuild(ctx)
	if err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(stored)
	}
	// Live writes the replay does not see, then more after the swap.
	began := writes()
	apply(t, rb, events...)
	checkFor(t, 10*time.Second, func() bool { return writes() >= began+20 })
	if err := rb.Swap(ctx); err != nil {
		t.Fatal(err)
	}
	swapped := writes()
	checkFor(t, 10*time.Second, func() bool { return writes() >= swapped+20 })
	stop.Store(true)
	wg.Wait()

	var missing int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM unnest($1::text[]) AS s(id)
		WHERE NOT EXISTS (SELECT FROM waybill.shipment_events e WHERE e.id = s.id)`, stored).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	var inconsistent int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM waybill.shipments s
		WHERE event_count <> (SELECT count(*) FROM waybill.shipment_events e WHERE e.shipment_key = s.shipment_key)`).Scan(&inconsistent); err != nil {
		t.Fatal(err)
	}
	if missing > 0 || inconsistent > 0 {
		t.Errorf("%d live writes, %d lost in the swap, %d shipments rows out of step with their events",
			len(stored), missing, inconsistent)
	}
}

// checkFor polls ok until it holds or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", timeout)
		}
	}
}

func tableHash(t *testing.T, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	h, err := projection.TableHash(context.Background(), pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
