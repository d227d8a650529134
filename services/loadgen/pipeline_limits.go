package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/projection"
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

// rawUpsert is the replay's limit (projection.RawUpsert, the statement of
// pkg/projection's and services/projector's benchmarks): the same events
// written by the bare statement in batches of batch, from 2 and from 4
// writers into empty tables of a scratch database; the faster counts
// (events per second).
func rawUpsert(ctx context.Context, pool *pgxpool.Pool, events []tracking.Event, batch int) (float64, int, error) {
	batches, err := projection.RawBatches(events, batch, time.Now())
	if err != nil {
		return 0, 0, err
	}
	var rates []float64
	for _, writers := range []int{2, 4} {
		if _, err := pool.Exec(ctx, "TRUNCATE waybill.shipment_events, waybill.shipments, waybill.shipment_refs"); err != nil {
			return 0, 0, err
		}
		start := time.Now()
		if err := projection.RawUpsert(ctx, pool, projection.Schema, batches, writers); err != nil {
			return 0, 0, err
		}
		rates = append(rates, float64(len(events))/time.Since(start).Seconds())
	}
	best := slices.Max(rates)
	return best, []int{2, 4}[slices.Index(rates, best)], nil
}
