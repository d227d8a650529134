// Command loadgen measures waybill against this machine's own limits: each
// figure is printed beside the raw NATS (or Postgres) rate measured in the
// same run, as a ratio, so the numbers mean something on any machine.
//
//	loadgen ingress [-clients 64] [-duration 10s] [-rounds 3]
//	loadgen normalizer [-webhooks 20000]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen ingress|normalizer [flags]")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "ingress":
		fs := flag.NewFlagSet("ingress", flag.ExitOnError)
		o := ingressOptions{}
		fs.IntVar(&o.clients, "clients", 64, "concurrent keep-alive clients (and raw publishing goroutines)")
		fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured phase")
		fs.IntVar(&o.rounds, "rounds", 3, "interleaved rounds of raw publish and ingress (the machine drifts)")
		fs.StringVar(&o.ingressBin, "bin", "bin/ingress", "ingress binary")
		fs.StringVar(&o.sync, "sync", "both", "server fsync: default, always or both")
		fs.IntVar(&o.procs, "procs", 0, "GOMAXPROCS of the ingress process (0: its own default)")
		fs.StringVar(&o.profile, "profile", "", "save a CPU profile of the ingress during round 1 to this path (+.default/.always)")
		fs.Parse(os.Args[2:])
		if err := runIngress(o); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	case "normalizer":
		fs := flag.NewFlagSet("normalizer", flag.ExitOnError)
		o := normalizerOptions{}
		fs.IntVar(&o.webhooks, "webhooks", 20000, "raw webhooks in the backlog")
		fs.StringVar(&o.bin, "bin", "bin/normalizer", "normalizer binary")
		fs.StringVar(&o.profile, "profile", "", "save a CPU profile of the normalizer's first seconds to this path")
		fs.Parse(os.Args[2:])
		if err := runNormalizer(o); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown benchmark %q\n", os.Args[1])
		os.Exit(2)
	}
}
