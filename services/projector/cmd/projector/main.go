// Command projector keeps the Postgres projection (waybill.shipments,
// waybill.shipment_events) up to date from SHIPMENTS and alerts on stalled
// shipments.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/projector"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "projector:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	env := service.NewEnv()
	log := service.NewLogger("projector", env)
	cfg := projector.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	ops := service.NewOps()
	ops.Pprof = cfg.Pprof
	return projector.Run(ctx, cfg, log, ops)
}
