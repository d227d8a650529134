package ingress

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	_ "github.com/waybill-dev/waybill/pkg/providers/all"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

// The request path's benchmarks, beside the raw limit measured the same
// way: everything in one process over an embedded JetStream (lazy fsync),
// no HTTP sockets. cpu-µs/op is the whole process's CPU per webhook (the
// NATS server included), the figure that decides throughput on a machine
// whose cores are all busy (BENCHMARKS.md, "Ingress").

var benchAuth = map[string]string{
	"WAYBILL_AUTH_WINESHIPPING": "hmac-sha256:aftership-hmac-sha256:bench-secret",
	"WAYBILL_AUTH_CARRIYO":      "header:X-API-Key:bench-key",
	"WAYBILL_AUTH_SWIFTPOD":     "bearer:bench-token",
	"WAYBILL_AUTH_TENOVI":       "header:Authorization:bench-tenovi",
}

// benchRequest is one distinct, signed webhook.
type benchRequest struct {
	uri     string
	body    []byte
	headers [][2]string
}

// seed is a provider's seed payload with the field that makes each request
// a new event (the same shapes and sizes as bin/loadgen ingress).
type seed struct {
	source, file, field string
	prefix, suffix      []byte
}

func loadSeeds(b *testing.B) []*seed {
	seeds := []*seed{
		{source: "wineshipping", file: "seed-tracking-update.json", field: `"event_id": "`},
		{source: "carriyo", file: "seed-delivered.json", field: `"shipment_id": "`},
		{source: "swiftpod", file: "seed-tracking-number.json", field: `"uuid": "`},
		{source: "tenovi", file: "seed-shipped-usps.json", field: `"hwi_device_id": "`},
	}
	for _, s := range seeds {
		body, err := os.ReadFile(filepath.Join("..", "..", "pkg", "providers", s.source, "testdata", s.file))
		if err != nil {
			b.Fatal(err)
		}
		i := bytes.Index(body, []byte(s.field))
		if i < 0 {
			b.Fatalf("%s: no %s", s.file, s.field)
		}
		start := i + len(s.field)
		end := start + bytes.IndexByte(body[start:], '"')
		s.prefix, s.suffix = body[:start], body[end:]
	}
	return seeds
}

func (s *seed) request(id string) benchRequest {
	body := append(append(append([]byte(nil), s.prefix...), id...), s.suffix...)
	r := benchRequest{uri: "http://ingress/webhooks/" + s.source, body: body,
		headers: [][2]string{{"Content-Type", "application/json"}}}
	switch s.source {
	case "wineshipping":
		r.headers = append(r.headers, [2]string{"aftership-hmac-sha256", Sign("bench-secret", body)})
	case "carriyo":
		r.headers = append(r.headers, [2]string{"X-API-Key", "bench-key"}, [2]string{"event-id", id}, [2]string{"trigger", "delivered"})
	case "swiftpod":
		r.headers = append(r.headers, [2]string{"Authorization", "Bearer bench-token"})
	case "tenovi":
		r.headers = append(r.headers, [2]string{"Authorization", "bench-tenovi"})
	}
	return r
}

// benchRing is how many distinct webhooks a benchmark cycles through. The
// RAW stream's duplicate window is shortened so that a webhook seen again
// after a full cycle is new again, as every loadgen request is.
const benchRing = 8192

func benchRequests(b *testing.B, seeds []*seed) []benchRequest {
	reqs := make([]benchRequest, benchRing)
	for i := range reqs {
		reqs[i] = seeds[i%len(seeds)].request(fmt.Sprintf("bench-%08d", i))
	}
	return reqs
}

// benchServer starts an embedded JetStream whose RAW stream forgets
// message ids after dupWindow.
func benchServer(b *testing.B) (*natstest.Server, jetstream.JetStream) {
	srv := natstest.Start(b)
	_, js := srv.Connect()
	ctx := context.Background()
	for _, name := range []string{streams.Raw, "BENCH"} {
		cfg := jetstream.StreamConfig{Name: name, Subjects: []string{"bench.>"}, Storage: jetstream.FileStorage}
		if s, err := js.Stream(ctx, name); err == nil {
			cfg = s.CachedInfo().Config
		}
		cfg.Duplicates = dupWindow
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			b.Fatal(err)
		}
	}
	return srv, js
}

const dupWindow = 100 * time.Millisecond // the server's minimum

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportThreadCPU reports a single-goroutine benchmark's CPU time per op,
// which holds still on a machine shared with other work where ns/op does
// not: defer reportThreadCPU(b)() before the loop.
func reportThreadCPU(b *testing.B) func() {
	runtime.LockOSThread()
	cpu0 := threadCPU()
	return func() {
		b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		runtime.UnlockOSThread()
	}
}

// threadCPU is the calling thread's CPU time.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWebhook drives Ingress.Handler as fasthttp would, from 64
// concurrent requests, over an embedded JetStream: the request path without
// the HTTP sockets.
func BenchmarkWebhook(b *testing.B) {
	seeds := loadSeeds(b)
	sets := map[string][]*seed{"mix": seeds}
	for _, s := range seeds {
		sets[s.source] = []*seed{s}
	}
	for _, name := range []string{"mix", "wineshipping", "carriyo", "swiftpod", "tenovi"} {
		b.Run(name, func(b *testing.B) {
			reqs := benchRequests(b, sets[name])
			srv, _ := benchServer(b)
			env := map[string]string{"NATS_URL": srv.URL()}
			for k, v := range benchAuth {
				env[k] = v
			}
			e := service.EnvFrom(env)
			cfg := LoadConfig(e)
			if err := e.Err(); err != nil {
				b.Fatal(err)
			}
			nc, err := nats.Connect(srv.URL())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			in, err := New(cfg, nc, zerolog.Nop(), service.NewOps())
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var failed, dups atomic.Int64
			b.SetParallelism(32) // 64 goroutines on 2 cores, as loadgen's 64 clients
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				var ctx fasthttp.RequestCtx
				var req fasthttp.Request
				ctx.Init(&req, nil, nil)
				for pb.Next() {
					r := &reqs[next.Add(1)%benchRing]
					ctx.Request.Reset()
					ctx.Response.Reset()
					ctx.Request.Header.SetMethod(fasthttp.MethodPost)
					ctx.Request.SetRequestURI(r.uri)
					for _, h := range r.headers {
						ctx.Request.Header.Set(h[0], h[1])
					}
					ctx.Request.SetBodyRaw(r.body)
					in.Handler(&ctx)
					if ctx.Response.StatusCode() != fasthttp.StatusOK {
						failed.Add(1)
					} else if bytes.HasSuffix(ctx.Response.Body(), []byte(`"duplicate":true}`)) {
						dups.Add(1)
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
			b.ReportMetric(float64(dups.Load())/float64(b.N), "dup/op") // ring cycled within the window: should be ~0
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d webhooks not stored", n, b.N)
			}
		})
	}
}

// BenchmarkRawPublish is the limit BenchmarkWebhook is read against:
// synchronous JetStream publishes of the same bodies with message ids from
// 64 goroutines, in the same process over the same kind of server.
func BenchmarkRawPublish(b *testing.B) {
	seeds := loadSeeds(b)
	_, js := benchServer(b)
	var next atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		var buf []byte
		for pb.Next() {
			i := next.Add(1)
			s := seeds[i%int64(len(seeds))]
			id := "raw-" + strconv.FormatInt(i, 10)
			buf = append(append(append(buf[:0], s.prefix...), id...), s.suffix...)
			if _, err := js.Publish(context.Background(), "bench."+s.source, buf, jetstream.WithMsgID(id)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// BenchmarkMessage is the CloudEvent wrap of one webhook (sdk-go event,
// validation, ce- headers): route.message beside the general
// cloudevent.ToMsg it is specialised from.
func BenchmarkMessage(b *testing.B) {
	p, _ := providers.Lookup("carriyo")
	r, err := newRoute(p, "carriyo", streams.RawSubject("carriyo"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	id := providers.Identity{ID: "9a7c2e4b-1d8f-4f3a-91e2-3c5d7e9f1024", Type: "com.carriyo.shipment.delivered",
		Subject: "DHL-9123-7700-1234", Extensions: []providers.Extension{{Name: "trigger", Value: "delivered"}}}
	body := make([]byte, 3000)
	now := time.Now()
	b.Run("route", func(b *testing.B) {
		b.ReportAllocs()
		defer reportThreadCPU(b)()
		for b.Loop() {
			if _, err := r.message(id, body, now, "0123456789abcdef0123456789abcdef"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ToMsg", func(b *testing.B) {
		b.ReportAllocs()
		defer reportThreadCPU(b)()
		for b.Loop() {
			e := event.New(cloudevent.SpecVersion)
			e.SetID(id.ID)
			e.SetSource(r.source)
			e.SetType(id.Type)
			e.SetSubject(id.Subject)
			e.SetTime(now)
			for _, x := range id.Extensions {
				e.SetExtension(x.Name, x.Value)
			}
			e.SetDataContentType(cloudevent.ContentTypeJSON)
			e.DataEncoded = body
			m, err := cloudevent.ToMsg(r.subject, e)
			if err != nil {
				b.Fatal(err)
			}
			m.Header.Set(nats.MsgIdHdr, "0123456789abcdef0123456789abcdef")
		}
	})
}
