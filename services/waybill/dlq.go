package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/waybill-dev/waybill/pkg/dlq"
)

// cmdDLQ is `waybill dlq list | show <seq> | redrive <seq|--all>`. It shares
// pkg/dlq with the console, so both redrive a dead letter at most once.
func cmdDLQ(ctx context.Context, args []string) error {
	usage := `usage: waybill dlq list [--stage S] [--source S] [--limit N] [--json]
       waybill dlq show <seq> [--json]
       waybill dlq redrive <seq> | --all [--stage S] [--source S]

Dead letters: what a stage (ingress, normalizer, projector) could not
process, with the reason. redrive republishes one to the subject it failed
from and removes it.`
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, usage)
		return errUsage
	}
	_, js, closeNATS, err := connectNATS()
	if err != nil {
		return err
	}
	defer closeNATS()
	q := dlq.New(js)
	fs := flag.NewFlagSet("dlq "+args[0], flag.ContinueOnError)
	stage := fs.String("stage", "", "only this stage")
	source := fs.String("source", "", "only this source")
	limit := fs.Int("limit", 50, "at most this many")
	asJSON := fs.Bool("json", false, "print JSON")
	all := fs.Bool("all", false, "redrive every dead letter matching --stage/--source")
	fs.Usage = func() { fmt.Fprintln(fs.Output(), usage) }
	sub, rest := args[0], args[1:]
	var positional []string
	for len(rest) > 0 { // flags may come before or after the sequence number
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	filter := dlq.Filter{Stage: *stage, Source: *source}
	seqArg := func() (uint64, error) {
		if len(positional) != 1 {
			return 0, fmt.Errorf("%s needs one sequence number\n%s", sub, usage)
		}
		return strconv.ParseUint(positional[0], 10, 64)
	}
	switch sub {
	case "list":
		page, err := q.List(ctx, filter, 0, *limit)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(os.Stdout, page)
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tSTAGE\tSOURCE\tAGE\tSIZE\tREASON")
		for _, l := range page.Letters {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", l.Seq, l.Stage, l.Source, time.Since(l.At).Round(time.Second), l.Size, l.Reason)
		}
		return tw.Flush()
	case "show":
		seq, err := seqArg()
		if err != nil {
			return err
		}
		l, err := q.Get(ctx, seq)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSON(os.Stdout, l)
		}
		fmt.Printf("seq %d  %s  %s\nstage %s  source %s  failed from %s\nreason: %s\n\n", l.Seq, l.Subject, l.At.UTC().Format(time.RFC3339), l.Stage, l.Source, l.From, l.Reason)
		for k, v := range l.Header {
			fmt.Printf("%s: %s\n", k, v[0])
		}
		fmt.Println()
		if utf8.Valid(l.Data) {
			fmt.Println(string(l.Data))
		} else {
			fmt.Printf("(%d bytes, not UTF-8)\n", len(l.Data))
		}
		return nil
	case "redrive":
		if *all {
			n := 0
			for {
				page, err := q.List(ctx, filter, 0, 100)
				if err != nil {
					return err
				}
				if len(page.Letters) == 0 {
					fmt.Printf("%d redriven\n", n)
					return nil
				}
				for _, l := range page.Letters {
					r, err := q.Redrive(ctx, l.Seq)
					if errors.Is(err, dlq.ErrNotFound) {
						continue // someone else redrove it
					}
					if err != nil {
						return fmt.Errorf("seq %d: %w", l.Seq, err)
					}
					n++
					fmt.Printf("seq %d -> %s\n", r.Seq, r.Subject)
				}
			}
		}
		seq, err := seqArg()
		if err != nil {
			return err
		}
		r, err := q.Redrive(ctx, seq)
		if err != nil {
			return err
		}
		fmt.Printf("seq %d -> %s (%s #%d)\n", r.Seq, r.Subject, r.Stream, r.StreamSeq)
		return nil
	}
	return fmt.Errorf("unknown dlq command %q\n%s", sub, usage)
}
