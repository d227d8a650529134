package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// stack is `waybill run` as a subprocess, as a user starts it.
type stack struct {
	t       *testing.T
	bin     string
	env     []string
	ingress string
	console string
	dataDir string
	cmd     *exec.Cmd
	creds   devCredentials
}

func buildWaybill(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "waybill")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, bin: buildWaybill(t), dataDir: t.TempDir()}
	s.ingress, s.console = freePort(t), freePort(t)
	_, natsPort, _ := net.SplitHostPort(freePort(t))
	s.env = append(os.Environ(),
		"DATABASE_URL="+pgtest.Database(t), "WAYBILL_DATA_DIR="+s.dataDir, "WAYBILL_NATS_PORT="+natsPort,
		"WAYBILL_INGRESS_ADDR="+s.ingress, "WAYBILL_NORMALIZER_ADDR="+freePort(t), "WAYBILL_PROJECTOR_ADDR="+freePort(t),
		"WAYBILL_USPSPOLLER_ADDR="+freePort(t), "WAYBILL_CONSOLE_ADDR="+s.console,
		"NORMALIZER_REORDER_WINDOW=500ms", "WAYBILL_LOG_LEVEL=warn", "NATS_URL=")
	return s
}

func (s *stack) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "run")
	s.cmd.Env = s.env
	s.cmd.Stderr = os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	cmd := s.cmd
	s.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})
	poll.Until(s.t, 60*time.Second, func() error {
		resp, err := http.Get("http://" + s.ingress + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("ingress readyz %d", resp.StatusCode)
		}
		return nil
	})
	if s.creds.CarriyoKey != "" {
		return // the same file across restarts; posting goroutines read it
	}
	b, err := os.ReadFile(filepath.Join(s.dataDir, "dev-credentials.json"))
	if err != nil {
		s.t.Fatal(err)
	}
	if err := json.Unmarshal(b, &s.creds); err != nil {
		s.t.Fatal(err)
	}
}

// stop sends SIGTERM and waits: the drain path.
func (s *stack) stop() {
	s.t.Helper()
	s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		s.t.Fatal("waybill run did not exit within 60s of SIGTERM")
	}
}

func (s *stack) post(source string, body []byte, headers map[string]string) (int, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+s.ingress+"/webhooks/"+source, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if err := authenticate(req, s.creds.env()["WAYBILL_AUTH_"+strings.ToUpper(source)], body); err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func (s *stack) db() *pgxpool.Pool {
	s.t.Helper()
	var url string
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "DATABASE_URL="); ok {
			url = v
		}
	}
	db, err := pgxpool.New(context.Background(), url)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(db.Close)
	return db
}

type seed struct {
	source  string
	body    []byte
	headers map[string]string
}

// seeds are every seed-* fixture of every webhook provider.
func seeds(t *testing.T) []seed {
	t.Helper()
	var out []seed
	for _, p := range providers.Webhooks() {
		dir := filepath.Join("..", "..", "pkg", "providers", p.Info().Name, "testdata")
		paths, _ := filepath.Glob(filepath.Join(dir, "seed-*.json"))
		for _, path := range paths {
			if strings.HasSuffix(path, ".golden.json") || strings.HasSuffix(path, ".headers.json") {
				continue
			}
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			s := seed{source: p.Info().Name, body: body}
			if hb, err := os.ReadFile(strings.TrimSuffix(path, ".json") + ".headers.json"); err == nil {
				json.Unmarshal(hb, &s.headers)
			}
			out = append(out, s)
		}
	}
	return out
}

// expected computes, offline from the provider mappings, each shipment's
// events and final status: what the projection must show.
func expected(t *testing.T, all []seed) map[string][]tracking.Event {
	t.Helper()
	byKey := map[string]map[string]tracking.Event{}
	for _, s := range all {
		p, _ := providers.Lookup(s.source)
		h := http.Header{}
		for k, v := range s.headers {
			h.Set(k, v)
		}
		id, err := p.Identify(providers.Request{Body: s.body, Header: h.Get})
		if err != nil {
			t.Fatal(err)
		}
		evs, err := p.Map(providers.Raw{Source: s.source, ID: id.ID, Type: id.Type, Subject: id.Subject, Time: time.Now(), Data: s.body})
		if err != nil {
			continue // not a shipment
		}
		for _, e := range evs {
			e.Source = s.source
			e.Normalize()
			if byKey[e.ShipmentKey] == nil {
				byKey[e.ShipmentKey] = map[string]tracking.Event{}
			}
			byKey[e.ShipmentKey][e.ID] = e
		}
	}
	out := map[string][]tracking.Event{}
	for k, m := range byKey {
		for _, e := range m {
			out[k] = append(out[k], e)
		}
	}
	return out
}

func latest(evs []tracking.Event) tracking.Event {
	best := evs[0]
	for i := range evs {
		if tracking.Before(&best, &evs[i]) {
			best = evs[i]
		}
	}
	return best
}

// Tenovi's event time is the receipt time, so its expectation is checked
// by status and presence, not by id.
func receiptTimed(source string) bool { return source == "tenovi" }

func TestWaybillRunEndToEnd(t *testing.T) {
	s := newStack(t)
	s.start()
	all := seeds(t)
	for _, sd := range all {
		if code, err := s.post(sd.source, sd.body, sd.headers); err != nil || code != 200 {
			t.Fatalf("%s seed: %d %v", sd.source, code, err)
		}
	}
	want := expected(t, all)
	db := s.db()
	ctx := context.Background()
	poll.Until(t, 60*time.Second, func() error {
		for key, evs := range want {
			var status string
			var count int
			err := db.QueryRow(ctx, `SELECT status, event_count FROM waybill.shipments WHERE shipment_key = $1`, key).Scan(&status, &count)
			if err != nil {
				return fmt.Errorf("%s: %v", key, err)
			}
			if receiptTimed(evs[0].Source) {
				if count < len(evs) { // the USPS poller may add events
					return fmt.Errorf("%s: %d events, want at least %d", key, count, len(evs))
				}
				continue
			}
			if want := latest(evs); status != string(want.Status) || count != len(evs) {
				return fmt.Errorf("%s: %s with %d events, want %s with %d", key, status, count, want.Status, len(evs))
			}
		}
		return nil
	})

	t.Run("cli", func(t *testing.T) { s.checkCLI(t) })
	t.Run("console", func(t *testing.T) { s.checkConsole(t) })

	// SIGTERM in the middle of a load, then restart: every webhook that
	// was answered 200 is projected exactly once.
	const n = 400
	var mu sync.Mutex
	accepted := map[string]bool{}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	stopped := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			tn := fmt.Sprintf("1ZTERM%05d", i)
			body := fmt.Appendf(nil, `{"event":"tracking_update","event_id":"term-%d","msg":{"tracking_number":%q,"slug":"ups","tag":"InTransit","checkpoints":[{"checkpoint_time":"2026-03-01T10:00:00-05:00","tag":"InTransit","subtag":"InTransit_001","raw_tag":"AR","message":"Arrived","city":"Orlando","state":"FL","country_iso3":"USA"}]}}`, i, tn)
			for attempt := 0; attempt < 100; attempt++ { // a provider retries until it gets a 2xx
				code, err := s.post("wineshipping", body, nil)
				if err == nil && code == 200 {
					mu.Lock()
					accepted["ups:"+tn] = true
					mu.Unlock()
					return
				}
				select {
				case <-stopped:
				default:
				}
				time.Sleep(200 * time.Millisecond)
			}
		}(i)
		if i == n/2 {
			s.stop()
			close(stopped)
			s.start()
		}
	}
	wg.Wait()
	if len(accepted) != n {
		t.Fatalf("%d of %d webhooks accepted after retries", len(accepted), n)
	}
	poll.Until(t, 90*time.Second, func() error {
		var shipments, events, maxPer int
		err := db.QueryRow(ctx, `SELECT count(*), coalesce(sum(event_count),0) FROM waybill.shipments WHERE shipment_key LIKE 'ups:1ZTERM%'`).Scan(&shipments, &events)
		if err != nil {
			return err
		}
		if err := db.QueryRow(ctx, `SELECT coalesce(max(c),0) FROM (SELECT count(*) c FROM waybill.shipment_events WHERE shipment_key LIKE 'ups:1ZTERM%' GROUP BY shipment_key) x`).Scan(&maxPer); err != nil {
			return err
		}
		if shipments != n || events != n || maxPer != 1 {
			return fmt.Errorf("%d shipments, %d events (max %d per shipment), want %d each exactly once", shipments, events, maxPer, n)
		}
		return nil
	})
	s.stop()
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// cli runs the built waybill binary against the running stack.
func (s *stack) cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "WAYBILL_NATS_PORT="); ok {
			cmd.Env = append(cmd.Env, "NATS_URL=nats://127.0.0.1:"+v)
		}
	}
	out, err := cmd.Output()
	return string(out), err
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run EndToEnd -update, then review)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from %s:\n%s", name, path, got)
	}
}

// checkCLI runs every subcommand against the stack the seeds went into.
func (s *stack) checkCLI(t *testing.T) {
	out, err := s.cli(t, "shipment", "ups:1Z59E877A871526000")
	if err != nil {
		t.Fatalf("shipment: %v", err)
	}
	golden(t, "shipment-wineshipping-seed", out)
	out, err = s.cli(t, "shipments", "--carrier", "dhl")
	if err != nil {
		t.Fatalf("shipments: %v", err)
	}
	golden(t, "shipments-dhl", out)

	out, err = s.cli(t, "shipment", "--json", "dhl:DHL-9123-7700-1234")
	var sh struct {
		Shipment lookup.Shipment `json:"shipment"`
		Events   []lookup.Event  `json:"events"`
	}
	if err != nil || json.Unmarshal([]byte(out), &sh) != nil || sh.Shipment.Status != tracking.Delivered ||
		sh.Shipment.ShipmentKey != "dhl:DHL-9123-7700-1234" || len(sh.Events) != 4 {
		t.Errorf("shipment --json: %v %s", err, out)
	}
	if _, err := s.cli(t, "shipment", "ups:NOSUCH"); err == nil {
		t.Error("shipment of an unknown key must fail")
	}

	out, err = s.cli(t, "status", "--json")
	var st struct {
		Streams  []streamStatus    `json:"streams"`
		Services map[string]string `json:"services"`
		ByStatus map[string]int    `json:"shipments_by_status"`
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: %v %s", err, out)
	}
	if st.Services["ingress"] != "ready" || st.ByStatus["delivered"] == 0 || len(st.Streams) < 5 {
		t.Errorf("status: %+v", st)
	}

	out, err = s.cli(t, "dlq", "list", "--json")
	if err != nil || !strings.Contains(out, "Letters") {
		t.Errorf("dlq list: %v %s", err, out)
	}
	if _, err := s.cli(t, "dlq", "show", "999999"); err == nil {
		t.Error("dlq show of a missing sequence must fail")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, "tail", "--since", "87600h", "--json", "shipments.dhl.*.delivered")
	cmd.Env = s.env
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "WAYBILL_NATS_PORT="); ok {
			cmd.Env = append(cmd.Env, "NATS_URL=nats://127.0.0.1:"+v)
		}
	}
	tailOut, _ := cmd.Output() // ends when the context does
	if n := strings.Count(string(tailOut), `"status":"delivered"`); n < 1 {
		t.Errorf("tail: %d delivered dhl events, want at least 1:\n%s", n, tailOut)
	}
	if _, err := s.cli(t, "tail", "shipments.a*"); err == nil {
		t.Error("tail with a bad filter must fail")
	}
	if _, err := s.cli(t, "health", baseURLOf(s.ingress)+"/readyz"); err != nil {
		t.Errorf("health: %v", err)
	}

	// demo posts every seed (the retry answers duplicate) and prints the
	// shipments it made.
	out, err = s.cli(t, "demo", "--fixtures", filepath.Join("..", "..", "pkg", "providers"), "--data", s.dataDir,
		"--ingress", baseURLOf(s.ingress))
	if err != nil || !strings.Contains(out, `"duplicate":true`) || !strings.Contains(out, "ups:1Z59E877A871526000") {
		t.Errorf("demo: %v\n%s", err, out)
	}

	// dlq redrive: a webhook ingress rejected goes back to raw.<source>, once.
	if code, err := s.post("swiftpod", []byte(`{"event": {"no uuid": true}}`), nil); err != nil || code != 400 {
		t.Fatalf("rejected webhook: %d %v", code, err)
	}
	var page struct{ Letters []struct{ Seq uint64 } }
	poll.Until(t, 10*time.Second, func() error {
		out, err := s.cli(t, "dlq", "list", "--stage", "ingress", "--json")
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(out), &page); err != nil || len(page.Letters) == 0 {
			return fmt.Errorf("no ingress dead letter yet: %v %s", err, out)
		}
		return nil
	})
	seq := fmt.Sprint(page.Letters[0].Seq)
	if out, err := s.cli(t, "dlq", "show", seq); err != nil || !strings.Contains(out, "no uuid") {
		t.Errorf("dlq show: %v %s", err, out)
	}
	if out, err := s.cli(t, "dlq", "redrive", seq); err != nil || !strings.Contains(out, "raw.swiftpod") {
		t.Errorf("dlq redrive: %v %s", err, out)
	}
	if _, err := s.cli(t, "dlq", "redrive", seq); err == nil {
		t.Error("a second redrive of the same dead letter must fail")
	}
}

func baseURLOf(addr string) string { return "http://" + addr }

// checkConsole: `waybill run` serves the console with the generated token,
// and nothing without it.
func (s *stack) checkConsole(t *testing.T) {
	if s.creds.ConsoleToken == "" {
		t.Fatal("dev-credentials.json has no console token")
	}
	get := func(path, token string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+s.console+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := get("/api/v1/shipments/ups/1Z59E877A871526000", ""); code != http.StatusUnauthorized {
		t.Errorf("without the token: %d, want 401", code)
	}
	code, b := get("/api/v1/shipments/ups/1Z59E877A871526000", s.creds.ConsoleToken)
	var sh struct {
		Shipment struct {
			Status string `json:"status"`
		} `json:"shipment"`
		Events []json.RawMessage `json:"events"`
	}
	if code != http.StatusOK || json.Unmarshal(b, &sh) != nil || sh.Shipment.Status != "delivered" || len(sh.Events) != 12 {
		t.Fatalf("console shipment: %d %s", code, b)
	}
	if code, b := get("/", ""); code != http.StatusOK || !bytes.Contains(b, []byte("<html")) {
		t.Errorf("console page: %d", code)
	}
}
