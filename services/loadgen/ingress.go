package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/waybill-dev/waybill/pkg/streams"
)

type ingressOptions struct {
	clients    int
	duration   time.Duration
	rounds     int
	ingressBin string
	sync       string
	profile    string // write a CPU profile of the ingress's first round here
	procs      int    // GOMAXPROCS of the ingress process (0: Go's default)
}

// Dev credentials the benchmark's ingress is started with.
var benchAuth = map[string]string{
	"wineshipping": "hmac-sha256:aftership-hmac-sha256:bench-secret",
	"carriyo":      "header:X-API-Key:bench-key",
	"swiftpod":     "bearer:bench-token",
	"tenovi":       "header:Authorization:bench-tenovi",
}

// phase is one measured interval.
type phase struct {
	ok, failed int64
	elapsed    time.Duration
	latencies  []time.Duration
	cpu        time.Duration // ingress process CPU (user+system)
	rss        int64         // ingress peak RSS, bytes
}

func (p phase) rate() float64 { return float64(p.ok) / p.elapsed.Seconds() }

func runIngress(o ingressOptions) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	payloads, err := seedPayloads(root)
	if err != nil {
		return err
	}
	settings := []bool{false, true}
	switch o.sync {
	case "default":
		settings = []bool{false}
	case "always":
		settings = []bool{true}
	}
	fmt.Printf("# ingress benchmark: %d clients, %d rounds of %v, seed payloads of %s\n",
		o.clients, o.rounds, o.duration, payloadSizes(payloads))
	fmt.Printf("# machine: %s\n\n", machine())
	fmt.Println("| server fsync | round | raw sync publish msg/s | ingress webhooks/s | ratio | p50 | p99 | ingress CPU µs/req | ingress RSS MiB |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|")
	for _, always := range settings {
		if err := benchSetting(o, root, payloads, always); err != nil {
			return err
		}
	}
	return nil
}

func benchSetting(o ingressOptions, root string, payloads []payload, syncAlways bool) error {
	dir, err := os.MkdirTemp("", "waybill-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: dir, SyncAlways: syncAlways}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		return err
	}
	// The raw baseline publishes to its own stream so RAW holds only
	// the ingress's messages.
	if _, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "BENCH", Subjects: []string{"bench.>"},
		Storage: jetstream.FileStorage, Duplicates: 20 * time.Minute}); err != nil {
		return err
	}

	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(root, o.ingressBin))
	cmd.Env = append(os.Environ(), "NATS_URL="+srv.URL(), "HTTP_ADDR="+addr, "WAYBILL_LOG_LEVEL=warn", "WAYBILL_PPROF=true")
	for source, spec := range benchAuth {
		cmd.Env = append(cmd.Env, "WAYBILL_AUTH_"+strings.ToUpper(source)+"="+spec)
	}
	if o.procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(o.procs))
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ingress: %w", err)
	}
	defer func() { cmd.Process.Signal(os.Interrupt); cmd.Wait() }()
	if err := waitReady("http://" + addr + "/readyz"); err != nil {
		return err
	}

	label := "default (lazy)"
	if syncAlways {
		label = "always"
	}
	var raws, ings []float64
	var all phase
	for r := 1; r <= o.rounds; r++ {
		raw := rawPublish(js, payloads, o.clients, o.duration, r)
		var profiled chan error
		if o.profile != "" && r == 1 {
			profiled = make(chan error, 1)
			go func() { profiled <- fetchProfile("http://"+addr, o.duration, o.profile+"."+strings.Fields(label)[0]) }()
		}
		ing := ingressLoad(addr, payloads, o.clients, o.duration, r, cmd.Process.Pid)
		if profiled != nil {
			if err := <-profiled; err != nil {
				return err
			}
		}
		raws, ings = append(raws, raw.rate()), append(ings, ing.rate())
		all.latencies = append(all.latencies, ing.latencies...)
		all.rss = max(all.rss, ing.rss)
		all.cpu += ing.cpu
		all.ok += ing.ok
		if ing.failed > 0 {
			fmt.Fprintf(os.Stderr, "round %d: %d ingress requests failed\n", r, ing.failed)
		}
		fmt.Printf("| %s | %d | %.0f | %.0f | %.2f | %v | %v | %.0f | %.0f |\n", label, r, raw.rate(), ing.rate(),
			ing.rate()/raw.rate(), pct(ing.latencies, 50), pct(ing.latencies, 99),
			float64(ing.cpu.Microseconds())/float64(ing.ok), float64(ing.rss)/(1<<20))
	}
	fmt.Printf("| %s | **median** | %.0f | %.0f | **%.2f** | %v | %v | %.0f | %.0f |\n", label, median(raws), median(ings),
		median(ings)/median(raws), pct(all.latencies, 50), pct(all.latencies, 99),
		float64(all.cpu.Microseconds())/float64(all.ok), float64(all.rss)/(1<<20))
	return nil
}

// rawPublish is the limit: synchronous JetStream publishes of the same
// bodies with message ids, from as many goroutines as there are clients.
func rawPublish(js jetstream.JetStream, payloads []payload, clients int, d time.Duration, round int) phase {
	var ok, failed atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			var buf []byte
			for i := 0; time.Now().Before(deadline); i++ {
				p := payloads[(c+i)%len(payloads)]
				id := fmt.Sprintf("raw-%d-%d-%d", round, c, i)
				buf = p.body(buf, id)
				if _, err := js.Publish(context.Background(), "bench."+p.source, buf, jetstream.WithMsgID(id)); err != nil {
					failed.Add(1)
					continue
				}
				ok.Add(1)
			}
		}(c)
	}
	wg.Wait()
	return phase{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start)}
}

// ingressLoad posts webhooks from keep-alive clients, each waiting for its
// answer before sending the next (a provider's delivery worker).
func ingressLoad(addr string, payloads []payload, clients int, d time.Duration, round, pid int) phase {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: clients, ReadTimeout: 30 * time.Second}
	var ok, failed atomic.Int64
	lat := make([][]time.Duration, clients)
	cpu0 := procCPU(pid)
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			var buf []byte
			for i := 0; time.Now().Before(deadline); i++ {
				p := payloads[(c+i)%len(payloads)]
				id := "ing-" + strconv.Itoa(round) + "-" + strconv.Itoa(c) + "-" + strconv.Itoa(i)
				buf = p.body(buf, id)
				req.Reset()
				req.SetRequestURI("http://" + addr + "/webhooks/" + p.source)
				req.Header.SetMethod("POST")
				req.Header.SetContentType("application/json")
				sign(req, p, buf, id)
				req.SetBodyRaw(buf)
				t0 := time.Now()
				err := hc.Do(req, resp)
				if err != nil || resp.StatusCode() != 200 {
					failed.Add(1)
					continue
				}
				lat[c] = append(lat[c], time.Since(t0))
				ok.Add(1)
			}
		}(c)
	}
	wg.Wait()
	ph := phase{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start), cpu: procCPU(pid) - cpu0, rss: procRSS(pid)}
	for _, l := range lat {
		ph.latencies = append(ph.latencies, l...)
	}
	return ph
}

func sign(req *fasthttp.Request, p payload, body []byte, id string) {
	switch p.source {
	case "wineshipping":
		req.Header.Set("aftership-hmac-sha256", hmacSign("bench-secret", body))
	case "carriyo":
		req.Header.Set("X-API-Key", "bench-key")
		req.Header.Set("event-id", id)
		req.Header.Set("trigger", "delivered")
	case "swiftpod":
		req.Header.Set("Authorization", "Bearer bench-token")
	case "tenovi":
		req.Header.Set("Authorization", "bench-tenovi")
	}
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p/100)].Round(10 * time.Microsecond)
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(url string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		code, _, err := fasthttp.Get(nil, url)
		if err == nil && code == 200 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready after 20s", url)
}

func payloadSizes(ps []payload) string {
	var parts []string
	for _, p := range ps {
		parts = append(parts, fmt.Sprintf("%s %d B", p.source, len(p.prefix)+len(p.suffix)+16))
	}
	return strings.Join(parts, ", ")
}

// fetchProfile saves a CPU profile of the ingress taken during a phase.
func fetchProfile(base string, d time.Duration, path string) error {
	secs := max(int(d.Seconds())-1, 1)
	code, body, err := fasthttp.GetTimeout(nil, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), d+10*time.Second)
	if err != nil || code != 200 {
		return fmt.Errorf("profile: %d %v", code, err)
	}
	return os.WriteFile(path, body, 0o644)
}
