package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// The machine's limits, measured in the same run against the same server:
// the raw operations the pipeline's figures are divided by.

const benchStream = "BENCH"

func ensureBenchStream(ctx context.Context, js jetstream.JetStream) error {
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: benchStream, Subjects: []string{"bench.>"},
		Storage: jetstream.FileStorage, Duplicates: 2 * time.Minute})
	return err
}

// rawSyncPublish is the ingress's limit: clients goroutines publishing the
// workload's bodies synchronously, with message ids, for d.
func rawSyncPublish(js jetstream.JetStream, bodies [][]byte, clients int, d time.Duration) float64 {
	var ok atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := "sync-" + strconv.Itoa(c) + "-"
			for i := c; time.Now().Before(deadline); i += clients {
				_, err := js.Publish(context.Background(), "bench.sync", bodies[i%len(bodies)], jetstream.WithMsgID(prefix+strconv.Itoa(i)))
				if err == nil {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds()
}

// rawAsyncPublish publishes payloads pipelined from one goroutine (at most
// 4096 unacknowledged), with message ids, for d, and counts the acks.
func rawAsyncPublish(nc *nats.Conn, payloads [][]byte, tag string, d time.Duration) (float64, error) {
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return 0, err
	}
	deadline := time.Now().Add(d)
	start := time.Now()
	n := 0
	for ; time.Now().Before(deadline); n++ {
		if _, err := js.PublishAsync("bench."+tag, payloads[n%len(payloads)], jetstream.WithMsgID(tag+"-"+strconv.Itoa(n)), jetstream.WithStallWait(30*time.Second)); err != nil {
			return 0, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return 0, fmt.Errorf("async publish: acks not complete after 30s")
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// rawUpsertSQL is the raw Postgres limit of the projection (the statement
// of pkg/projection's and services/projector's benchmarks): the event rows
// inserted and each shipment's row upserted from its batch's latest event in
// one statement, with no history read, lock, guard or reference index.
const rawUpsertSQL = `
WITH b AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
		$6::smallint[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
		$11::text[], $12::text[], $13::text[], $14::text[], $15::boolean[],
		$16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
		$21::boolean[])
		AS b(id, shipment_key, carrier, tracking_number, status, status_rank,
			substatus, carrier_status, message, occurred_at, occurred_at_precision,
			local_time, timezone, timezone_source, timezone_inferred, location,
			source, raw_event_id, refs, estimated_delivery, late)
), inserted AS (
	INSERT INTO waybill.shipment_events (id, shipment_key, carrier, tracking_number,
		status, status_rank, substatus, carrier_status, message, occurred_at,
		occurred_at_precision, local_time, timezone, timezone_source,
		timezone_inferred, location, source, raw_event_id, refs,
		estimated_delivery, late, received_at)
	SELECT id, shipment_key, carrier, tracking_number, status, status_rank,
		substatus, carrier_status, message, occurred_at, occurred_at_precision,
		local_time, timezone, timezone_source, timezone_inferred, location::jsonb,
		source, raw_event_id, refs::jsonb, estimated_delivery, late, $22
	FROM b
	ON CONFLICT (id) DO NOTHING
)
INSERT INTO waybill.shipments AS s (shipment_key, carrier, tracking_number, status,
	status_rank, status_at, last_event_id, estimated_delivery, refs, event_count,
	first_seen_at)
SELECT DISTINCT ON (shipment_key) shipment_key, carrier, tracking_number, status,
	status_rank, occurred_at, id, estimated_delivery, refs::jsonb, 1, occurred_at
FROM b
ORDER BY shipment_key, occurred_at DESC
ON CONFLICT (shipment_key) DO UPDATE SET
	status = excluded.status, status_rank = excluded.status_rank,
	status_at = excluded.status_at, last_event_id = excluded.last_event_id,
	estimated_delivery = excluded.estimated_delivery, refs = excluded.refs,
	event_count = s.event_count + 1, updated_at = now()`

// upsertArgs are the columns of events as the projection writes them.
func upsertArgs(events []tracking.Event) ([]any, error) {
	n := len(events)
	var (
		ids, keys, carriers, numbers, statuses = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		ranks                                  = make([]int16, n)
		subs, codes, messages                  = make([]string, n), make([]string, n), make([]string, n)
		at                                     = make([]time.Time, n)
		precisions, locals, zones, zoneSources = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		inferred, late                         = make([]bool, n), make([]bool, n)
		locations, sources, rawIDs, refs, eta  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	)
	for i, e := range events {
		loc, err := json.Marshal(e.Location)
		if err != nil {
			return nil, err
		}
		ref := []byte("{}")
		if len(e.References) > 0 {
			if ref, err = json.Marshal(e.References); err != nil {
				return nil, err
			}
		}
		ids[i], keys[i], carriers[i], numbers[i], statuses[i] = e.ID, e.ShipmentKey, e.Carrier, e.TrackingNumber, string(e.Status)
		ranks[i] = int16(e.Status.Rank())
		subs[i], codes[i], messages[i], at[i] = e.Substatus, e.CarrierStatus, e.Message, e.OccurredAt
		precisions[i], locals[i], zones[i], zoneSources[i] = string(e.OccurredAtPrecision), e.LocalTime, e.Timezone, string(e.TimezoneSource)
		inferred[i], late[i] = e.TimezoneInferred, e.Late
		locations[i], sources[i], rawIDs[i], refs[i], eta[i] = string(loc), e.Source, e.RawEventID, string(ref), e.EstimatedDelivery
	}
	return []any{ids, keys, carriers, numbers, statuses, ranks, subs, codes, messages, at,
		precisions, locals, zones, zoneSources, inferred, locations, sources, rawIDs, refs, eta, late, time.Now()}, nil
}

// rawUpsert is the replay's limit: the same events written by the bare
// statement in batches of batch, from 2 and from 4 writers into empty
// tables of a scratch database; the faster counts (events per second).
func rawUpsert(ctx context.Context, pool *pgxpool.Pool, events []tracking.Event, batch int) (float64, int, error) {
	var args [][]any
	for from := 0; from < len(events); from += batch {
		a, err := upsertArgs(events[from:min(from+batch, len(events))])
		if err != nil {
			return 0, 0, err
		}
		args = append(args, a)
	}
	var rates []float64
	for _, writers := range []int{2, 4} {
		if _, err := pool.Exec(ctx, "TRUNCATE waybill.shipment_events, waybill.shipments, waybill.shipment_refs"); err != nil {
			return 0, 0, err
		}
		var (
			next     atomic.Int64
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
		)
		start := time.Now()
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < len(args); i = int(next.Add(1)) - 1 {
					if _, err := pool.Exec(ctx, rawUpsertSQL, args[i]...); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
						return
					}
				}
			}()
		}
		wg.Wait()
		if firstErr != nil {
			return 0, 0, fmt.Errorf("raw upsert: %w", firstErr)
		}
		rates = append(rates, float64(len(events))/time.Since(start).Seconds())
	}
	best := slices.Max(rates)
	return best, []int{2, 4}[slices.Index(rates, best)], nil
}
