// Command ingress receives provider webhooks and stores them on RAW.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/ingress"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ingress:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	env := service.NewEnv()
	log := service.NewLogger("ingress", env)
	cfg := ingress.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	ops := service.NewOps()
	ops.Pprof = cfg.Pprof
	ingress.TuneGC()
	return ingress.Run(ctx, cfg, log, ops)
}
