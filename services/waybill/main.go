// Command waybill is the all-in-one development runner and the operator
// CLI: run the whole pipeline, post a demo, look up shipments, follow
// events, inspect and redrive dead letters, replay streams.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"

	"github.com/waybill-dev/waybill/pkg/service"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands is the CLI's table; `waybill help` lists it.
var commands = map[string]command{
	"run":       {"start the whole pipeline in one process (embedded NATS, every service)", cmdRun},
	"demo":      {"post the providers' seed webhooks to a running waybill and show the shipments", cmdDemo},
	"shipments": {"list shipments (--status, --carrier)", cmdShipments},
	"shipment":  {"one shipment's state and event timeline", cmdShipment},
	"tail":      {"follow normalized events live (a subject filter)", cmdTail},
	"dlq":       {"list, show and redrive dead letters", cmdDLQ},
	"status":    {"streams, consumers, service readiness, shipments by status", cmdStatus},
	"health":    {"exit 0 when a URL answers 200 (container health checks)", cmdHealth},
	"replay":    {"rebuild the projection from SHIPMENTS, or feed RAW through the mapping again", cmdReplay},
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "help" || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	cmd, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "waybill: unknown command %q\n\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	ctx, stop := service.SignalContext(context.Background())
	defer stop()
	if err := cmd.run(ctx, os.Args[2:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "waybill:", err)
		}
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: waybill <command> [flags]   (waybill <command> --help for its flags)\n\ncommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(os.Stderr, "  %-10s %s\n", n, commands[n].summary)
	}
}
