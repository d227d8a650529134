package projector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// ConsumerName is the projector's durable consumer on SHIPMENTS.
const ConsumerName = "projector"

// Run connects to NATS and Postgres (creating and migrating the database,
// retrying while either is unavailable), serves /healthz /readyz /metrics
// on HTTP_ADDR from the start, and projects SHIPMENTS until ctx ends; then
// it drains: no more messages are fetched, those in hand are written and
// acked within the shutdown timeout.
func Run(ctx context.Context, cfg Config, log zerolog.Logger, ops *service.Ops, opts ...Option) error {
	o := options{clock: systemClock{}}
	for _, opt := range opts {
		opt(&o)
	}
	nc, js, err := streams.Connect(cfg.NATSURL, "waybill-projector", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	ops.AddProbe("nats", service.NATSProbe(nc, js))
	hl := &health{}
	ops.AddProbe("postgres", hl.probe)
	m := newMetrics(ops.Registry)

	ln, err := service.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- service.Serve(httpCtx, log, ln, ops.Handler(), cfg.ShutdownTimeout) }()
	err = project(ctx, cfg, o, nc.FlushTimeout, js, hl, m, log)
	stopHTTP()
	if serr := <-served; err == nil {
		err = serr
	}
	return err
}

// project is Run once the ops endpoints are served.
func project(ctx context.Context, cfg Config, o options, flush func(time.Duration) error, js jetstream.JetStream, hl *health, m *metrics, log zerolog.Logger) error {
	if err := streams.EnsureWithRetry(ctx, js, cfg.Streams, log); err != nil {
		return err
	}
	pool, err := openDatabase(ctx, cfg, hl, log)
	if err != nil {
		return err
	}
	defer pool.Close()
	hl.connected(pool)

	cons, err := js.CreateOrUpdateConsumer(ctx, streams.Shipments, jetstream.ConsumerConfig{
		Durable: ConsumerName, Description: "projector: shipments.> -> Postgres waybill.*",
		FilterSubject: "shipments.>", AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		// Room for every writer's batch, the one being collected and the
		// iterator's buffer. MaxDeliver stays unlimited: a message is
		// redelivered during a Postgres outage as often as it takes, and
		// only one that fails on its own is dead-lettered (by us, after
		// PROJECTOR_MAX_DELIVER), never dropped by the server.
		MaxAckPending: cfg.BatchSize * (cfg.Writers + 3), DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("projector: consumer: %w", err)
	}

	w := &batchWriter{
		sink: projection.New(pool), retryMin: 100 * time.Millisecond, retryMax: cfg.RetryMax,
		attemptTimeout: cfg.AckWait / 3, holdEvery: cfg.AckWait / 3,
		hold: func(msgs []jetstream.Msg) {
			for _, msg := range msgs {
				_ = msg.InProgress()
			}
		},
		onRetry: func(err error, attempt int) {
			hl.fail(err)
			m.retries.Inc()
			m.postgresUp.Set(0)
			if attempt == 1 || attempt%10 == 0 {
				log.Warn().Err(err).Int("attempt", attempt).Msg("postgres unavailable: batch held, retrying")
			}
		},
		onAnswered: func() {
			if !hl.writing() {
				log.Info().Msg("postgres writes resumed")
			}
			hl.ok()
			m.postgresUp.Set(1)
		},
	}
	c := &consumer{cfg: cfg, js: js, w: w, m: m, log: log}
	log.Info().Int("batch_size", cfg.BatchSize).Dur("batch_wait", cfg.BatchWait).Int("writers", cfg.Writers).
		Dur("stall_after", cfg.StallAfter).Msg("projector started")

	var wg sync.WaitGroup
	if cfg.StallInterval > 0 {
		d := &stallDetector{
			pool: pool, js: js, cons: cons, clock: o.clock, after: cfg.StallAfter,
			maxLag: uint64(cfg.BatchSize), writing: hl.writing, m: m, log: log,
		}
		wg.Add(1)
		go func() { defer wg.Done(); d.run(ctx, cfg.StallInterval) }()
	}
	err = c.run(ctx, cons)
	log.Info().Msg("drained")
	wg.Wait()
	_ = flush(5 * time.Second)
	return err
}

// openDatabase creates the database if missing, migrates it and opens the
// writers' pool, retrying with backoff until it succeeds or ctx ends:
// Postgres may start after the projector.
func openDatabase(ctx context.Context, cfg Config, hl *health, log zerolog.Logger) (*pgxpool.Pool, error) {
	pcfg, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		return nil, fmt.Errorf("projector: DATABASE_URL: %w", err)
	}
	// The writers, the stall scan and the readiness probe.
	pcfg.MaxConns = int32(cfg.Writers + 2)
	delay := 200 * time.Millisecond
	for {
		err := migrate(ctx, cfg.DatabaseURL)
		if err == nil {
			break
		}
		hl.fail(err)
		log.Warn().Err(err).Dur("retry_in", delay).Msg("postgres not ready")
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, cfg.RetryMax)
	}
	hl.ok()
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, fmt.Errorf("projector: %w", err)
	}
	return pool, nil
}

// migrate creates the database and applies the pending migrations on a
// connection of its own (projection.Migrate's advice).
func migrate(ctx context.Context, url string) error {
	actx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := projection.EnsureDatabase(actx, url); err != nil {
		return err
	}
	conn, err := pgx.Connect(actx, url)
	if err != nil {
		return fmt.Errorf("projector: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return projection.Migrate(actx, conn)
}
