package ingress

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	_ "github.com/waybill-dev/waybill/pkg/providers/all" // every provider registers itself
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Run connects to NATS, makes sure the streams exist, and serves until ctx
// ends; then it drains: requests in flight complete and their publishes are
// flushed before the connection closes.
func Run(ctx context.Context, cfg Config, log zerolog.Logger, ops *service.Ops) error {
	nc, js, err := streams.Connect(cfg.NATSURL, "waybill-ingress", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	ops.AddProbe("nats", service.NATSProbe(nc, js))
	if err := streams.EnsureWithRetry(ctx, js, cfg.Streams, log); err != nil {
		return err
	}
	in, err := New(cfg, nc, log, ops)
	if err != nil {
		return err
	}
	ln, err := service.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	err = in.Serve(ctx, ln)
	_ = nc.FlushTimeout(5 * time.Second)
	return err
}
