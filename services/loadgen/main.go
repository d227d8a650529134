// Command loadgen measures waybill against this machine's own limits: each
// figure is printed beside the raw NATS (or Postgres) rate measured in the
// same run, as a ratio, so the numbers mean something on any machine.
//
//	loadgen ingress [-clients 64] [-duration 10s] [-rounds 3]
//	loadgen normalizer [-webhooks 20000]
//	loadgen pipeline [-shipments 8000] [-saturation 8s] [-phase 12s] [-o file]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/waybill-dev/waybill/pkg/streams"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: loadgen ingress|normalizer|pipeline [flags]")
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
	case "pipeline":
		fs := flag.NewFlagSet("pipeline", flag.ExitOnError)
		o := pipelineOptions{}
		fs.IntVar(&o.shipments, "shipments", 8000, "distinct shipments in the workload (about 10.5 webhooks each)")
		fs.Int64Var(&o.seed, "seed", 1, "workload seed")
		fs.DurationVar(&o.saturation, "saturation", 8*time.Second, "length of the closed-loop saturation phase")
		fs.DurationVar(&o.phase, "phase", 12*time.Second, "length of each paced phase (25%, 50%, 75% of saturation)")
		fs.IntVar(&o.clients, "clients", 64, "saturation clients, and raw sync publishing goroutines")
		fs.IntVar(&o.workers, "workers", 256, "most requests in flight during a paced phase")
		fs.DurationVar(&o.reorderWindow, "reorder-window", 2*time.Second, "NORMALIZER_REORDER_WINDOW of the normalizer")
		fs.Float64Var(&o.sample, "sample", 0.05, "share of shipments whose webhooks are tracked end to end")
		fs.DurationVar(&o.poll, "poll", 10*time.Millisecond, "Postgres poll interval of the end-to-end tracker (its resolution)")
		fs.DurationVar(&o.limit, "limit", 4*time.Second, "length of each raw JetStream publish limit")
		fs.DurationVar(&o.drainTimeout, "drain-timeout", 3*time.Minute, "longest wait for the pipeline to drain after a phase")
		fs.StringVar(&o.binDir, "bin", "bin", "directory of the ingress, normalizer, projector and waybill binaries")
		fs.StringVar(&o.out, "o", "", "also write the markdown report to this file")
		fs.BoolVar(&o.keep, "keep", false, "keep the run's databases")
		fs.IntVar(&o.partitions, "partitions", streams.DefaultPartitions, "CANDIDATES partitions (WAYBILL_PARTITIONS)")
		fs.Float64Var(&o.rate, "rate", 0, "webhooks/s the paced phases take as 100% instead of the measured saturation (to compare builds at equal load; the report says so)")
		fs.StringVar(&o.profile, "profile", "", "save each service's CPU profile and execution trace, taken during the 50% phase, to this directory")
		fs.Parse(os.Args[2:])
		if err := runPipeline(o); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
	default:
		fmt.Fprintf(os.Stderr, "loadgen: unknown benchmark %q\n", os.Args[1])
		os.Exit(2)
	}
}
