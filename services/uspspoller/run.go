package uspspoller

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Run connects to NATS, makes sure the streams and the schedule bucket
// exist, serves /healthz /readyz /metrics on HTTP_ADDR and polls until ctx
// ends; then it drains (see Poller.Run). It fails with ErrNoCredentials
// when USPS credentials are missing: `waybill run` calls StartFakeUSPS
// first in that case.
func Run(ctx context.Context, cfg Config, log zerolog.Logger, ops *service.Ops) error {
	if !cfg.HasCredentials() {
		return ErrNoCredentials
	}
	nc, js, err := streams.Connect(cfg.NATSURL, "waybill-uspspoller", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	ops.AddProbe("nats", service.NATSProbe(nc, js))
	if err := streams.EnsureWithRetry(ctx, js, cfg.Streams, log); err != nil {
		return err
	}
	p, err := New(ctx, cfg, nc, log, ops)
	if err != nil {
		return err
	}
	ln, err := service.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	// The HTTP server stops with the poller, also when the poller fails.
	sctx, stopServe := context.WithCancel(ctx)
	defer stopServe()
	served := make(chan error, 1)
	go func() { served <- service.Serve(sctx, log, ln, ops.Handler(), cfg.ShutdownTimeout) }()
	err = p.Run(ctx)
	stopServe()
	_ = nc.FlushTimeout(5 * time.Second)
	if serr := <-served; err == nil {
		err = serr
	}
	return err
}
