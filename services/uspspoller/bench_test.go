package uspspoller_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/services/uspspoller"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

// BenchmarkPoll10k measures the poller's own throughput: 10,000 scheduled
// shipments, all due, polled once each against the in-process fake USPS
// (which answers at once) with the rate limit out of the way. Each poll is
// a claim (KV compare-and-set), a tracking GET, a publish on raw.usps and
// a write-back (KV compare-and-set). It reports polls/s, and the heap a
// replica keeps for the loaded schedule per shipment.
func BenchmarkPoll10k(b *testing.B) {
	for _, conc := range []int{4, 16} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			const n = 10_000
			var polls, mem float64
			for range b.N {
				p, m := pollRound(b, n, conc)
				polls += p
				mem += m
			}
			b.ReportMetric(polls/float64(b.N), "polls/s")
			b.ReportMetric(mem/float64(b.N), "schedule-B/shipment")
			b.ReportMetric(0, "ns/op")
		})
	}
}

func pollRound(b *testing.B, n, concurrency int) (pollsPerSec, bytesPerShipment float64) {
	b.StopTimer()
	srv := natstest.Start(b)
	fake := uspsfake.New(uspsfake.WithoutLog(), uspsfake.WithAutoScript(func(string) (uspsfake.Script, bool) {
		return uspsfake.Script{Events: uspsfake.Delivered}, true
	}))
	hs := httptest.NewServer(fake)
	defer hs.Close()
	env := service.EnvFrom(map[string]string{
		"NATS_URL": srv.URL(), "USPS_BASE_URL": hs.URL, "USPS_CLIENT_ID": "fake-client", "USPS_CLIENT_SECRET": "fake-secret",
		"USPS_RATE_LIMIT": "1000000000", "USPS_POLL_CONCURRENCY": fmt.Sprint(concurrency),
	})
	cfg := uspspoller.LoadConfig(env)
	if err := env.Err(); err != nil {
		b.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ops := service.NewOps()
	p, err := uspspoller.New(ctx, cfg, nc, zerolog.Nop(), ops)
	if err != nil {
		b.Fatal(err)
	}

	// The schedule: n shipments, all due.
	_, js := srv.Connect()
	kv, err := js.KeyValue(ctx, uspspoller.Bucket)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for i := range n {
		e := uspspoller.Entry{TrackingNumber: fmt.Sprintf("9400BENCH%08d", i), State: uspspoller.Active,
			Source: "tenovi", ScheduledAt: now, NewsAt: now, Due: now.Add(-time.Duration(i) * time.Millisecond)}
		data, _ := json.Marshal(e)
		if _, err := kv.Put(ctx, uspspoller.Key(e.TrackingNumber), data); err != nil {
			b.Fatal(err)
		}
	}

	before := heap()
	start := time.Now()
	b.StartTimer()
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for len(ops.Ready(ctx)) > 0 {
		time.Sleep(time.Millisecond)
	}
	loaded := time.Now()
	bytesPerShipment = float64(heap()-before) / float64(n)
	for fake.Counts().Found < n {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(loaded)
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.Logf("%d shipments: schedule loaded in %v, polled in %v (%d token requests)", n, loaded.Sub(start).Round(time.Millisecond), elapsed.Round(time.Millisecond), fake.Counts().Token)
	return float64(n) / elapsed.Seconds(), bytesPerShipment
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkBaselineKVUpdate is the raw limit BenchmarkPoll10k stands
// beside: one compare-and-set on the same embedded server, back to back
// (a poll makes two, plus a publish and a USPS request).
func BenchmarkBaselineKVUpdate(b *testing.B) {
	srv := natstest.Start(b)
	_, js := srv.Connect()
	ctx := context.Background()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "BASELINE"})
	if err != nil {
		b.Fatal(err)
	}
	rev, err := kv.Create(ctx, "k", []byte(`{"state":"active"}`))
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		if rev, err = kv.Update(ctx, "k", []byte(`{"state":"active"}`), rev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
