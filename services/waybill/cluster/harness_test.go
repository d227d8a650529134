package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/pkg/webhookload"
	"github.com/waybill-dev/waybill/services/ingress"
	"github.com/waybill-dev/waybill/services/normalizer"
	"github.com/waybill-dev/waybill/services/projector"
)

// pipeline is waybill on a 3-node cluster: R3 streams and replicas of
// every service, each either in this process (Run, stopped by cancelling
// its context: a drain) or a subprocess of the real binary (so a crash is a
// real SIGKILL).
type pipeline struct {
	t        *testing.T
	c        *natstest.Cluster
	js       jetstream.JetStream
	env      map[string]string
	db       *pgxpool.Pool
	bins     map[string]string // service -> binary, for subprocess replicas
	mu       sync.Mutex
	replicas map[string][]*replica
}

type replica struct {
	svc, addr string
	cancel    context.CancelFunc // in-process
	done      chan error
	cmd       *exec.Cmd // subprocess
}

func newPipeline(t *testing.T, env map[string]string) *pipeline {
	t.Helper()
	c := natstest.StartCluster(t, 3)
	_, js := c.Connect()
	p := &pipeline{t: t, c: c, js: js, bins: map[string]string{}, replicas: map[string][]*replica{}, env: map[string]string{
		"NATS_URL": c.URLs(), "WAYBILL_STREAM_REPLICAS": "3", "DATABASE_URL": pgtest.Database(t),
		"WAYBILL_LOG_LEVEL": "error",
		// Fast enough for a test, in the production proportions.
		"WAYBILL_PUBLISH_TIMEOUT": "3s", "WAYBILL_RETRY_AFTER": "1s",
		"NORMALIZER_REORDER_WINDOW": "1s", "NORMALIZER_ACK_WAIT": "10s",
		"NORMALIZER_PINNED_TTL": "5s", "NORMALIZER_HANDOVER_GRACE": "3s",
		"PROJECTOR_ACK_WAIT": "10s",
	}}
	for k, v := range webhookload.Auth() {
		p.env[k] = v
	}
	for k, v := range env {
		p.env[k] = v
	}
	return p
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start runs one more replica of svc, in this process or as a subprocess,
// and waits until it is ready.
func (p *pipeline) start(svc string, subprocess bool) *replica {
	p.t.Helper()
	r := &replica{svc: svc, addr: freeAddr(p.t)}
	env := map[string]string{"HTTP_ADDR": r.addr}
	for k, v := range p.env {
		env[k] = v
	}
	if subprocess {
		cmd := exec.Command(p.binary(svc))
		cmd.Env = os.Environ()
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			p.t.Fatal(err)
		}
		r.cmd = cmd
		p.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	} else {
		run := p.inProcess(svc, service.EnvFrom(env))
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel, r.done = cancel, make(chan error, 1)
		go func() { r.done <- run(ctx) }()
		p.t.Cleanup(func() { r.stop() })
	}
	p.mu.Lock()
	p.replicas[svc] = append(p.replicas[svc], r)
	p.mu.Unlock()
	poll.Until(p.t, 2*time.Minute, func() error { return r.ready() })
	return r
}

func (p *pipeline) inProcess(svc string, env *service.Env) func(context.Context) error {
	p.t.Helper()
	log := zerolog.New(os.Stderr).Level(zerolog.ErrorLevel).With().Str("service", svc).Logger()
	var run func(context.Context) error
	switch svc {
	case "ingress":
		cfg := ingress.LoadConfig(env)
		run = func(ctx context.Context) error { return ingress.Run(ctx, cfg, log, service.NewOps()) }
	case "normalizer":
		cfg := normalizer.LoadConfig(env)
		run = func(ctx context.Context) error { return normalizer.Run(ctx, cfg, log, service.NewOps()) }
	case "projector":
		cfg := projector.LoadConfig(env)
		run = func(ctx context.Context) error { return projector.Run(ctx, cfg, log, service.NewOps()) }
	default:
		p.t.Fatalf("no service %s", svc)
	}
	if err := env.Err(); err != nil {
		p.t.Fatal(err)
	}
	return run
}

// binary builds svc's command once.
func (p *pipeline) binary(svc string) string {
	p.t.Helper()
	if b, ok := p.bins[svc]; ok {
		return b
	}
	b := filepath.Join(p.t.TempDir(), svc)
	out, err := exec.Command("go", "build", "-o", b, "github.com/waybill-dev/waybill/services/"+svc+"/cmd/"+svc).CombinedOutput()
	if err != nil {
		p.t.Fatalf("build %s: %v\n%s", svc, err, out)
	}
	p.bins[svc] = b
	return b
}

func (r *replica) ready() error {
	resp, err := http.Get("http://" + r.addr + "/readyz")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: readyz %d", r.svc, r.addr, resp.StatusCode)
	}
	return nil
}

// stop drains the replica (SIGTERM for a subprocess) and waits for it.
func (r *replica) stop() {
	if r.cmd != nil {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Signal(os.Interrupt)
			_ = r.cmd.Wait()
		}
		return
	}
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.done <- nil
		r.cancel = nil
	}
}

// kill is a crash: SIGKILL, nothing flushed, nothing acked.
func (r *replica) kill() {
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}

// load posts webhooks to the ingress replicas in turn at a steady rate,
// retrying each until it is answered for good (as a provider does after a
// 503), and records what was answered.
type load struct {
	accepted  sync.Map // source|event id -> true: answered 200
	posted    atomic.Int64
	refused   atomic.Int64 // 503s
	mu        sync.Mutex
	at503     []time.Time
	failures  []string
	remaining atomic.Int64
}

func (p *pipeline) post(ctx context.Context, hooks []webhookload.Webhook, rate float64, workers int) *load {
	l := &load{}
	l.remaining.Store(int64(len(hooks)))
	addrs := p.addrs("ingress")
	client := &http.Client{Timeout: 30 * time.Second}
	var next atomic.Int64
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(hooks) || ctx.Err() != nil {
					return
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
				l.send(ctx, client, addrs, i, hooks[i])
				l.remaining.Add(-1)
			}
		}()
	}
	go func() { wg.Wait(); tick.Stop() }()
	return l
}

func (l *load) send(ctx context.Context, client *http.Client, addrs []string, i int, w webhookload.Webhook) {
	for attempt := 0; ctx.Err() == nil; attempt++ {
		addr := addrs[(i+attempt)%len(addrs)] // a retry may land on the other replica
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/webhooks/"+w.Source, bytes.NewReader(w.Body))
		for k, v := range w.Header {
			req.Header.Set(k, v)
		}
		l.posted.Add(1)
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		var body struct{ ID string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK:
			l.accepted.Store(w.Source+"|"+body.ID, true)
			return
		case resp.StatusCode == http.StatusServiceUnavailable:
			l.refused.Add(1)
			now := time.Now()
			l.mu.Lock()
			l.at503 = append(l.at503, now)
			l.mu.Unlock()
			if resp.Header.Get("Retry-After") == "" {
				l.fail("503 without Retry-After")
			}
			time.Sleep(200 * time.Millisecond) // the test's provider retries sooner than Retry-After asks
		case resp.StatusCode == http.StatusBadRequest && w.Malformed:
			return
		default:
			l.fail(fmt.Sprintf("%s %s: answered %d", w.Source, w.EventID, resp.StatusCode))
			return
		}
	}
}

func (l *load) fail(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.failures) < 20 {
		l.failures = append(l.failures, s)
	}
}

// unavailable describes when the ingress answered 503: the 503s grouped
// into windows (503s less than 2s apart), each with its length and count.
func (l *load) unavailable() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.at503) == 0 {
		return "never"
	}
	ts := append([]time.Time(nil), l.at503...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	var out []string
	start, n := ts[0], 1
	for i := 1; i <= len(ts); i++ {
		if i < len(ts) && ts[i].Sub(ts[i-1]) < 2*time.Second {
			n++
			continue
		}
		out = append(out, fmt.Sprintf("%d over %v", n, ts[i-1].Sub(start).Round(time.Millisecond)))
		if i < len(ts) {
			start, n = ts[i], 1
		}
	}
	return strings.Join(out, ", then ")
}

func (p *pipeline) addrs(svc string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.replicas[svc] {
		out = append(out, r.addr)
	}
	return out
}

// settled reports nil when every stage has consumed and acked everything:
// RAW by the mapper, CANDIDATES by the ordering, SHIPMENTS by the projector.
func (p *pipeline) settled(ctx context.Context) error {
	for _, c := range []struct{ stream, consumer string }{
		{streams.Raw, normalizer.MapperConsumer}, {streams.Shipments, projector.ConsumerName},
	} {
		cons, err := p.js.Consumer(ctx, c.stream, c.consumer)
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumPending > 0 || info.NumAckPending > 0 {
			return fmt.Errorf("%s: %d pending, %d unacked", c.consumer, info.NumPending, info.NumAckPending)
		}
	}
	n, err := normalizer.PendingCandidates(ctx, p.js)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d candidates not yet ordered", n)
	}
	return nil
}

// stored reads a whole stream in order.
func (p *pipeline) stored(ctx context.Context, stream string) []*jetstream.RawStreamMsg {
	p.t.Helper()
	s, err := p.js.Stream(ctx, stream)
	if err != nil {
		p.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			p.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// verify checks the end state against what was accepted:
//   - every webhook answered 200 is on RAW;
//   - SHIPMENTS holds exactly the events mapped offline from RAW, each
//     once, and each shipment's non-late events in carrier-time order;
//   - waybill.shipment_events holds exactly those events, and every
//     shipment's status is the one computed from its events offline.
func (p *pipeline) verify(ctx context.Context, l *load) {
	t := p.t
	t.Helper()
	onRaw := map[string]bool{}
	want := map[string]tracking.Event{}
	for _, m := range p.stored(ctx, streams.Raw) {
		source := strings.TrimPrefix(m.Subject, "raw.")
		onRaw[source+"|"+m.Header.Get("ce-id")] = true
		evs, err := normalizer.MapRaw(source, m.Header, m.Data)
		if err != nil {
			continue // not a shipment event, or dead-lettered by the normalizer
		}
		for _, e := range evs {
			want[e.ID] = e
		}
	}
	accepted := 0
	l.accepted.Range(func(k, _ any) bool {
		accepted++
		if !onRaw[k.(string)] {
			t.Errorf("webhook %s answered 200 but not on RAW", k)
		}
		return true
	})

	got := map[string]int{}
	byKey := map[string][]tracking.Event{}
	for _, m := range p.stored(ctx, streams.Shipments) {
		e, err := shipments.Decode(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if got[e.ID]++; got[e.ID] == 2 {
			t.Errorf("event %s (%s) on SHIPMENTS twice", e.ID, e.ShipmentKey)
		}
		byKey[e.ShipmentKey] = append(byKey[e.ShipmentKey], e)
	}
	for id, e := range want {
		if got[id] == 0 {
			t.Errorf("event %s (%s %s) lost", id, e.ShipmentKey, e.Status)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("event %s on SHIPMENTS was never mapped from RAW", id)
		}
	}
	late := 0
	for key, evs := range byKey {
		var prev *tracking.Event
		for i := range evs {
			if evs[i].Late {
				late++
				continue
			}
			if prev != nil && tracking.Before(&evs[i], prev) {
				t.Errorf("%s: non-late %s (%s) emitted after %s (%s)", key, evs[i].ID, evs[i].OccurredAt, prev.ID, prev.OccurredAt)
			}
			prev = &evs[i]
		}
	}

	rows, err := p.db.Query(ctx, `SELECT id FROM waybill.shipment_events`)
	if err != nil {
		t.Fatal(err)
	}
	inDB := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		inDB[id] = true
	}
	rows.Close()
	if len(inDB) != len(want) {
		t.Errorf("waybill.shipment_events has %d events, %d were mapped", len(inDB), len(want))
	}
	for id := range want {
		if !inDB[id] {
			t.Errorf("event %s not projected", id)
		}
	}
	expect := map[string]tracking.Event{}
	for _, e := range want {
		if cur, ok := expect[e.ShipmentKey]; !ok || tracking.Before(&cur, &e) {
			expect[e.ShipmentKey] = e
		}
	}
	srows, err := p.db.Query(ctx, `SELECT shipment_key, status, last_event_id FROM waybill.shipments`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for srows.Next() {
		var key, status, last string
		if err := srows.Scan(&key, &status, &last); err != nil {
			t.Fatal(err)
		}
		n++
		if e := expect[key]; string(e.Status) != status || e.ID != last {
			t.Errorf("%s: status %s (%s), computed from its events %s (%s)", key, status, last, e.Status, e.ID)
		}
	}
	srows.Close()
	if n != len(expect) {
		t.Errorf("%d shipments projected, %d computed", n, len(expect))
	}
	t.Logf("verified: %d webhooks answered 200, %d events of %d shipments (%d late) on SHIPMENTS and in Postgres",
		accepted, len(want), len(byKey), late)
}

// openDB connects to the test database (the projector created and
// migrated it).
func (p *pipeline) openDB() {
	p.t.Helper()
	pool, err := pgxpool.New(context.Background(), p.env["DATABASE_URL"])
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(pool.Close)
	p.db = pool
}
