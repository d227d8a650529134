// Command uspspoller polls USPS Tracking v3 for the USPS parcels of
// non-granular sources and stores each response on raw.usps.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/uspspoller"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "uspspoller:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	env := service.NewEnv()
	log := service.NewLogger("uspspoller", env)
	cfg := uspspoller.LoadConfig(env)
	if err := env.Err(); err != nil {
		return err
	}
	return uspspoller.Run(ctx, cfg, log, service.NewOps())
}
