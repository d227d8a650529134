package projection_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// TestApplyIsAPureFunctionOfTheEventSet applies random event sets twice:
// once sorted in one batch, once shuffled, repeated and cut into random
// batches written by four concurrent writers. Both tables must equal each
// other and a model of the contract built on tracking.Before.
func TestApplyIsAPureFunctionOfTheEventSet(t *testing.T) {
	t.Parallel()
	canonical, canonicalPool := newStore(t)
	shuffled, shuffledPool := newStore(t)

	const seeds, shipmentsPerSeed = 40, 50
	want := map[string]shipmentRow{}
	for seed := 1; seed <= seeds; seed++ {
		rng := rand.New(rand.NewPCG(uint64(seed), 42))
		events := randomEvents(rng, seed, shipmentsPerSeed)
		for k, row := range model(events) {
			want[k] = row
		}

		sorted := slices.Clone(events)
		slices.SortFunc(sorted, func(a, b tracking.Event) int {
			if tracking.Before(&a, &b) {
				return -1
			}
			return 1
		})
		if res := apply(t, canonical, sorted...); res.Inserted != len(events) || res.Duplicates != 0 {
			t.Fatalf("seed %d: sorted batch: %+v, want %d inserted", seed, res, len(events))
		}

		stream := withDuplicates(rng, events)
		res := applyConcurrently(t, shuffled, randomBatches(rng, stream), 4)
		if res.Inserted != len(events) || res.Duplicates != len(stream)-len(events) {
			t.Fatalf("seed %d: shuffled batches: %+v, want %d inserted, %d duplicates",
				seed, res, len(events), len(stream)-len(events))
		}
	}

	t.Log("applied", time.Now())
	got := shipmentRows(t, canonicalPool, projection.Schema)
	compareRows(t, "sorted, one batch", got, want)
	compareRows(t, "shuffled, repeated, batched", shipmentRows(t, shuffledPool, projection.Schema), want)

	// A second replay of everything changes nothing, not even updated_at.
	var before, after time.Time
	maxUpdated := "SELECT max(updated_at) FROM waybill.shipments"
	if err := canonicalPool.QueryRow(context.Background(), maxUpdated).Scan(&before); err != nil {
		t.Fatal(err)
	}
	for seed := 1; seed <= seeds; seed++ {
		events := randomEvents(rand.New(rand.NewPCG(uint64(seed), 42)), seed, shipmentsPerSeed)
		if res := apply(t, canonical, events...); res.Inserted != 0 {
			t.Fatalf("replay inserted %d events", res.Inserted)
		}
	}
	if err := canonicalPool.QueryRow(context.Background(), maxUpdated).Scan(&after); err != nil {
		t.Fatal(err)
	}
	compareRows(t, "replayed", shipmentRows(t, canonicalPool, projection.Schema), want)
	if !after.Equal(before) {
		t.Errorf("a replay of known events rewrote rows: updated_at %v -> %v", before, after)
	}
}

// randomEvents makes events for n shipments with few distinct times (so
// times tie and rank, then id, decide), clashing references and estimates.
func randomEvents(rng *rand.Rand, seed, n int) []tracking.Event {
	carriers := []string{"usps", "ups", "fedex"}
	var events []tracking.Event
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		carrier, number := carriers[rng.IntN(len(carriers))], fmt.Sprintf("S%dN%d", seed, i)
		for range 1 + rng.IntN(10) {
			status := tracking.Statuses[rng.IntN(len(tracking.Statuses))]
			e := event(carrier, number, status, 60*rng.IntN(5), fmt.Sprintf("c%d", rng.IntN(3)))
			if seen[e.ID] {
				continue // one id, one content: the stream dedups upstream
			}
			seen[e.ID] = true
			if rng.IntN(2) == 0 {
				e.EstimatedDelivery = fmt.Sprintf("2025-10-%02d", 21+rng.IntN(9))
			}
			for _, name := range []string{"order_id", "partner_ref", "device_id"} {
				if rng.IntN(3) == 0 {
					if e.References == nil {
						e.References = map[string]string{}
					}
					e.References[name] = fmt.Sprintf("%s-%d", name, rng.IntN(4))
				}
			}
			events = append(events, e)
		}
	}
	return events
}

// withDuplicates shuffles events with a third of them repeated up to thrice.
func withDuplicates(rng *rand.Rand, events []tracking.Event) []tracking.Event {
	stream := slices.Clone(events)
	for _, e := range events {
		if rng.IntN(3) == 0 {
			for range 1 + rng.IntN(3) {
				stream = append(stream, e)
			}
		}
	}
	rng.Shuffle(len(stream), func(i, j int) { stream[i], stream[j] = stream[j], stream[i] })
	return stream
}

func randomBatches(rng *rand.Rand, stream []tracking.Event) [][]tracking.Event {
	var batches [][]tracking.Event
	for len(stream) > 0 {
		n := min(1+rng.IntN(60), len(stream))
		batches = append(batches, stream[:n])
		stream = stream[n:]
	}
	return batches
}

func applyConcurrently(t *testing.T, s *projection.Store, batches [][]tracking.Event, writers int) projection.Result {
	t.Helper()
	work := make(chan []tracking.Event)
	var (
		mu    sync.Mutex
		total projection.Result
		errs  []error
		wg    sync.WaitGroup
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range work {
				res, err := s.Apply(context.Background(), batch, time.Now())
				mu.Lock()
				total.Inserted += res.Inserted
				total.Duplicates += res.Duplicates
				if err != nil {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, b := range batches {
		work <- b
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return total
}

// model is the contract of waybill.shipments, in Go.
func model(events []tracking.Event) map[string]shipmentRow {
	byKey := map[string][]tracking.Event{}
	for _, e := range events {
		byKey[e.ShipmentKey] = append(byKey[e.ShipmentKey], e)
	}
	rows := map[string]shipmentRow{}
	for key, evs := range byKey {
		sort.Slice(evs, func(i, j int) bool { return tracking.Before(&evs[i], &evs[j]) })
		last := evs[len(evs)-1]
		row := shipmentRow{
			ShipmentKey: key, Carrier: last.Carrier, TrackingNumber: last.TrackingNumber,
			Status: string(last.Status), StatusRank: int16(last.Status.Rank()),
			StatusAt: last.OccurredAt, LastEventID: last.ID,
			Refs: map[string]string{}, EventCount: int32(len(evs)), FirstSeenAt: evs[0].OccurredAt,
		}
		if last.Status == tracking.Delivered {
			at := last.OccurredAt
			row.DeliveredAt = &at
		}
		for _, e := range evs {
			if e.EstimatedDelivery != "" {
				est := e.EstimatedDelivery
				row.EstimatedDelivery = &est
			}
			for k, v := range e.References {
				row.Refs[k] = v
			}
		}
		rows[key] = row
	}
	return rows
}

func compareRows(t *testing.T, what string, got, want map[string]shipmentRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d shipments, want %d", what, len(got), len(want))
	}
	bad := 0
	for key, w := range want {
		if g := got[key]; !reflect.DeepEqual(g, w) && bad < 5 {
			bad++
			t.Errorf("%s: shipment %s:\n got %s\nwant %s", what, key, jsonString(g), jsonString(w))
		}
	}
}
