package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/streams"
)

// Probe is one readiness check; nil means ready.
type Probe func(ctx context.Context) error

// Ops serves a service's operational endpoints: /healthz (the process is
// alive), /readyz (every probe passes: traffic may be sent) and /metrics
// (Prometheus). Each service has its own registry, so several services can
// run in one process (`waybill run`) and in parallel tests.
type Ops struct {
	Registry *prometheus.Registry
	// Pprof serves /debug/pprof/ (WAYBILL_PPROF=true): profiles are how
	// the hot paths here were tuned, and how an operator finds the next one.
	Pprof  bool
	mu     sync.Mutex
	probes map[string]Probe
}

// NewOps returns Ops with the Go runtime and process collectors registered.
func NewOps() *Ops {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Ops{Registry: reg, probes: map[string]Probe{}}
}

// AddProbe adds a readiness check under name.
func (o *Ops) AddProbe(name string, p Probe) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.probes[name] = p
}

// Ready runs every probe and returns the failures by name.
func (o *Ops) Ready(ctx context.Context) map[string]string {
	o.mu.Lock()
	probes := make(map[string]Probe, len(o.probes))
	for k, v := range o.probes {
		probes[k] = v
	}
	o.mu.Unlock()
	failed := map[string]string{}
	for name, p := range probes {
		if err := p(ctx); err != nil {
			failed[name] = err.Error()
		}
	}
	return failed
}

// Handler serves /healthz, /readyz and /metrics.
func (o *Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	o.Register(mux)
	return mux
}

// Register adds the operational routes to mux.
func (o *Ops) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if failed := o.Ready(ctx); len(failed) > 0 {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "checks": failed})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry}))
	if o.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
}

// NATSProbe is ready when the connection is up and every stream exists.
func NATSProbe(nc *nats.Conn, js jetstream.JetStream) Probe {
	return func(ctx context.Context) error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("nats %s", s)
		}
		return streams.Check(ctx, js)
	}
}

// WriteJSON writes v as a JSON response.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// SignalContext is cancelled on SIGTERM or SIGINT: the start of a drain.
func SignalContext(parent context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
}

// Serve serves h on ln until ctx ends, then stops taking connections and
// waits up to grace for requests in flight to complete.
func Serve(ctx context.Context, log zerolog.Logger, ln net.Listener, h http.Handler, grace time.Duration) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("http listening")
	select {
	case err := <-errc:
		return fmt.Errorf("http serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

// Listen opens a TCP listener on addr (":8080", "127.0.0.1:0").
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// SortedKeys is a small helper for deterministic logs of map keys.
func SortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
