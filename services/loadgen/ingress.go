package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
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
	selfCPU    time.Duration // this process's CPU: the NATS server plus the publishers or HTTP clients
	syscalls   int64         // ingress read and write system calls
	sysCPU     time.Duration // ingress kernel CPU (part of cpu)
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
	fmt.Println("| server fsync | round | raw sync publish msg/s | ingress webhooks/s | ratio | p50 | p99 | ingress CPU µs/req | of which kernel | ingress RSS MiB | raw phase: server+publishers CPU µs/msg | ingress phase: server+clients CPU µs/req | ingress syscalls/req |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
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
	bin := o.ingressBin
	if !filepath.IsAbs(bin) {
		bin = filepath.Join(root, bin)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "NATS_URL="+srv.URL(), "HTTP_ADDR="+addr, "WAYBILL_LOG_LEVEL=warn", "WAYBILL_PPROF=true")
	for source, spec := range benchAuth {
		cmd.Env = append(cmd.Env, "WAYBILL_AUTH_"+strings.ToUpper(source)+"="+spec)
	}
	if o.procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(o.procs))
	}
	// LOADGEN_INGRESS_ENV="GOGC=400 GODEBUG=gctrace=1" reaches the ingress
	// only (a variable of loadgen's own environment would change the
	// embedded NATS server's too).
	cmd.Env = append(cmd.Env, strings.Fields(os.Getenv("LOADGEN_INGRESS_ENV"))...)
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
	var all, allRaw phase
	for r := 1; r <= o.rounds; r++ {
		selfProfile := os.Getenv("LOADGEN_SELF_PROFILE") // path prefix: this process (server + load) in round 1
		if selfProfile != "" && r == 1 {
			stop := startSelfProfile(selfProfile + "." + strings.Fields(label)[0] + ".raw")
			defer stop()
		}
		raw := rawPublish(js, payloads, o.clients, o.duration, r)
		if selfProfile != "" && r == 1 {
			pprof.StopCPUProfile()
			stop := startSelfProfile(selfProfile + "." + strings.Fields(label)[0] + ".ingress")
			defer stop()
		}
		var profiled chan error
		if o.profile != "" && r == 1 {
			profiled = make(chan error, 1)
			go func() { profiled <- fetchProfile("http://"+addr, o.duration, o.profile+"."+strings.Fields(label)[0]) }()
		}
		ing := ingressLoad(addr, payloads, o.clients, o.duration, r, cmd.Process.Pid)
		if selfProfile != "" && r == 1 {
			pprof.StopCPUProfile()
		}
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
		all.selfCPU += ing.selfCPU
		allRaw.ok += raw.ok
		allRaw.selfCPU += raw.selfCPU
		all.syscalls += ing.syscalls
		all.sysCPU += ing.sysCPU
		if ing.failed > 0 {
			fmt.Fprintf(os.Stderr, "round %d: %d ingress requests failed\n", r, ing.failed)
		}
		fmt.Printf("| %s | %d | %.0f | %.0f | %.2f | %v | %v | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |\n", label, r, raw.rate(), ing.rate(),
			ing.rate()/raw.rate(), pct(ing.latencies, 50), pct(ing.latencies, 99),
			perOp(ing.cpu, ing.ok), perOp(ing.sysCPU, ing.ok), float64(ing.rss)/(1<<20), perOp(raw.selfCPU, raw.ok), perOp(ing.selfCPU, ing.ok),
			float64(ing.syscalls)/float64(max(ing.ok, 1)))
	}
	fmt.Printf("| %s | **median** | %.0f | %.0f | **%.2f** | %v | %v | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |\n", label, median(raws), median(ings),
		median(ings)/median(raws), pct(all.latencies, 50), pct(all.latencies, 99),
		perOp(all.cpu, all.ok), perOp(all.sysCPU, all.ok), float64(all.rss)/(1<<20), perOp(allRaw.selfCPU, allRaw.ok), perOp(all.selfCPU, all.ok),
		float64(all.syscalls)/float64(max(all.ok, 1)))
	return nil
}

// rawPublish is the limit: synchronous JetStream publishes of the same
// bodies with message ids, from as many goroutines as there are clients.
func rawPublish(js jetstream.JetStream, payloads []payload, clients int, d time.Duration, round int) phase {
	var ok, failed atomic.Int64
	self0 := procCPU(os.Getpid())
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
	return phase{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start), selfCPU: procCPU(os.Getpid()) - self0}
}

// ingressLoad posts webhooks from keep-alive clients, each waiting for its
// answer before sending the next (a provider's delivery worker).
func ingressLoad(addr string, payloads []payload, clients int, d time.Duration, round, pid int) phase {
	hc := &fasthttp.HostClient{Addr: addr, MaxConns: clients, ReadTimeout: 30 * time.Second}
	var ok, failed atomic.Int64
	lat := make([][]time.Duration, clients)
	cpu0, self0, sc0, sys0 := procCPU(pid), procCPU(os.Getpid()), procSyscalls(pid), procSysCPU(pid)
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
	ph := phase{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start), cpu: procCPU(pid) - cpu0, rss: procRSS(pid),
		selfCPU: procCPU(os.Getpid()) - self0, syscalls: procSyscalls(pid) - sc0, sysCPU: procSysCPU(pid) - sys0}
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

// perOp is CPU time per operation in µs.
func perOp(cpu time.Duration, n int64) float64 {
	if n == 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(n)
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

// startSelfProfile profiles this process (the embedded NATS server and
// the load) into path; LOADGEN_SELF_PROFILE=prefix turns it on for round 1.
func startSelfProfile(path string) (stop func()) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "self profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "self profile:", err)
	}
	return func() { f.Close() }
}

// fetchProfile saves a CPU profile of the ingress taken during a phase.
func fetchProfile(base string, d time.Duration, path string) error {
	secs := max(int(d.Seconds())-1, 1)
	return fetchDebug(fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, secs), d+10*time.Second, path)
}

// fetchDebug saves what a service's /debug/pprof URL answers to path.
func fetchDebug(url string, timeout time.Duration, path string) error {
	code, body, err := fasthttp.GetTimeout(nil, url, timeout)
	if err != nil || code != 200 {
		return fmt.Errorf("%s: %d %v", url, code, err)
	}
	return os.WriteFile(path, body, 0o644)
}

// procSysCPU is a process's system (kernel) CPU time.
func procSysCPU(pid int) time.Duration {
	_, sys := procTimes(pid)
	return sys
}

// procSyscalls is a process's read and write system calls so far
// (/proc/<pid>/io syscr + syscw): per webhook, how well the HTTP and NATS
// I/O is batched.
func procSyscalls(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0
	}
	var n int64
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "syscr: "); ok {
			x, _ := strconv.ParseInt(v, 10, 64)
			n += x
		} else if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			x, _ := strconv.ParseInt(v, 10, 64)
			n += x
		}
	}
	return n
}
