package proof

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

const modulePrefix = "github.com/waybill-dev/waybill/services/"

// The service binaries, built once per test binary into a temporary
// directory (removed by TestMain): a crash is a SIGKILL of a real process.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "waybill-proof-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binDir = dir
		start := time.Now()
		defer func() { t.Logf("built the service binaries in %v", time.Since(start).Round(time.Millisecond)) }()
		cmd := exec.Command("go", "build", "-trimpath", "-o", dir+string(filepath.Separator),
			modulePrefix+"ingress/cmd/ingress", modulePrefix+"normalizer/cmd/normalizer", modulePrefix+"projector/cmd/projector")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

// proc is one service binary run as a subprocess, restartable. Its output
// goes to a log file, shown when the test fails.
type proc struct {
	t    *testing.T
	name string
	bin  string
	env  []string
	addr string // HTTP_ADDR: ops endpoints (and webhooks on ingress)
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	runs int
}

func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		p.t.Fatalf("%s started twice", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		p.t.Fatal(err)
	}
	p.runs++
	fmt.Fprintf(f, "=== %s run %d, started %s\n", p.name, p.runs, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = f, f
	// Never outlive the test binary, whatever becomes of it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== %s run %d exited %s: %v\n", p.name, p.runs, time.Now().Format(time.RFC3339Nano), err)
		f.Close()
		close(done)
	}()
	p.cmd, p.done = cmd, done
}

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

func (p *proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// running reports whether the process is alive (it exits only when told to:
// an unexpected exit is a finding).
func (p *proc) running() bool {
	cmd, done := p.current()
	return cmd != nil && !closed(done)
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	cmd, done := p.current()
	if cmd == nil || closed(done) {
		p.t.Fatalf("%s: %v to a process that is not running", p.name, sig)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("%s: %v: %v", p.name, sig, err)
	}
}

// kill is kill -9: no drain, no flush, whatever was in hand is gone.
func (p *proc) kill() {
	p.t.Helper()
	p.signal(syscall.SIGKILL)
	p.wait(30 * time.Second)
}

// term is a graceful stop: the service drains.
func (p *proc) term() {
	p.t.Helper()
	p.signal(syscall.SIGTERM)
	if !p.wait(90 * time.Second) {
		p.t.Errorf("%s did not exit within 90s of SIGTERM", p.name)
		p.signal(syscall.SIGKILL)
		p.wait(30 * time.Second)
	}
}

func (p *proc) wait(d time.Duration) bool {
	_, done := p.current()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func (p *proc) pid() int {
	cmd, _ := p.current()
	return cmd.Process.Pid
}

// rss is the process's resident set size now (VmRSS) and at its peak
// (VmHWM), in bytes.
func (p *proc) rss() (now, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			now = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return now, peak, nil
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

// waitReady polls /readyz until it answers 200.
func (p *proc) waitReady(timeout time.Duration) {
	p.t.Helper()
	poll.Until(p.t, timeout, func() error {
		if !p.running() {
			return fmt.Errorf("%s exited (see its log)", p.name)
		}
		resp, err := probeClient.Get(p.url("/readyz"))
		if err != nil {
			return fmt.Errorf("%s not ready: %v", p.name, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s not ready: %d %s", p.name, resp.StatusCode, body)
		}
		return nil
	})
}

var probeClient = &http.Client{Timeout: 5 * time.Second}

// stack is the pipeline under test.
type stack struct {
	t     *testing.T
	nats  *natstest.Server
	js    jetstream.JetStream
	dbURL string
	pg    *pgProxy

	ingress    *proc
	normalizer *proc
	projector  *proc
	procs      []*proc
}

// stackOptions adjust one test's stack.
type stackOptions struct {
	// env adds to (or overrides) a service's environment, by service name.
	env map[string]map[string]string
}

func newStack(t *testing.T, opt stackOptions) *stack {
	t.Helper()
	bins := binaries(t)
	s := &stack{t: t, nats: natstest.Start(t), dbURL: pgtest.Database(t)}
	_, s.js = s.nats.Connect()
	var viaProxy string
	s.pg, viaProxy = newPGProxy(t, s.dbURL)

	logDir := t.TempDir()
	base := map[string]string{
		"NATS_URL":          s.nats.URL(),
		"WAYBILL_LOG_LEVEL": "warn",
	}
	envs := map[string]map[string]string{
		"ingress": {
			// Providers honour Retry-After; the load driver caps it anyway.
			"WAYBILL_RETRY_AFTER": "1s",
		},
		"normalizer": {
			// Short, so a killed normalizer's unacked messages come back
			// soon; the window still reorders what the load disorders.
			"NORMALIZER_REORDER_WINDOW": "500ms",
			"NORMALIZER_ACK_WAIT":       "6s",
		},
		"projector": {
			"DATABASE_URL":           viaProxy,
			"PROJECTOR_ACK_WAIT":     "5s",
			"PROJECTOR_RETRY_MAX":    "500ms",
			"WAYBILL_STALL_INTERVAL": "0",
		},
	}
	for k, v := range webhookload.Auth() {
		envs["ingress"][k] = v
	}
	for name, extra := range opt.env {
		for k, v := range extra {
			envs[name][k] = v
		}
	}
	mk := func(name string) *proc {
		p := &proc{t: t, name: name, bin: filepath.Join(bins, name), addr: freeAddr(t),
			log: filepath.Join(logDir, name+".log")}
		p.env = os.Environ()
		for k, v := range base {
			p.env = append(p.env, k+"="+v)
		}
		for k, v := range envs[name] {
			p.env = append(p.env, k+"="+v)
		}
		p.env = append(p.env, "HTTP_ADDR="+p.addr) // last wins in exec
		s.procs = append(s.procs, p)
		return p
	}
	s.ingress, s.normalizer, s.projector = mk("ingress"), mk("normalizer"), mk("projector")

	// Registered after natstest and pgtest, so run before them: the
	// processes go first, then the logs of a failed test are shown.
	t.Cleanup(func() {
		for _, p := range s.procs {
			if p.running() {
				cmd, _ := p.current()
				cmd.Process.Signal(syscall.SIGKILL)
				p.wait(30 * time.Second)
			}
		}
		if t.Failed() {
			for _, p := range s.procs {
				t.Logf("--- last lines of %s's log:\n%s", p.name, tail(p.log, 60))
			}
		}
	})
	return s
}

// start starts every service and waits until each is ready.
func (s *stack) start() {
	s.t.Helper()
	for _, p := range s.procs {
		p.start()
	}
	for _, p := range s.procs {
		p.waitReady(2 * time.Minute)
	}
}

// restart starts a stopped or killed service again and waits until it is
// ready.
func (s *stack) restart(p *proc) {
	s.t.Helper()
	p.start()
	p.waitReady(2 * time.Minute)
}

// alive fails the test if a service exited on its own.
func (s *stack) alive() {
	s.t.Helper()
	for _, p := range s.procs {
		if !p.running() {
			s.t.Errorf("%s exited on its own (see its log)", p.name)
		}
	}
}

func (s *stack) pool() *pgxpool.Pool {
	s.t.Helper()
	db, err := pgxpool.New(context.Background(), s.dbURL)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(db.Close)
	return db
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// pgProxy forwards TCP connections to Postgres. While down it breaks every
// open connection and closes each new one as soon as it is accepted, so the
// projector can neither keep nor open a connection: an outage as a client
// sees it, without giving up the port.
type pgProxy struct {
	target string
	ln     net.Listener
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newPGProxy(t *testing.T, dbURL string) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{target: u.Host, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

// cut starts the outage.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// restore ends it.
func (p *pgProxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *pgProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.down { // cut meanwhile
			p.mu.Unlock()
			c.Close()
			up.Close()
			continue
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		p.wg.Add(2)
		go pipe(up, c)
		go pipe(c, up)
	}
}
