package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// cmdTail is `waybill tail <subject filter>`: follow normalized events live.
func cmdTail(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("tail", flag.ContinueOnError)
	since := fs.Duration("since", 0, "start with the events of this last period (e.g. 1h) instead of only new ones")
	asJSON := fs.Bool("json", false, "print each event as a JSON line")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: waybill tail [--since 1h] [--json] [filter]

Follows normalized events as they are stored. The filter is a SHIPMENTS
subject, shipments.<carrier>.<tracking>.<status> with * and > wildcards,
e.g. 'shipments.*.*.failed_attempt' or 'shipments.ups.>' (default: all).`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	filter := "shipments.>"
	if fs.NArg() > 0 {
		filter = fs.Arg(0)
	}
	if err := checkFilter(filter); err != nil {
		return err
	}
	_, js, closeNATS, err := connectNATS()
	if err != nil {
		return err
	}
	defer closeNATS()
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}, DeliverPolicy: jetstream.DeliverNewPolicy}
	if *since > 0 {
		start := time.Now().Add(-*since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cons, err := js.OrderedConsumer(ctx, streams.Shipments, cfg)
	if err != nil {
		return fmt.Errorf("tail %s: %w", filter, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		msg, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return err
		}
		e, err := shipments.Decode(msg.Headers(), msg.Data())
		if err != nil {
			fmt.Fprintf(os.Stderr, "skipping %s: %v\n", msg.Subject(), err)
			continue
		}
		if *asJSON {
			os.Stdout.Write(append(append([]byte(nil), msg.Data()...), '\n'))
			continue
		}
		fmt.Println(formatEvent(e))
	}
}

func formatEvent(e tracking.Event) string {
	late := ""
	if e.Late {
		late = " [late]"
	}
	where := strings.Trim(e.Location.City+", "+e.Location.State, ", ")
	return fmt.Sprintf("%s  %-24s %-20s %s%s  %s  %s", e.OccurredAt.UTC().Format("2006-01-02 15:04:05"), e.ShipmentKey,
		e.Status, e.CarrierStatus, late, where, e.Message)
}

// checkFilter rejects what NATS would reject, with a message a person reads.
func checkFilter(f string) error {
	toks := strings.Split(f, ".")
	if toks[0] != "shipments" && toks[0] != "*" && toks[0] != ">" {
		return fmt.Errorf("filter %q: must start with shipments.", f)
	}
	for i, t := range toks {
		if t == "" {
			return fmt.Errorf("filter %q: empty token", f)
		}
		if t == ">" && i != len(toks)-1 {
			return fmt.Errorf("filter %q: '>' must be the last token", f)
		}
		if len(t) > 1 && strings.ContainsAny(t, "*>") {
			return fmt.Errorf("filter %q: wildcards must be whole tokens", f)
		}
	}
	if len(toks) > 4 {
		return fmt.Errorf("filter %q: shipments.<carrier>.<tracking>.<status> has 4 tokens", f)
	}
	return nil
}

func connectNATS() (*nats.Conn, jetstream.JetStream, func(), error) {
	nc, js, err := streams.Connect(envOr("NATS_URL", streams.DefaultURL), "waybill-cli", zerolog.Nop())
	if err != nil {
		return nil, nil, nil, err
	}
	// The CLI wants an answer, not a silent retry loop.
	deadline := time.Now().Add(5 * time.Second)
	for !nc.IsConnected() {
		if time.Now().After(deadline) {
			nc.Close()
			return nil, nil, nil, fmt.Errorf("cannot reach NATS at %s (set NATS_URL)", envOr("NATS_URL", streams.DefaultURL))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nc, js, nc.Close, nil
}
