package ingress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Ingress serves the webhook endpoints, the OAuth2 token endpoint and the
// operational endpoints on one listener.
//
// It runs on fasthttp rather than net/http: measured on this project's
// 2-core machine, the request path's allocations and syscalls dominate and
// fasthttp's reuse of request state is what brings the ingress to half of
// raw JetStream publish (BENCHMARKS.md). The operational endpoints are
// plain net/http handlers behind an adaptor: they are not on the hot path.
type Ingress struct {
	cfg     Config
	log     zerolog.Logger
	pub     *publisher
	metrics *metrics
	routes  map[string]*route
	oauth   map[string]*oauthClient // by client id
	ops     fasthttp.RequestHandler
}

// New builds the ingress over a NATS connection. ops carries the metrics
// registry and the readiness probes.
func New(cfg Config, nc *nats.Conn, log zerolog.Logger, ops *service.Ops) (*Ingress, error) {
	m := newMetrics(ops.Registry)
	pub, err := newPublisher(nc, cfg.PublishTimeout, m)
	if err != nil {
		return nil, err
	}
	pub.run()
	in := &Ingress{
		cfg: cfg, log: log, pub: pub, metrics: m,
		routes: map[string]*route{}, oauth: map[string]*oauthClient{},
		ops: fasthttpadaptor.NewFastHTTPHandler(ops.Handler()),
	}
	for name, auth := range cfg.Auth {
		p, ok := providers.Lookup(name)
		if !ok || !p.Info().Webhook {
			return nil, fmt.Errorf("ingress: %s: no webhook provider %q", AuthVar(name), name)
		}
		r, err := newRoute(p, name, streams.RawSubject(name), auth, in.metrics.forSource(name))
		if err != nil {
			return nil, err
		}
		in.routes[name] = r
		if oc, ok := auth.(*oauthClient); ok {
			if _, dup := in.oauth[oc.id]; dup {
				return nil, fmt.Errorf("ingress: OAuth2 client id %q configured for two sources", oc.id)
			}
			in.oauth[oc.id] = oc
		}
	}
	describeRoutes(in.routes, log)
	return in, nil
}

// Handler routes a request: webhooks, the token endpoint, then the
// operational endpoints.
func (in *Ingress) Handler(ctx *fasthttp.RequestCtx) {
	path := ctx.Path()
	if name, ok := strings.CutPrefix(string(path), "/webhooks/"); ok {
		if r, ok := in.routes[name]; ok {
			in.webhook(ctx, r)
			return
		}
		writeError(ctx, fasthttp.StatusNotFound, "no webhook source "+quoteName(name)+" is configured")
		return
	}
	if string(path) == "/oauth/token" {
		in.token(ctx)
		return
	}
	in.ops(ctx)
}

// DefaultGCPercent is the ingress binary's GOGC when the environment sets
// none. The ingress's live heap is small (3-10 MB: pooled buffers, the
// requests in flight) but it allocates a few KB per webhook, so at Go's
// default of 100 (and its 4 MB minimum heap goal) it collected every ~700
// webhooks and each cycle's fixed cost (stop-the-world, stacks, idle mark
// workers competing with the NATS server for the cores) came to ~5 µs per
// webhook. At 400 it collects 4x less often for ~12 MB more RSS, and the
// ingress runs ~12% fewer instructions per webhook (BENCHMARKS.md). GOGC
// and GOMEMLIMIT in the environment still win: set GOMEMLIMIT to the
// container's memory to bound the heap if bodies near the 1 MiB limit
// arrive in large bursts.
const DefaultGCPercent = 400

// TuneGC applies DefaultGCPercent unless GOGC is set. The ingress binary
// calls it; `waybill run`, which hosts every service in one process, does
// not.
func TuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(DefaultGCPercent)
	}
}

// Serve serves on ln until ctx ends, then stops taking new requests and
// lets those in flight finish (each holds its body until its PubAck), up to
// the shutdown timeout.
func (in *Ingress) Serve(ctx context.Context, ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:               in.Handler,
		Name:                  "waybill-ingress",
		MaxRequestBodySize:    int(in.cfg.MaxBody),
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		Concurrency:           64 * 1024,
		ErrorHandler:          in.serverError,
		NoDefaultDate:         true,
		NoDefaultServerHeader: true,
		Logger:                fasthttpLogger{in.log},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lingerListener{ln}) }()
	in.log.Info().Str("addr", ln.Addr().String()).Msg("ingress listening")
	select {
	case err := <-errc:
		return fmt.Errorf("ingress: serve: %w", err)
	case <-ctx.Done():
	}
	in.log.Info().Msg("draining: no new requests, finishing those in flight")
	sctx, cancel := context.WithTimeout(context.Background(), in.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.ShutdownWithContext(sctx)
	if err == nil {
		in.pub.close() // every handler has returned: no publish can follow
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("ingress: shutdown: %w", err)
	}
	return nil
}

// serverError answers what fasthttp rejects before the handler runs, none
// of it stored (no webhook was read): a body over the limit is 413, headers
// over the read buffer 431, a request not received within ReadTimeout 408,
// anything else (broken framing) 400. Only the handler's 400 means "on
// DEADLETTER", so the size and time limits must not answer it
// (docs/bad-input.md).
func (in *Ingress) serverError(ctx *fasthttp.RequestCtx, err error) {
	var r *route
	if name, ok := strings.CutPrefix(string(ctx.Path()), "/webhooks/"); ok {
		r = in.routes[name]
	}
	if c, ok := ctx.Conn().(*lingerConn); ok {
		c.linger.Store(true) // the client may still be sending what we refused
	}
	var small *fasthttp.ErrSmallBuffer
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		in.fail(ctx, r, fasthttp.StatusRequestEntityTooLarge,
			fmt.Sprintf("body over the limit of %d bytes", in.cfg.MaxBody))
	case errors.As(err, &small):
		in.fail(ctx, r, fasthttp.StatusRequestHeaderFieldsTooLarge, "request headers too large")
	case errors.As(err, &netErr) && netErr.Timeout():
		in.fail(ctx, r, fasthttp.StatusRequestTimeout, "request not received in time")
	default:
		in.fail(ctx, r, fasthttp.StatusBadRequest, "malformed HTTP request")
	}
}

// lingerListener hands fasthttp connections that can close gently.
type lingerListener struct{ net.Listener }

func (l lingerListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &lingerConn{Conn: c}, nil
}

// Bounds of a lingering close: what a refused client may still send is
// discarded (never buffered) for this long, up to this much.
const (
	lingerFor = 5 * time.Second
	lingerMax = 64 << 20
)

// lingerConn closes a connection whose request was refused before its body
// was read (serverError: 413, 431, ...) the way net/http does: closing a
// socket with unread input makes the kernel send a reset, and a client
// still writing a 10 MB body then sees "connection reset" instead of the
// 413, and retries. So it half-closes (the answer is sent, then EOF),
// discards what the client still sends, and closes when the client is done
// or the bounds are reached. Other connections close at once.
type lingerConn struct {
	net.Conn
	linger atomic.Bool
}

func (c *lingerConn) Close() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !c.linger.Load() || !ok {
		return c.Conn.Close()
	}
	if err := cw.CloseWrite(); err != nil {
		return c.Conn.Close()
	}
	go func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(lingerFor))
		_, _ = io.CopyN(io.Discard, c.Conn, lingerMax)
		_ = c.Conn.Close()
	}()
	return nil
}

func quoteName(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("%q", s)
}

// fasthttpLogger sends fasthttp's connection-level complaints (a client
// that sent too much, a connection reset) to the debug log: the request
// path already logs and counts what matters.
type fasthttpLogger struct{ log zerolog.Logger }

func (l fasthttpLogger) Printf(format string, args ...any) { l.log.Debug().Msgf(format, args...) }
