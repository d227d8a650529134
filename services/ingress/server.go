package ingress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
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
	pub, err := newPublisher(nc, cfg.PublishTimeout)
	if err != nil {
		return nil, err
	}
	in := &Ingress{
		cfg: cfg, log: log, pub: pub, metrics: newMetrics(ops.Registry),
		routes: map[string]*route{}, oauth: map[string]*oauthClient{},
		ops: fasthttpadaptor.NewFastHTTPHandler(ops.Handler()),
	}
	for name, auth := range cfg.Auth {
		p, ok := providers.Lookup(name)
		if !ok || !p.Info().Webhook {
			return nil, fmt.Errorf("ingress: %s: no webhook provider %q", AuthVar(name), name)
		}
		in.routes[name] = &route{
			provider: p, name: name, source: "/webhooks/" + name, subject: streams.RawSubject(name),
			auth: auth, metrics: in.metrics.forSource(name),
		}
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
	go func() { errc <- srv.Serve(ln) }()
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

// serverError answers what fasthttp rejects before the handler runs: a body
// over the limit is 413 (and never stored), anything else 400.
func (in *Ingress) serverError(ctx *fasthttp.RequestCtx, err error) {
	var r *route
	if name, ok := strings.CutPrefix(string(ctx.Path()), "/webhooks/"); ok {
		r = in.routes[name]
	}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		in.fail(ctx, r, fasthttp.StatusRequestEntityTooLarge,
			fmt.Sprintf("body over the limit of %d bytes", in.cfg.MaxBody))
		return
	}
	in.fail(ctx, r, fasthttp.StatusBadRequest, "malformed HTTP request")
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
