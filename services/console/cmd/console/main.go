// Command console serves waybill's read API and web console: look up any
// parcel, see its timeline, fix dead letters and watch events live.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/console"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "console:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	env := service.NewEnv()
	log := service.NewLogger("console", env)
	cfg := console.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	ops := service.NewOps()
	ops.Pprof = cfg.Pprof
	return console.Run(ctx, cfg, log, ops)
}
