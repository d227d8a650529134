package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/dlq"
	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Run serves the console on HTTP_ADDR until ctx ends: the API, the web
// console, /healthz /readyz /metrics. It starts even while NATS or
// Postgres are unavailable (readiness reports them, the API answers 503)
// and never migrates or writes the projection: until the projector has
// created it, /readyz says so. When ctx ends, live-event streams are ended,
// requests in flight get the shutdown timeout to finish, and Run returns.
func Run(ctx context.Context, cfg Config, log zerolog.Logger, ops *service.Ops) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	ln, err := service.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, log, ops, ln)
}

// serve is Run on a listener of the caller's (tests listen on port 0).
func serve(ctx context.Context, cfg Config, log zerolog.Logger, ops *service.Ops, ln net.Listener) error {
	defer ln.Close()
	if err := cfg.validate(); err != nil {
		return err
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 8
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = DefaultDatabaseURL
	}
	if cfg.NATSURL == "" {
		cfg.NATSURL = streams.DefaultURL
	}

	nc, js, err := streams.Connect(cfg.NATSURL, "waybill-console", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("console: DATABASE_URL: %w", err)
	}
	pcfg.MaxConns = int32(cfg.MaxConns)
	// Read only, and said so to Postgres: a bug here can never write the
	// projection.
	if pcfg.ConnConfig.RuntimeParams == nil {
		pcfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	pcfg.ConnConfig.RuntimeParams["default_transaction_read_only"] = "on"
	pcfg.ConnConfig.RuntimeParams["application_name"] = "waybill-console"
	pool, err := pgxpool.NewWithConfig(ctx, pcfg) // connects lazily: Postgres may come later
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	defer pool.Close()

	reader := lookup.New(pool)
	ops.AddProbe("nats", service.NATSProbe(nc, js))
	ops.AddProbe("postgres", reader.Ready)

	s := newServer(cfg, keysFor(cfg.Token), reader, js, newMetrics(ops.Registry), log, ctx.Done())
	log.Info().Str("addr", ln.Addr().String()).Msg("console started")
	err = service.Serve(ctx, log, ln, s.handler(ops), cfg.ShutdownTimeout)
	log.Info().Msg("console stopped")
	return err
}

func keysFor(token string) keys { return deriveKeys(token) }

func newServer(cfg Config, k keys, reader *lookup.Reader, js jetstream.JetStream, m *metrics, log zerolog.Logger, done <-chan struct{}) *server {
	s := &server{cfg: cfg, keys: k, db: reader, js: js, dlq: dlq.New(js), m: m, log: log, now: time.Now, done: done}
	s.stats = &statsCache{compute: s.computeStats}
	return s
}

// isUnavailable reports errors that mean "Postgres or NATS cannot answer
// now" rather than a bug: the API answers 503 and the client may retry.
func isUnavailable(err error) bool {
	var netErr net.Error
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionClosed) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, jetstream.ErrStreamNotFound) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}
