// Command normalizer maps raw provider messages to ordered, deduplicated
// normalized shipment events on SHIPMENTS.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/normalizer"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "normalizer:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	env := service.NewEnv()
	log := service.NewLogger("normalizer", env)
	cfg := normalizer.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	ops := service.NewOps()
	ops.Pprof = cfg.Pprof
	return normalizer.Run(ctx, cfg, log, ops)
}
