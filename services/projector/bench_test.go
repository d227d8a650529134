package projector_test

import (
	"context"
	"math"
	"slices"
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
// through projector.Replay with its defaults (ordered consumer, decode, 1000
// events per transaction, 2 at once) into a bulk rebuild, as `waybill
// replay projection` runs it (projection.BulkLoad: the events loaded, then
// the shipments rows, references and indexes derived by Finish, inside the
// timed replay); beside it, in the same run, the raw Postgres limit for
// the same rows (projection.RawUpsert: the same event rows inserted and
// each shipment's row upserted from its batch's latest event in one
// statement, no history read, lock, guard or reference index), batches
// prepared beforehand, into empty tables, in batches of benchBatch from 2
// and from 4 writers, the faster counting.
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
	batches, err := projection.RawBatches(events, benchBatch, time.Now())
	if err != nil {
		b.Fatal(err)
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
			if err := projection.RawUpsert(ctx, pool, projection.Schema, batches, w); err != nil {
				b.Error(err)
			}
			rawTime[i] += time.Since(start)
		}

		b.StopTimer()
		rb, err := store.BeginRebuild(ctx, projection.BulkLoad())
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
		f, err := js.PublishMsgAsync(msg, jetstream.WithStallWait(time.Minute)) // a busy machine acks slowly
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
