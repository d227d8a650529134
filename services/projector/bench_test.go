package projector_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/projector"
)

// The replay benchmark: SHIPMENTS pre-filled with benchShipments ×
// benchSteps events (the normalizer's order, one in fifty late), replayed
// into empty tables through projector.Replay with its defaults (ordered
// consumer, decode, projection.Store.Apply; 1000 events per transaction, 2
// at once); beside it, in the same run, the raw Postgres limit for the same
// rows: the same event rows inserted and each shipment's row upserted from
// its batch's latest event in one statement (no history read, lock, guard
// or reference index), arguments prepared beforehand, into empty tables, in
// batches of benchBatch from 2 and from 4 writers, the faster counting.
// Rounds alternate the phases, since the machine drifts.
const (
	benchShipments = 12000
	benchSteps     = 5
	benchBatch     = 1000
)

func BenchmarkReplay(b *testing.B) {
	ctx := context.Background()
	srv := natstest.Start(b)
	_, js := srv.Connect()
	url := pgtest.Database(b)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	if err := projection.Migrate(ctx, conn); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()

	events := historyLate(benchShipments, benchSteps, 50)
	publishAll(b, js, events)
	var args [][]any
	for from := 0; from < len(events); from += benchBatch {
		args = append(args, rawArgs(b, events[from:min(from+benchBatch, len(events))]))
	}
	store := projection.New(pool)

	rawWriters := []int{2, 4}
	rawTime := make([]time.Duration, len(rawWriters))
	var replayTime time.Duration
	b.ResetTimer()
	for range b.N {
		for i, w := range rawWriters {
			b.StopTimer()
			truncate(b, pool)
			b.StartTimer()
			start := time.Now()
			rawWrite(b, pool, args, w)
			rawTime[i] += time.Since(start)
		}

		b.StopTimer()
		rb, err := store.BeginRebuild(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		res, err := projector.Replay(ctx, js, rb, projector.ReplayOptions{})
		replayTime += time.Since(start)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if res.Inserted != len(events) {
			b.Fatalf("replay inserted %d events, want %d", res.Inserted, len(events))
		}
		if err := rb.Abort(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N * len(events))
	raw := n / slices.Min(rawTime).Seconds()
	replay := n / replayTime.Seconds()
	b.ReportMetric(raw, "raw-events/s")
	b.ReportMetric(replay, "replay-events/s")
	b.ReportMetric(replay/raw, "replay/raw")
}

// publishAll stores events on SHIPMENTS, pipelined.
func publishAll(b *testing.B, js jetstream.JetStream, events []tracking.Event) {
	b.Helper()
	var futures []jetstream.PubAckFuture
	for i := range events {
		msg, err := shipments.Message(events[i].Subject(), &events[i])
		if err != nil {
			b.Fatal(err)
		}
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			b.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			b.Fatal(err)
		}
	}
}

func truncate(b *testing.B, pool *pgxpool.Pool) {
	b.Helper()
	if _, err := pool.Exec(context.Background(),
		"TRUNCATE waybill.shipment_events, waybill.shipments, waybill.shipment_refs"); err != nil {
		b.Fatal(err)
	}
}

// rawWrite runs the prepared batches from writers goroutines.
func rawWrite(b *testing.B, pool *pgxpool.Pool, batches [][]any, writers int) {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(batches); i = int(next.Add(1)) - 1 {
				if _, err := pool.Exec(context.Background(), rawUpsertSQL, batches[i]...); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// rawArgs are the columns of events as projection.Store.Apply sends them.
func rawArgs(b *testing.B, events []tracking.Event) []any {
	b.Helper()
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
			b.Fatal(err)
		}
		ref := []byte("{}")
		if len(e.References) > 0 {
			ref, _ = json.Marshal(e.References)
		}
		ids[i], keys[i], carriers[i], numbers[i], statuses[i] = e.ID, e.ShipmentKey, e.Carrier, e.TrackingNumber, string(e.Status)
		ranks[i] = int16(e.Status.Rank())
		subs[i], codes[i], messages[i], at[i] = e.Substatus, e.CarrierStatus, e.Message, e.OccurredAt
		precisions[i], locals[i], zones[i], zoneSources[i] = string(e.OccurredAtPrecision), e.LocalTime, e.Timezone, string(e.TimezoneSource)
		inferred[i], late[i] = e.TimezoneInferred, e.Late
		locations[i], sources[i], rawIDs[i], refs[i], eta[i] = string(loc), e.Source, e.RawEventID, string(ref), e.EstimatedDelivery
	}
	return []any{ids, keys, carriers, numbers, statuses, ranks, subs, codes, messages, at,
		precisions, locals, zones, zoneSources, inferred, locations, sources, rawIDs, refs, eta, late, time.Now()}
}

// rawUpsertSQL is pkg/projection's raw limit statement (bench_test.go).
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

// BenchmarkLowLoadLatency runs the projector with its defaults at low load
// (one event every 5 ms, 200 per second) and reports the 50th and 99th
// percentile of the time from an event's storage on SHIPMENTS to its
// batch's commit, as the upper bounds of the latency histogram's buckets
// (1, 2, 4, 8, 16, 32, 64 ms...). A warm-up of 100 events (connections,
// plans) is left out.
func BenchmarkLowLoadLatency(b *testing.B) {
	srv := natstest.Start(b)
	_, js := srv.Connect()
	env := service.EnvFrom(map[string]string{
		"NATS_URL": srv.URL(), "DATABASE_URL": pgtest.Database(b), "HTTP_ADDR": "127.0.0.1:0",
	})
	cfg := projector.LoadConfig(env)
	if err := env.Err(); err != nil {
		b.Fatal(err)
	}
	ops := service.NewOps()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- projector.Run(ctx, cfg, zerolog.Nop(), ops) }()
	defer func() { cancel(); <-done }()

	const warmup = 100
	events := historyLate((warmup+b.N*400)/benchSteps+1, benchSteps, 50)[:warmup+b.N*400]
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	publish := func(events []tracking.Event) {
		for i := range events {
			<-tick.C
			msg, err := shipments.Message(events[i].Subject(), &events[i])
			if err != nil {
				b.Fatal(err)
			}
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	}
	publish(events[:warmup])
	base := waitLatencies(b, ops, warmup)
	b.ResetTimer()
	publish(events[warmup:])
	all := waitLatencies(b, ops, len(events))
	b.StopTimer()
	for i := range all.counts {
		all.counts[i] -= base.counts[i]
	}
	b.ReportMetric(all.quantile(0.50)*1000, "p50-ms≤")
	b.ReportMetric(all.quantile(0.99)*1000, "p99-ms≤")
}

// latencies is a snapshot of the latency histogram's cumulative buckets.
type latencies struct {
	bounds []float64
	counts []uint64
}

func (l latencies) quantile(q float64) float64 {
	total := l.counts[len(l.counts)-1]
	for i, c := range l.counts {
		if float64(c) >= q*float64(total) {
			return l.bounds[i]
		}
	}
	return l.bounds[len(l.bounds)-1]
}

// waitLatencies waits until n events were committed and returns the
// histogram then.
func waitLatencies(b *testing.B, ops *service.Ops, n int) latencies {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mfs, err := ops.Registry.Gather()
		if err != nil {
			b.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() != "waybill_projector_latency_seconds" {
				continue
			}
			h := mf.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() < uint64(n) {
				break
			}
			var l latencies
			for _, bk := range h.GetBucket() {
				l.bounds = append(l.bounds, bk.GetUpperBound())
				l.counts = append(l.counts, bk.GetCumulativeCount())
			}
			l.bounds = append(l.bounds, math.Inf(1))
			l.counts = append(l.counts, h.GetSampleCount())
			return l
		}
		if time.Now().After(deadline) {
			b.Fatalf("fewer than %d events committed", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
