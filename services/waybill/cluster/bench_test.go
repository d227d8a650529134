package cluster_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/webhookload"
	"github.com/waybill-dev/waybill/services/ingress"
	"github.com/waybill-dev/waybill/services/normalizer"
)

// The figures of issue 10 (make bench): run with -benchtime 1x; each
// benchmark prints a markdown table for BENCHMARKS.md and docs/SCALING.md.
//
//	go test -run '^$' -bench . -benchtime 1x -timeout 30m ./services/waybill/cluster/

const benchClients = 64

// benchHooks are distinct, well-formed webhooks (no retries): every post is
// a new event, as in the ingress benchmark of BENCHMARKS.md.
func benchHooks(shipments int, seed int64) []webhookload.Webhook {
	var out []webhookload.Webhook
	for _, w := range webhookload.Generate(webhookload.Config{Shipments: shipments, Seed: seed, RetryRate: -1, MalformedRate: -1}) {
		if !w.Malformed && !w.Retry {
			out = append(out, w)
		}
	}
	return out
}

// BenchmarkIngressSingleVsCluster: webhooks/s through one ingress with 64
// keep-alive clients, beside 64 goroutines doing synchronous JetStream
// publishes (with msg ids) of the same bodies, on (a) one server with
// sync_interval always, (b) the 3-node cluster with R3 streams and the
// default sync (an ack means stored on a majority). Same machine, same run.
func BenchmarkIngressSingleVsCluster(b *testing.B) {
	dur := benchDuration()
	hooks := benchHooks(4000, 20)
	type row struct {
		setup         string
		raw, webhooks float64
	}
	var rows []row
	for _, setup := range []string{"single, sync always, R1", "3-node cluster, R3"} {
		var url string
		replicas := 1
		if strings.HasPrefix(setup, "single") {
			e, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: b.TempDir(), SyncAlways: true}, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			url = e.URL()
			defer e.Stop()
		} else {
			c := natstest.StartCluster(b, 3)
			url, replicas = c.URLs(), 3
		}
		nc, err := nats.Connect(url)
		if err != nil {
			b.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		ctx := context.Background()
		if err := streams.EnsureWithRetry(ctx, js, streams.Config{Replicas: replicas}, zerolog.Nop()); err != nil {
			b.Fatal(err)
		}
		if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"},
			Storage: jetstream.FileStorage, Replicas: replicas}); err != nil {
			b.Fatal(err)
		}
		raw := rawPublish(b, js, hooks, dur)

		addr := freeAddr(b)
		env := map[string]string{"NATS_URL": url, "HTTP_ADDR": addr, "WAYBILL_STREAM_REPLICAS": fmt.Sprint(replicas), "WAYBILL_LOG_LEVEL": "error"}
		for k, v := range webhookload.Auth() {
			env[k] = v
		}
		cfg := ingress.LoadConfig(service.EnvFrom(env))
		ictx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- ingress.Run(ictx, cfg, zerolog.Nop(), service.NewOps()) }()
		waitReady(b, addr)
		hooksPerSec := postAll(b, addr, hooks, dur)
		stop()
		<-done
		nc.Close()
		rows = append(rows, row{setup, raw, hooksPerSec})
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n| setup | raw sync publish msg/s | ingress webhooks/s | ratio |\n|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&sb, "| %s | %.0f | %.0f | %.2f |\n", r.setup, r.raw, r.webhooks, r.webhooks/r.raw)
	}
	b.Log(sb.String())
	b.ReportMetric(rows[0].webhooks, "single-webhooks/s")
	b.ReportMetric(rows[1].webhooks, "cluster-webhooks/s")
}

func benchDuration() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("WAYBILL_BENCH_DURATION")); err == nil && d > 0 {
		return d
	}
	return 5 * time.Second
}

// rawPublish is the limit: benchClients goroutines publishing the bodies
// synchronously, with msg ids, for dur.
func rawPublish(b *testing.B, js jetstream.JetStream, hooks []webhookload.Webhook, dur time.Duration) float64 {
	var n atomic.Int64
	var next atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := next.Add(1)
				w := hooks[int(i)%len(hooks)]
				if _, err := js.Publish(context.Background(), "bench."+w.Source, w.Body, jetstream.WithMsgID(fmt.Sprintf("raw-%d", i))); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// postAll posts the webhooks with benchClients keep-alive clients for dur
// (or until they run out) and returns the 200s per second.
func postAll(b *testing.B, addr string, hooks []webhookload.Webhook, dur time.Duration) float64 {
	tr := &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()
	var ok, next atomic.Int64
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < benchClients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= len(hooks) {
					return
				}
				w := hooks[i]
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/"+w.Source, bytes.NewReader(w.Body))
				for k, v := range w.Header {
					req.Header.Set(k, v)
				}
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = resp.Body.Read(make([]byte, 256))
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if int(next.Load()) >= len(hooks) {
		b.Logf("ran out of webhooks (%d): raise benchHooks' shipments", len(hooks))
	}
	return float64(ok.Load()) / time.Since(start).Seconds()
}

func waitReady(b *testing.B, addr string) {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// BenchmarkNormalizerReplicas: a backlog of raw webhooks on one server is
// normalized by 1, 2 and 4 normalizer processes; events/s from the first to
// the last event stored on SHIPMENTS, and the processes' CPU (user+system,
// from their rusage) per 1000 events.
func BenchmarkNormalizerReplicas(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "normalizer")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/waybill-dev/waybill/services/normalizer/cmd/normalizer").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	hooks := benchHooks(1500, 21)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n| replicas | raw webhooks | events | total s (incl. start, window) | events/s (first to last event) | CPU ms / 1000 events |\n|---|---|---|---|---|---|\n")
	for _, n := range []int{1, 2, 4} {
		e, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: b.TempDir()}, zerolog.Nop())
		if err != nil {
			b.Fatal(err)
		}
		nc, err := nats.Connect(e.URL())
		if err != nil {
			b.Fatal(err)
		}
		js, _ := jetstream.New(nc)
		ctx := context.Background()
		if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
			b.Fatal(err)
		}
		preload(b, js, hooks)

		start := time.Now()
		var cmds []*exec.Cmd
		for i := 0; i < n; i++ {
			cmd := exec.Command(bin)
			cmd.Env = append(os.Environ(), "NATS_URL="+e.URL(), "HTTP_ADDR="+freeAddr(b), "WAYBILL_LOG_LEVEL=error",
				"NORMALIZER_HANDOVER_GRACE=0s")
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
		for backlogLeft(ctx, js) {
			time.Sleep(100 * time.Millisecond)
			if time.Since(start) > 20*time.Minute {
				b.Fatal("normalizer did not finish the backlog in 20 minutes")
			}
		}
		total := time.Since(start)
		var cpu time.Duration
		for _, cmd := range cmds {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
				cpu += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			}
		}
		s, _ := js.Stream(ctx, streams.Shipments)
		info, _ := s.Info(ctx)
		first, _ := s.GetMsg(ctx, info.State.FirstSeq)
		last, _ := s.GetMsg(ctx, info.State.LastSeq)
		events := info.State.Msgs
		rate := float64(events) / last.Time.Sub(first.Time).Seconds()
		fmt.Fprintf(&sb, "| %d | %d | %d | %.1f | %.0f | %.1f |\n", n, len(hooks), events, total.Seconds(), rate,
			float64(cpu.Milliseconds())/float64(events)*1000)
		b.ReportMetric(rate, fmt.Sprintf("events/s-%d-replicas", n))
		nc.Close()
		e.Stop()
	}
	b.Log(sb.String())
}

// preload stores the webhooks on RAW as ingress does.
func preload(b *testing.B, js jetstream.JetStream, hooks []webhookload.Webhook) {
	var futures []jetstream.PubAckFuture
	for _, w := range hooks {
		p, _ := providers.Lookup(w.Source)
		id, err := p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()})
		if err != nil {
			b.Fatal(err)
		}
		ev := event.New(cloudevent.SpecVersion)
		ev.SetID(id.ID)
		ev.SetSource("/webhooks/" + w.Source)
		ev.SetType(id.Type)
		if id.Subject != "" {
			ev.SetSubject(id.Subject)
		}
		ev.SetTime(time.Now())
		for _, x := range id.Extensions {
			ev.SetExtension(x.Name, x.Value)
		}
		ev.SetDataContentType(cloudevent.ContentTypeJSON)
		ev.DataEncoded = w.Body
		msg, err := cloudevent.ToMsg(streams.RawSubject(w.Source), ev)
		if err != nil {
			b.Fatal(err)
		}
		f, err := js.PublishMsgAsync(msg, jetstream.WithMsgID(providers.HashID([]byte(ev.Source()), []byte(id.ID))))
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

// backlogLeft reports whether RAW or CANDIDATES still hold work.
func backlogLeft(ctx context.Context, js jetstream.JetStream) bool {
	c, err := js.Consumer(ctx, streams.Raw, normalizer.MapperConsumer)
	if err != nil {
		return true
	}
	info, err := c.Info(ctx)
	if err != nil || info.NumPending > 0 || info.NumAckPending > 0 {
		return true
	}
	n, err := normalizer.PendingCandidates(ctx, js)
	return err != nil || n > 0
}
