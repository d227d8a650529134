package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// pipelineOptions are the flags of `loadgen pipeline`.
type pipelineOptions struct {
	shipments     int
	seed          int64
	saturation    time.Duration // closed-loop phase
	phase         time.Duration // each paced phase
	clients       int           // saturation clients and raw sync publishers
	workers       int           // most requests in flight in a paced phase
	reorderWindow time.Duration // NORMALIZER_REORDER_WINDOW
	sample        float64       // share of shipments whose webhooks are tracked end to end
	poll          time.Duration // tracker's Postgres poll interval
	limit         time.Duration // each raw publish limit
	drainTimeout  time.Duration
	binDir        string
	out           string
	keep          bool
	partitions    int     // CANDIDATES partitions
	profile       string  // directory for each service's CPU profile and trace during the 50% phase
	rate          float64 // webhooks/s the paced phases take as 100% (0: the saturation rate)
}

// Targets of issue 7 on the 2-core machine.
const (
	targetIngress = 0.5                    // of raw sync publish
	targetE2E     = 250 * time.Millisecond // p99 at 50% load under reorder window + this
	targetReplay  = 0.5                    // of the raw batched upsert
)

// service is one of the pipeline's binaries, run as a subprocess.
type service struct {
	name string
	addr string // HTTP_ADDR
	cmd  *exec.Cmd
}

func (s *service) pid() int { return s.cmd.Process.Pid }

func startService(name, bin string, env []string) (*service, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append([]string{"HTTP_ADDR=" + addr, "WAYBILL_LOG_LEVEL=warn", "WAYBILL_PPROF=true"}, env...)...)
	if name == "ingress" {
		// Not a warning per malformed webhook of the workload: errors only.
		cmd.Env = append(cmd.Env, "WAYBILL_LOG_LEVEL=error")
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &service{name: name, addr: addr, cmd: cmd}
	if err := waitReady("http://" + addr + "/readyz"); err != nil {
		s.stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// stop drains the service (SIGTERM) and waits, killing it after 30s.
func (s *service) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}

// cpuSnapshot is each process's CPU time at one instant.
type cpuSnapshot struct {
	at  time.Time
	cpu map[string]time.Duration
}

const selfName = "loadgen + embedded NATS"

func snapshot(svcs []*service) cpuSnapshot {
	s := cpuSnapshot{at: time.Now(), cpu: map[string]time.Duration{selfName: procCPU(os.Getpid())}}
	for _, sv := range svcs {
		s.cpu[sv.name] = procCPU(sv.pid())
	}
	return s
}

// cores is the CPU each process used between two snapshots, in cores.
func cores(a, b cpuSnapshot) map[string]float64 {
	out := map[string]float64{}
	for name, c := range b.cpu {
		out[name] = (c - a.cpu[name]).Seconds() / b.at.Sub(a.at).Seconds()
	}
	return out
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# "+format+"\n", args...)
}

func runPipeline(o pipelineOptions) (err error) {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	bin := func(name string) (string, error) {
		p := filepath.Join(root, o.binDir, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %w (make build)", p, err)
		}
		return p, nil
	}
	bins := map[string]string{}
	for _, name := range []string{"ingress", "normalizer", "projector", "waybill"} {
		if bins[name], err = bin(name); err != nil {
			return err
		}
	}
	ctx := context.Background()
	runStart := time.Now()

	genStart := time.Now()
	hooks := webhookload.Generate(webhookload.Config{Shipments: o.shipments, Seed: o.seed, Now: time.Now().UTC().Truncate(24 * time.Hour)})
	track, eventSize := trackedSample(hooks, o.sample)
	logf("workload: %d shipments, %d webhooks (%s) generated in %v; %d webhooks tracked end to end",
		o.shipments, len(hooks), describeMix(hooks), time.Since(genStart).Round(time.Millisecond), len(track))

	// JetStream as `waybill run` embeds it: fsync before every ack.
	dir, err := os.MkdirTemp("", "waybill-pipeline-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	srv, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: dir, SyncAlways: true}, zerolog.Nop())
	if err != nil {
		return err
	}
	defer srv.Stop()
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	if err := streams.Ensure(ctx, js, streams.Config{Partitions: o.partitions}); err != nil {
		return err
	}

	dbURL, scratchURL, dropDBs, err := benchDatabases(ctx)
	if err != nil {
		return err
	}
	if o.keep {
		logf("keeping databases %s and %s", redact(dbURL), redact(scratchURL))
	} else {
		defer dropDBs()
	}

	// The services, as separate processes.
	natsEnv := "NATS_URL=" + srv.URL()
	var svcs []*service
	defer func() {
		for i := len(svcs) - 1; i >= 0; i-- {
			svcs[i].stop()
		}
	}()
	ingressEnv := []string{natsEnv}
	for k, v := range webhookload.Auth() {
		ingressEnv = append(ingressEnv, k+"="+v)
	}
	for _, s := range []struct {
		name string
		env  []string
	}{
		{"projector", []string{natsEnv, "DATABASE_URL=" + dbURL}},
		{"normalizer", []string{natsEnv, "NORMALIZER_REORDER_WINDOW=" + o.reorderWindow.String()}},
		{"ingress", ingressEnv},
	} {
		sv, err := startService(s.name, bins[s.name], s.env)
		if err != nil {
			return err
		}
		svcs = append(svcs, sv)
	}
	byName := map[string]*service{}
	for _, s := range svcs {
		byName[s.name] = s
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	var pgv string
	if err := pool.QueryRow(ctx, "SHOW server_version").Scan(&pgv); err == nil {
		pgVersion = strings.Fields(pgv)[0]
	}

	rep := &pipelineReport{opts: o, hooks: len(hooks), mix: describeMix(hooks), eventSize: eventSize}
	rep.bodySize = avgBodySize(hooks)

	// The machine's JetStream limits, same server, same bodies.
	logf("limits: raw JetStream publishes, %v each", o.limit)
	if err := ensureBenchStream(ctx, js); err != nil {
		return err
	}
	var bodies [][]byte
	for _, w := range hooks {
		if !w.Malformed && !w.Retry && len(bodies) < 4000 {
			bodies = append(bodies, w.Body)
		}
	}
	rep.rawSync = rawSyncPublish(js, bodies, o.clients, o.limit)
	if rep.rawAsync, err = rawAsyncPublish(nc, bodies, "async", o.limit); err != nil {
		return err
	}
	if rep.rawAsyncEvent, err = rawAsyncPublish(nc, [][]byte{make([]byte, eventSize)}, "event", o.limit); err != nil {
		return err
	}
	if err := js.DeleteStream(ctx, benchStream); err != nil {
		return err
	}

	// Saturation: closed loop, as many clients as the raw sync limit had.
	p := newPoster(byName["ingress"].addr, hooks, max(o.clients, o.workers))
	logf("saturation: %d clients for %v", o.clients, o.saturation)
	samples := make(chan []countSample, 1)
	sampleCtx, stopSampling := context.WithCancel(ctx)
	go func() { samples <- sampleShipments(sampleCtx, js) }()
	c0 := snapshot(svcs)
	rep.start = c0
	sat := p.closedLoop(0, o.clients, o.saturation)
	sat.name = "saturation"
	drain, err := waitDrained(ctx, js, o.drainTimeout)
	// CPU over the phase and its drain: the normalizer and the projector
	// finish the phase's work after the last answer.
	rep.cpu = append(rep.cpu, cores(c0, snapshot(svcs)))
	stopSampling()
	rep.normalized, rep.normalizedEvents = normalizedRate(<-samples)
	if err != nil {
		return err
	}
	rep.satDrain = drain
	rep.phases = append(rep.phases, sat)
	logf("saturation: %d accepted in %v: %.0f/s (raw sync publish %.0f/s); drained %v later",
		sat.ok, sat.elapsed.Round(time.Millisecond), sat.rate(), rep.rawSync, drain.Round(time.Millisecond))
	if sat.ok == 0 {
		return errors.New("saturation: no webhook accepted")
	}

	// Paced phases, open loop, with end-to-end latency of the sample.
	tr := newTracker(pool, o.poll)
	trCtx, stopTracker := context.WithCancel(ctx)
	defer stopTracker()
	go tr.run(trCtx)
	next := sat.to
	phase := o.phase
	full := sat.rate()
	if o.rate > 0 {
		full = o.rate
		logf("paced phases at shares of -rate %.0f webhooks/s, not of saturation", full)
	}
	if need := 1.5 * full * phase.Seconds(); need > float64(len(hooks)-next) {
		phase = time.Duration(float64(len(hooks)-next) / (1.5 * full) * float64(time.Second))
		logf("workload too small for %v phases at this rate: %v each (raise -shipments)", o.phase, phase.Round(time.Millisecond))
		rep.shortPhases = true
	}
	for _, f := range []float64{0.25, 0.5, 0.75} {
		rate := f * full
		n := min(int(rate*phase.Seconds()), len(hooks)-next)
		if n <= 0 {
			break
		}
		logf("%.0f%% load: %.0f webhooks/s for %v", f*100, rate, phase.Round(time.Millisecond))
		c0 := snapshot(svcs)
		if f == 0.5 && o.profile != "" {
			go profileServices(o.profile, svcs, min(phase/2, 5*time.Second))
		}
		ph := p.openLoop(next, n, rate, o.workers, func(i int, r *postResult) {
			if ids := track[i]; ids != nil && r.code == 200 && !r.dup {
				tr.add(i, ids, r.got)
			}
		})
		ph.name = fmt.Sprintf("%.0f%%", f*100)
		tr.wait(next, next+n, o.reorderWindow+30*time.Second)
		if _, err := waitDrained(ctx, js, o.drainTimeout); err != nil {
			return err
		}
		rep.cpu = append(rep.cpu, cores(c0, snapshot(svcs)))
		ph.e2e, ph.tracked, ph.notVisible = tr.latencies(next, next+n)
		rep.phases = append(rep.phases, ph)
		logf("%s load: %.0f/s accepted, e2e p50 %v p99 %v (%d tracked, %d never visible)", ph.name, ph.rate(),
			pct(ph.e2e, 50), pct(ph.e2e, 99), ph.tracked, ph.notVisible)
		next += n
	}
	stopTracker()
	rep.posted = next
	rep.end = snapshot(svcs)
	for _, s := range svcs {
		rep.rss = append(rep.rss, procRSSNamed{s.name, procRSS(s.pid())})
	}
	rep.rss = append(rep.rss, procRSSNamed{selfName, procRSS(os.Getpid())})

	// Correctness, from what the run stored.
	logf("checking: RAW, DEADLETTER, SHIPMENTS and Postgres")
	g, err := gather(ctx, js, pool, p, next)
	if err != nil {
		return err
	}
	res := check(g.in)
	rep.check = &res
	if rep.streams, err = streamWrites(ctx, js); err != nil {
		return err
	}
	if g.sizes.events > 0 {
		rep.eventSize = g.sizes.eventBytes / g.sizes.events
	}

	// Replay: the operator's command, against the run's SHIPMENTS, into
	// fresh tables beside the live ones; then the raw upsert of the same
	// rows in a scratch database.
	logf("replay: waybill replay projection --no-swap (%d events)", len(g.events))
	if err := replay(ctx, bins["waybill"], natsEnv, dbURL, rep); err != nil {
		return err
	}
	live, err1 := projection.TableHash(ctx, pool, projection.Schema)
	rebuilt, err2 := projection.TableHash(ctx, pool, "waybill_rebuild")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	rep.replaySame = live == rebuilt
	scratch, err := pgxpool.New(ctx, scratchURL)
	if err != nil {
		return err
	}
	defer scratch.Close()
	logf("limit: raw batched upsert of the same %d rows", len(g.events))
	if rep.rawUpsert, rep.rawUpsertWriters, err = rawUpsert(ctx, scratch, g.events, 1000); err != nil {
		return err
	}
	rep.elapsed = time.Since(runStart)

	md := rep.markdown()
	fmt.Print(md)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if !res.ok() {
		for _, e := range res.examples {
			fmt.Fprintln(os.Stderr, "  "+e)
		}
		return errors.New("correctness check failed: " + res.String())
	}
	return nil
}

type procRSSNamed struct {
	name  string
	bytes int64
}

// trackedSample picks the webhooks whose end-to-end latency is measured:
// those of about share of the shipments (by key hash, so a shipment's
// webhooks are all in or all out) that bring events not seen before in the
// workload's order (not retries, not malformed; Tenovi left out, since its
// event ids depend on the receipt time). It maps them with the real
// providers and returns, per webhook index, its new event ids; and the mean
// size of a normalized event's JSON.
func trackedSample(hooks []webhookload.Webhook, share float64) (map[int][]string, int) {
	out := map[int][]string{}
	seen := map[string]bool{}
	bytes, n := 0, 0
	for i := range hooks {
		w := &hooks[i]
		if w.Malformed || w.Retry || w.Source == "tenovi" || len(w.ShipmentKeys) == 0 {
			continue
		}
		h := fnv.New32a()
		h.Write([]byte(w.ShipmentKeys[0]))
		if float64(h.Sum32()%10000) >= share*10000 {
			continue
		}
		p, _ := providers.Lookup(w.Source)
		id, err := p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()})
		if err != nil {
			continue
		}
		evs, err := p.Map(providers.Raw{Source: w.Source, ID: id.ID, Type: id.Type, Subject: id.Subject, Time: time.Now(), Data: w.Body})
		if err != nil {
			continue
		}
		var fresh []string
		for _, e := range evs {
			e.Source, e.RawEventID = w.Source, id.ID
			e.Normalize()
			if b, err := json.Marshal(e); err == nil && n < 5000 {
				bytes, n = bytes+len(b), n+1
			}
			if !seen[e.ID] {
				seen[e.ID] = true
				fresh = append(fresh, e.ID)
			}
		}
		if len(fresh) > 0 {
			out[i] = fresh
		}
	}
	if n == 0 {
		return out, 1024
	}
	return out, bytes / n
}

func describeMix(hooks []webhookload.Webhook) string {
	count := map[string]int{}
	var retries, malformed int
	for _, w := range hooks {
		count[w.Source]++
		if w.Retry {
			retries++
		}
		if w.Malformed {
			malformed++
		}
	}
	var parts []string
	for _, s := range []string{"wineshipping", "carriyo", "swiftpod", "tenovi"} {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", s, 100*float64(count[s])/float64(len(hooks))))
	}
	return fmt.Sprintf("%s; %.1f%% retries, %.1f%% malformed", strings.Join(parts, ", "),
		100*float64(retries)/float64(len(hooks)), 100*float64(malformed)/float64(len(hooks)))
}

func avgBodySize(hooks []webhookload.Webhook) int {
	total := 0
	for _, w := range hooks {
		total += len(w.Body)
	}
	return total / max(len(hooks), 1)
}

// benchDatabases creates two empty databases on the server DATABASE_URL
// names (default: DESIGN.md's): the run's projection (the projector
// migrates it) and a migrated scratch one for the raw upsert limit. drop
// removes both.
func benchDatabases(ctx context.Context) (run, scratch string, drop func(), err error) {
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/waybill?sslmode=disable"
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", "", nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := "waybill_bench_" + hex.EncodeToString(b[:])
	names := []string{name, name + "_raw"}
	urls := make([]string, 2)
	for i, n := range names {
		v := *u
		v.Path = "/" + n
		urls[i] = v.String()
		if err := projection.EnsureDatabase(ctx, urls[i]); err != nil {
			return "", "", nil, err
		}
	}
	drop = func() {
		admin := *u
		admin.Path = "/postgres"
		c, err := pgx.Connect(context.Background(), admin.String())
		if err != nil {
			logf("drop databases: %v", err)
			return
		}
		defer c.Close(context.Background())
		for _, n := range names {
			if _, err := c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{n}.Sanitize()+" WITH (FORCE)"); err != nil {
				logf("drop database %s: %v", n, err)
			}
		}
	}
	conn, err := pgx.Connect(ctx, urls[1])
	if err != nil {
		drop()
		return "", "", nil, err
	}
	defer conn.Close(ctx)
	if err := projection.Migrate(ctx, conn); err != nil {
		drop()
		return "", "", nil, err
	}
	return urls[0], urls[1], drop, nil
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return s
}

// waitDrained waits until the pipeline holds no work: every durable
// consumer of RAW and SHIPMENTS has delivered and had acked everything, and
// CANDIDATES (the normalizer's work queue, which keeps what the reorder
// buffers hold) is empty. Then every stored webhook is in Postgres.
func waitDrained(ctx context.Context, js jetstream.JetStream, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		busy, err := pipelineBusy(ctx, js)
		if err == nil && busy == "" {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			if err != nil {
				busy = err.Error()
			}
			return time.Since(start), fmt.Errorf("pipeline not drained %v after the load: %s", timeout, busy)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pipelineBusy(ctx context.Context, js jetstream.JetStream) (string, error) {
	// CANDIDATES by its consumers, not its message count: it keeps acked
	// candidates until the normalizer trims them.
	for _, name := range []string{streams.Raw, streams.Candidates, streams.Shipments} {
		s, err := js.Stream(ctx, name)
		if err != nil {
			return "", err
		}
		l := s.ListConsumers(ctx)
		for info := range l.Info() {
			if info.Config.Durable != "" && (info.NumPending > 0 || info.NumAckPending > 0) {
				return fmt.Sprintf("%s consumer %s: %d pending, %d unacked", name, info.Name, info.NumPending, info.NumAckPending), nil
			}
		}
		if err := l.Err(); err != nil {
			return "", err
		}
	}
	return "", nil
}

type countSample struct {
	at time.Time
	n  uint64
}

// sampleShipments records the SHIPMENTS message count every 100ms until
// ctx ends.
func sampleShipments(ctx context.Context, js jetstream.JetStream) []countSample {
	var out []countSample
	s, err := js.Stream(ctx, streams.Shipments)
	if err != nil {
		return nil
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if info, err := s.Info(context.Background()); err == nil {
			out = append(out, countSample{time.Now(), info.State.Msgs})
		}
		select {
		case <-ctx.Done():
			if info, err := s.Info(context.Background()); err == nil {
				out = append(out, countSample{time.Now(), info.State.Msgs})
			}
			return out
		case <-tick.C:
		}
	}
}

// normalizedRate is the rate SHIPMENTS grew at during the saturation
// phase and its drain, from the first event the phase added to the last
// (so without the first reorder window, when nothing can come out), and the
// events added.
func normalizedRate(s []countSample) (float64, uint64) {
	if len(s) < 2 {
		return 0, 0
	}
	first, last := s[0], s[len(s)-1]
	delta := last.n - first.n
	var from, to time.Time
	for i, c := range s {
		if from.IsZero() && c.n > first.n {
			from = s[max(i-1, 0)].at
		}
		if c.n == last.n {
			to = c.at
			break
		}
	}
	if delta == 0 || !to.After(from) {
		return 0, delta
	}
	return float64(delta) / to.Sub(from).Seconds(), delta
}

var replayLine = regexp.MustCompile(`replayed (\d+) events .* in (\S+), (\d+) events/s`)

// replay runs `waybill replay projection --no-swap`: SHIPMENTS rebuilt
// into waybill_rebuild by the operator's command, its figure as it reports
// it (events over the replay's own elapsed time).
func replay(ctx context.Context, bin, natsEnv, dbURL string, rep *pipelineReport) error {
	cmd := exec.CommandContext(ctx, bin, "replay", "projection", "--no-swap", "--quiet")
	cmd.Env = append(os.Environ(), natsEnv, "DATABASE_URL="+dbURL)
	var out strings.Builder
	cmd.Stdout = &out
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("waybill replay projection: %w", err)
	}
	// Peak RSS from /proc while it runs: a child's rusage Maxrss reports
	// the parent's when it was started with vfork, as os/exec does.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			rep.replayRSS = max(rep.replayRSS, procRSS(cmd.Process.Pid))
		}
	}
	if err != nil {
		return fmt.Errorf("waybill replay projection: %w\n%s", err, out.String())
	}
	rep.replayWall = time.Since(start)
	m := replayLine.FindStringSubmatch(out.String())
	if m == nil {
		return fmt.Errorf("waybill replay projection: unexpected output %q", out.String())
	}
	rep.replayEvents, _ = strconv.Atoi(m[1])
	rate, _ := strconv.ParseFloat(m[3], 64)
	rep.replay = rate
	rep.replayCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return nil
}

type streamStat struct {
	name   string
	stored uint64 // messages ever stored (the last sequence)
}

// streamWrites is how many messages each stream stored in the run: with
// sync_interval always, each is an fsync before its ack.
func streamWrites(ctx context.Context, js jetstream.JetStream) ([]streamStat, error) {
	var out []streamStat
	l := js.ListStreams(ctx)
	for info := range l.Info() {
		out = append(out, streamStat{info.Config.Name, info.State.LastSeq})
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b streamStat) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// pipelineReport is every figure of the run.
type pipelineReport struct {
	opts                             pipelineOptions
	hooks, posted                    int
	mix                              string
	bodySize, eventSize              int
	rawSync, rawAsync, rawAsyncEvent float64
	phases                           []loadPhase // saturation, then the paced ones
	satDrain                         time.Duration
	shortPhases                      bool
	normalized                       float64
	normalizedEvents                 uint64
	cpu                              []map[string]float64 // cores, per phase
	start, end                       cpuSnapshot
	rss                              []procRSSNamed
	check                            *checkResult
	replay                           float64
	replayEvents                     int
	replayWall                       time.Duration
	replayCPU                        time.Duration
	replayRSS                        int64
	replaySame                       bool
	rawUpsert                        float64
	rawUpsertWriters                 int
	streams                          []streamStat
	elapsed                          time.Duration
}

func passFail(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}

func ms(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func (r *pipelineReport) markdown() string {
	o := r.opts
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	sat := r.phases[0]
	accepted := 0
	for _, ph := range r.phases {
		accepted += ph.ok
	}
	w("## Whole pipeline (issue 7): `bin/loadgen pipeline -shipments %d -saturation %v -phase %v`\n\n", o.shipments, o.saturation, o.phase)
	w("Machine: %s; %s. bin/ingress, bin/normalizer and bin/projector as processes; JetStream embedded in the load generator with `sync_interval: always` (as `waybill run`); Postgres %s; reorder window %v. Total run %v.\n\n",
		machine(), time.Now().UTC().Format("2006-01-02"), postgresVersion(o), o.reorderWindow, r.elapsed.Round(time.Second))
	w("Workload (pkg/webhookload, seed %d): %d shipments of 5-15 checkpoints, %d webhooks (%s), 5%% posted out of order; mean body %d B, normalized event %d B. Posted %d, accepted %d.\n\n",
		o.seed, o.shipments, r.hooks, r.mix, r.bodySize, r.eventSize, r.posted, accepted)

	w("| figure | measured | limit (same run) | ratio | target |\n|---|---|---|---|---|\n")
	ingRatio := sat.rate() / r.rawSync
	w("| webhooks accepted/s at saturation (%d clients, closed loop) | %.0f | raw sync publish of the same bodies, %d goroutines: %.0f msg/s | **%.2f** | ≥ %.1f %s |\n",
		o.clients, sat.rate(), o.clients, r.rawSync, ingRatio, targetIngress, passFail(ingRatio >= targetIngress))
	w("| webhooks accepted/s at saturation | %.0f | raw async publish of the same bodies, 1 publisher: %.0f msg/s | %.2f | |\n",
		sat.rate(), r.rawAsync, sat.rate()/r.rawAsync)
	through := float64(sat.ok) / (sat.elapsed + r.satDrain).Seconds()
	w("| webhooks through the whole pipeline/s (saturation's accepted / (its posting + drain)) | %.0f | raw sync publish: %.0f msg/s | %.2f | |\n",
		through, r.rawSync, through/r.rawSync)
	w("| normalized events/s (saturation and its drain, first to last of its %d events) | %.0f | raw async publish of %d B messages: %.0f msg/s | %.2f | |\n",
		r.normalizedEvents, r.normalized, r.eventSize, r.rawAsyncEvent, r.normalized/r.rawAsyncEvent)
	budget := o.reorderWindow + targetE2E
	var p99half time.Duration
	half := false
	for _, ph := range r.phases[1:] {
		if ph.name == "50%" && len(ph.e2e) > 0 {
			p99half, half = pct(ph.e2e, 99), true
		}
	}
	if half && o.rate > 0 {
		w("| end-to-end p99 at 50%% of -rate %.0f/s, not of saturation: no verdict | %v | reorder window + %v = %v | %.2f | |\n",
			o.rate, p99half, targetE2E, budget, p99half.Seconds()/budget.Seconds())
	} else if half {
		w("| end-to-end p99 at 50%% load (HTTP 200 -> row in waybill.shipment_events) | %v | reorder window + %v = %v | **%.2f** | < 1 %s |\n",
			ms(p99half), targetE2E, budget, p99half.Seconds()/budget.Seconds(), passFail(p99half < budget))
	} else {
		w("| end-to-end p99 at 50%% load | not measured | reorder window + %v = %v | | **FAIL** |\n", targetE2E, budget)
	}
	replayRatio := r.replay / r.rawUpsert
	w("| replay events/s (`waybill replay projection`, %d events) | %.0f | raw batched upsert of the same rows, batches of 1000, %d writers: %.0f events/s | **%.2f** | ≥ %.1f %s |\n\n",
		r.replayEvents, r.replay, r.rawUpsertWriters, r.rawUpsert, replayRatio, targetReplay, passFail(replayRatio >= targetReplay))

	w("| load | offered webhooks/s | accepted/s | rejected (400) | failed | HTTP p50 | HTTP p99 | e2e tracked | e2e p50 | e2e p95 | e2e p99 | never visible |\n")
	w("|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, ph := range r.phases {
		offered := fmt.Sprintf("closed loop, %d clients", o.clients)
		if ph.target > 0 {
			offered = fmt.Sprintf("%.0f", ph.target)
		}
		if ph.target == 0 {
			w("| %s | %s | %.0f | %d | %d | %v | %v | – | – | – | – | – |\n", ph.name, offered, ph.rate(), ph.rejected, ph.failed,
				ms(pct(ph.httpLatencies, 50)), ms(pct(ph.httpLatencies, 99)))
			continue
		}
		w("| %s | %s | %.0f | %d | %d | %v | %v | %d | %v | %v | %v | %d |\n", ph.name, offered, ph.rate(), ph.rejected, ph.failed,
			ms(pct(ph.httpLatencies, 50)), ms(pct(ph.httpLatencies, 99)), ph.tracked,
			ms(pct(ph.e2e, 50)), ms(pct(ph.e2e, 95)), ms(pct(ph.e2e, 99)), ph.notVisible)
	}
	if r.shortPhases {
		w("\nThe workload ran short: the paced phases were cut to fit it (raise -shipments).\n")
	}
	w("\nSaturation drained (every webhook accepted in it projected) %v after its last answer.\n\n", ms(r.satDrain))

	w("| process | CPU cores (phase and its drain): saturation |")
	for _, ph := range r.phases[1:] {
		w(" %s |", ph.name)
	}
	w(" CPU µs / accepted webhook (whole run) | peak RSS MiB |\n|---|---|")
	for range r.phases[1:] {
		w("---|")
	}
	w("---|---|\n")
	for _, p := range r.rss {
		w("| %s |", p.name)
		for _, c := range r.cpu {
			w(" %.2f |", c[p.name])
		}
		used := r.end.cpu[p.name] - r.start.cpu[p.name]
		w(" %.0f | %.0f |\n", float64(used.Microseconds())/float64(max(accepted, 1)), float64(p.bytes)/(1<<20))
	}
	w("| waybill replay projection | %.2f s CPU for %d events in %v |", r.replayCPU.Seconds(), r.replayEvents, ms(r.replayWall))
	for range r.phases[1:] {
		w(" |")
	}
	w(" %.0f per event | %.0f |\n\n", float64(r.replayCPU.Microseconds())/float64(max(r.replayEvents, 1)), float64(r.replayRSS)/(1<<20))

	var writes []string
	for _, st := range r.streams {
		writes = append(writes, fmt.Sprintf("%s %.2f", st.name, float64(st.stored)/float64(max(accepted, 1))))
	}
	w("JetStream messages stored per accepted webhook (with `sync_interval: always` one fsync per message published alone and one per atomic batch: the ingress batches RAW under load, the normalizer batches CANDIDATES, SHIPMENTS and the state bucket; DEADLETTER goes one by one): %s.\n\n", strings.Join(writes, ", "))
	w("Correctness: %s.\n", r.check.String())
	same := "identical to"
	if !r.replaySame {
		same = "**different from**"
	}
	w("Replay: the rebuilt projection (waybill_rebuild) is %s the live one (projection.TableHash).\n", same)
	w("Not in the stack: uspspoller (Tenovi's USPS parcels are not polled) and console.\n")
	return b.String()
}

var pgVersion string

func postgresVersion(pipelineOptions) string {
	if pgVersion == "" {
		return "(version unknown)"
	}
	return pgVersion
}
