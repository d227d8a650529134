package service_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

func TestEnvReportsEveryProblem(t *testing.T) {
	env := service.EnvFrom(map[string]string{
		"A": "12x", "B": "soon", "C": "3", "D": "2MiB", "E": "lots", "EMPTY": " ",
	})
	if got := env.Int("A", 7, 0, 10); got != 7 {
		t.Errorf("bad int should give the default, got %d", got)
	}
	env.Duration("B", time.Second)
	if got := env.Int("C", 1, 1, 5); got != 3 {
		t.Errorf("C = %d", got)
	}
	if got := env.Bytes("D", 0); got != 2<<20 {
		t.Errorf("D = %d", got)
	}
	env.Bytes("E", 0)
	if got := env.String("EMPTY", "def"); got != "def" {
		t.Errorf("empty variable should give the default, got %q", got)
	}
	err := env.Err()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, name := range []string{"A=", "B=", "E="} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "C=") || strings.Contains(err.Error(), "D=") {
		t.Errorf("error names a good variable: %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{"1048576", 1 << 20, false}, {"512KiB", 512 << 10, false}, {"1 MiB", 1 << 20, false},
		{"1mb", 1 << 20, false}, {"2GiB", 2 << 30, false}, {"-1", 0, true}, {"MiB", 0, true}, {"1.5MiB", 0, true},
	}
	for _, tt := range tests {
		got, err := service.ParseBytes(tt.in)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseBytes(%q) = %d, %v", tt.in, got, err)
		}
	}
}

func TestLoggerLevel(t *testing.T) {
	env := service.EnvFrom(map[string]string{"WAYBILL_LOG_LEVEL": "warn"})
	if l := service.NewLogger("x", env); l.GetLevel() != zerolog.WarnLevel {
		t.Errorf("level %v", l.GetLevel())
	}
	env = service.EnvFrom(map[string]string{"WAYBILL_LOG_LEVEL": "chatty"})
	service.NewLogger("x", env)
	if env.Err() == nil {
		t.Error("bad level accepted")
	}
}

func TestOpsEndpointsAndGracefulShutdown(t *testing.T) {
	ops := service.NewOps()
	var notReady error = errors.New("nats CONNECTING")
	ops.AddProbe("nats", func(context.Context) error { return notReady })

	mux := http.NewServeMux()
	ops.Register(mux)
	release := make(chan struct{})
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, "done")
	})
	ln, err := service.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- service.Serve(ctx, zerolog.Nop(), ln, mux, 5*time.Second) }()
	base := "http://" + ln.Addr().String()

	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	if code, body := get("/readyz"); code != 503 || !strings.Contains(body, "nats CONNECTING") {
		t.Errorf("readyz %d %s", code, body)
	}
	notReady = nil
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("readyz after recovery %d", code)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics %d", code)
	}

	// A request in flight when the drain starts completes.
	slow := make(chan string, 1)
	go func() { _, body := get("/slow"); slow <- body }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if body := <-slow; body != "done" {
		t.Errorf("in-flight request got %q", body)
	}
	if err := <-served; err != nil {
		t.Fatal(err)
	}
}

// WAYBILL_PARTITIONS sets the partition count a new CANDIDATES stream is
// created with; unset it is streams.DefaultPartitions, and out of range an
// error naming the variable.
func TestLoadCommonPartitions(t *testing.T) {
	if c := service.LoadCommon(service.EnvFrom(nil), ":0"); c.Streams.Partitions != streams.DefaultPartitions {
		t.Errorf("default partitions %d, want %d", c.Streams.Partitions, streams.DefaultPartitions)
	}
	if c := service.LoadCommon(service.EnvFrom(map[string]string{"WAYBILL_PARTITIONS": "4"}), ":0"); c.Streams.Partitions != 4 {
		t.Errorf("WAYBILL_PARTITIONS=4: %d partitions", c.Streams.Partitions)
	}
	env := service.EnvFrom(map[string]string{"WAYBILL_PARTITIONS": "0"})
	service.LoadCommon(env, ":0")
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "WAYBILL_PARTITIONS") {
		t.Errorf("WAYBILL_PARTITIONS=0: error %v, want one naming it", err)
	}
}
