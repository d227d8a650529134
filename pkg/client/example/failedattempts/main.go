// Command failedattempts is a waybill subscriber: it tells support about
// every failed delivery attempt, including those of the last day when it
// first starts (backfill), and resumes where it stopped after a restart.
//
//	NATS_URL=nats://127.0.0.1:4222 go run ./pkg/client/example/failedattempts
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/client"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	url := os.Getenv("NATS_URL")
	if url == "" {
		url = nats.DefaultURL
	}
	nc, err := nats.Connect(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer nc.Drain()
	js, _ := jetstream.New(nc)

	sub, err := client.Subscribe(ctx, js, client.Filter{Status: tracking.FailedAttempt}, "support-failed-attempts",
		func(_ context.Context, e tracking.Event) error {
			// A real service would open a ticket here; an error retries.
			fmt.Printf("%s %s failed delivery attempt at %s (%s %s): %s\n",
				e.OccurredAt.Format(time.RFC3339), e.ShipmentKey, e.LocalTime, e.Location.City, e.Location.State, e.Message)
			return nil
		},
		client.Since(time.Now().Add(-24*time.Hour)),
		client.OnError(func(e tracking.Event, err error, final bool) {
			fmt.Fprintf(os.Stderr, "event %s: %v (given up: %v)\n", e.ID, err, final)
		}),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	<-ctx.Done()
	sub.Stop()
}
