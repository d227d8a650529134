package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/services/normalizer"
	"github.com/waybill-dev/waybill/services/projector"
)

const replayUsage = `usage: waybill replay projection [--since TIME | --from-seq N] [--in-place] [--no-swap]
       waybill replay normalize [--since TIME] [--source S]

projection  rebuilds waybill.* from SHIPMENTS. By default into fresh tables
            (schema waybill_rebuild) swapped in atomically at the end: readers
            see the old tables until then, never a half-built state, and the
            events the live projector stored meanwhile are carried over.
            With --since or --from-seq the events are applied to the live
            tables instead (a partial replay cannot rebuild from scratch).
normalize   feeds RAW through the current mapping again into SHIPMENTS (after
            a mapping fix), through the normalizer's ordering: events
            SHIPMENTS already has are dropped, so running it twice is safe.

TIME is RFC 3339 (2025-10-20T08:00:00Z), a date (2025-10-20, UTC), or a
duration back from now (36h). NATS_URL and DATABASE_URL as for the services.
Run 'waybill replay projection --help' for all flags.`

// replayIO is where a replay command finds NATS and Postgres and writes.
type replayIO struct {
	natsURL, dbURL string
	stdout, stderr io.Writer
	tty            bool // stderr is a terminal: the progress bar redraws in place
	log            zerolog.Logger
}

// cmdReplay is `waybill replay projection|normalize`.
func cmdReplay(ctx context.Context, args []string) error {
	return runReplay(ctx, args, replayIO{
		natsURL: envOr("NATS_URL", streams.DefaultURL),
		dbURL:   envOr("DATABASE_URL", projector.DefaultDatabaseURL),
		stdout:  os.Stdout, stderr: os.Stderr, tty: isTerminal(os.Stderr),
		log: zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).
			Level(zerolog.WarnLevel).With().Timestamp().Logger(),
	})
}

func runReplay(ctx context.Context, args []string, rio replayIO) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(rio.stderr, replayUsage)
		if len(args) == 0 {
			return errUsage
		}
		return flag.ErrHelp
	}
	switch args[0] {
	case "projection":
		return replayProjection(ctx, args[1:], rio)
	case "normalize":
		return replayNormalize(ctx, args[1:], rio)
	}
	fmt.Fprintf(rio.stderr, "waybill replay: unknown target %q\n\n%s\n", args[0], replayUsage)
	return errUsage
}

// replayProjection is `waybill replay projection`.
func replayProjection(ctx context.Context, args []string, rio replayIO) error {
	fs := flag.NewFlagSet("replay projection", flag.ContinueOnError)
	fs.SetOutput(rio.stderr)
	since := fs.String("since", "", "replay the events stored on SHIPMENTS since `TIME`, into the live tables")
	fromSeq := fs.Uint64("from-seq", 0, "replay from this SHIPMENTS sequence `N`, into the live tables")
	inPlace := fs.Bool("in-place", false, "apply to the live tables instead of rebuilding them (implied by --since, --from-seq)")
	noSwap := fs.Bool("no-swap", false, "rebuild into waybill_rebuild and stop before the swap, to compare it first")
	batch := fs.Int("batch", 1000, "events per transaction")
	writers := fs.Int("writers", 2, "transactions at once")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), replayUsage+"\n\nflags of projection:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("replay projection: unexpected argument %q", fs.Arg(0))
	}
	var start time.Time
	if *since != "" {
		var err error
		if start, err = parseSince(*since, time.Now()); err != nil {
			return err
		}
	}
	partial := *since != "" || *fromSeq > 0
	switch {
	case *since != "" && *fromSeq > 0:
		return errors.New("replay projection: --since and --from-seq are exclusive")
	case *noSwap && (partial || *inPlace):
		return errors.New("replay projection: --no-swap rebuilds from scratch: not with --since, --from-seq or --in-place")
	case *batch < 1 || *writers < 1:
		return errors.New("replay projection: --batch and --writers must be positive")
	}
	live := *inPlace || partial

	nc, js, err := rio.connectNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	pool, err := openProjection(ctx, rio.dbURL, *writers+2)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := projection.New(pool)

	var (
		sink projector.Sink = store
		rb   *projection.Rebuild
	)
	if !live {
		if rb, err = store.BeginRebuild(ctx, projection.BulkLoad()); err != nil {
			return err
		}
	}
	if rb != nil {
		sink = rb
	}
	bar := rio.progress("replay", *quiet)
	res, err := projector.Replay(ctx, js, sink, projector.ReplayOptions{
		Since: start, FromSeq: *fromSeq, BatchSize: *batch, Writers: *writers, Progress: bar.Set, Log: rio.log,
	})
	bar.Finish()
	if err != nil {
		if rb != nil {
			_ = rb.Abort(context.WithoutCancel(ctx))
		}
		return fmt.Errorf("replay projection: %w (after %d events)", err, res.Messages)
	}
	if res.Messages == 0 {
		fmt.Fprintln(rio.stdout, "replayed 0 events: nothing on SHIPMENTS in that range")
	} else {
		fmt.Fprintf(rio.stdout, "replayed %d events (SHIPMENTS sequences %d-%d) in %s, %.0f events/s: %d new, %d duplicates, %d rejected\n",
			res.Messages, res.FirstSeq, res.LastSeq, res.Elapsed.Round(time.Millisecond),
			float64(res.Messages)/max(res.Elapsed.Seconds(), 1e-3), res.Inserted, res.Duplicates, res.Rejected)
	}
	schema := projection.Schema
	switch {
	case live:
		fmt.Fprint(rio.stdout, "applied to the live tables")
	case *noSwap:
		schema = "waybill_rebuild"
		fmt.Fprint(rio.stdout, "built in schema waybill_rebuild, not swapped in (run again without --no-swap to swap)")
	default:
		if err := rb.Swap(ctx); err != nil {
			_ = rb.Abort(context.WithoutCancel(ctx))
			return err
		}
		fmt.Fprint(rio.stdout, "swapped in")
	}
	var count int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "shipments"}.Sanitize()).Scan(&count); err != nil {
		return err
	}
	fmt.Fprintf(rio.stdout, ": %d shipments\n", count)
	return nil
}

// replayNormalize is `waybill replay normalize`: each RAW message is
// mapped with normalizer.MapRaw, the mapping the normalizer runs, and its
// events published to their shipment's CANDIDATES partition as the mapper
// publishes them (here one by one, each with its event id as message id,
// so running the command twice in a row stores no second copy). Ordering
// treats them like any candidate: dedup against what SHIPMENTS already
// has, reorder, late-marking. Raw messages that cannot be mapped are
// counted and logged; the live normalizer already dead-lettered them.
func replayNormalize(ctx context.Context, args []string, rio replayIO) error {
	fs := flag.NewFlagSet("replay normalize", flag.ContinueOnError)
	fs.SetOutput(rio.stderr)
	since := fs.String("since", "", "only the raw messages stored since `TIME`")
	source := fs.String("source", "", "only this source (raw.<source>)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), replayUsage+"\n\nflags of normalize:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("replay normalize: unexpected argument %q", fs.Arg(0))
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{"raw.>"}, DeliverPolicy: jetstream.DeliverAllPolicy}
	if *source != "" {
		if _, ok := providers.Lookup(*source); !ok {
			return fmt.Errorf("replay normalize: no provider %q", *source)
		}
		cc.FilterSubjects = []string{streams.RawSubject(*source)}
	}
	if *since != "" {
		start, err := parseSince(*since, time.Now())
		if err != nil {
			return err
		}
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}

	nc, _, err := rio.connectNATS()
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(30*time.Second))
	if err != nil {
		return err
	}
	partitions, err := streams.Partitions(ctx, js)
	if err != nil {
		return fmt.Errorf("replay normalize: %w (has the normalizer started once?)", err)
	}
	stream, err := js.Stream(ctx, streams.Raw)
	if err != nil {
		return fmt.Errorf("replay normalize: %w", err)
	}
	if stream.CachedInfo().State.Msgs == 0 {
		fmt.Fprintln(rio.stdout, "re-normalized 0 raw messages: RAW is empty")
		return nil
	}
	last := stream.CachedInfo().State.LastSeq
	cons, err := stream.OrderedConsumer(ctx, cc)
	if err != nil {
		return fmt.Errorf("replay normalize: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return fmt.Errorf("replay normalize: %w", err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	// Publishes are pipelined; a second goroutine waits for their acks.
	type outcome struct{ published, duplicates, failed int }
	futures := make(chan jetstream.PubAckFuture, 4096)
	settled := make(chan outcome, 1)
	go func() {
		var o outcome
		for f := range futures {
			select {
			case ack := <-f.Ok():
				o.published++
				if ack.Duplicate {
					o.duplicates++
				}
			case err := <-f.Err():
				o.failed++
				rio.log.Warn().Err(err).Str("event_id", f.Msg().Header.Get(nats.MsgIdHdr)).Msg("candidate not stored")
			}
		}
		settled <- o
	}()

	bar := rio.progress("re-normalize", *quiet)
	begin := time.Now()
	var raws, notShipment, unmappable, total uint64
	var firstSeq, lastSeq uint64
	readErr := func() error {
		defer close(futures)
		for {
			msg, err := it.Next(jetstream.NextMaxWait(2 * time.Second))
			switch {
			case errors.Is(err, nats.ErrTimeout):
				if info, ierr := cons.Info(ctx); ierr == nil && info.NumPending == 0 {
					return nil // the filter matched nothing more
				}
				continue
			case err != nil:
				return err
			}
			meta, err := msg.Metadata()
			if err != nil {
				return err
			}
			if raws == 0 {
				firstSeq = meta.Sequence.Stream
				total = min(meta.NumPending+1, last-min(firstSeq, last)+1)
			}
			raws++
			lastSeq = meta.Sequence.Stream
			src := strings.TrimPrefix(msg.Subject(), "raw.")
			events, err := normalizer.MapRaw(src, msg.Headers(), msg.Data())
			switch {
			case errors.Is(err, providers.ErrNotShipment):
				notShipment++
			case err != nil:
				unmappable++
				rio.log.Warn().Str("source", src).Str("raw_event_id", msg.Headers().Get("ce-id")).
					Str("reason", truncate(err.Error(), 200)).Msg("raw message not mappable: skipped")
			}
			for i := range events {
				e := &events[i]
				out, err := shipments.Message(streams.CandidateSubject(streams.PartitionOf(e.ShipmentKey, partitions), e.Carrier, e.TrackingNumber), e)
				if err != nil {
					return err
				}
				f, err := js.PublishMsgAsync(out, jetstream.WithMsgID(e.ID))
				if err != nil {
					return fmt.Errorf("publish candidate %s of %s: %w", e.ID, e.ShipmentKey, err)
				}
				futures <- f
			}
			bar.Set(raws, max(total, raws))
			if lastSeq >= last || meta.NumPending == 0 {
				return nil
			}
		}
	}()
	o := <-settled
	bar.Finish()
	if readErr != nil && ctx.Err() == nil {
		return fmt.Errorf("replay normalize: %w (after %d raw messages)", readErr, raws)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("replay normalize: %w (after %d raw messages)", ctx.Err(), raws)
	}
	elapsed := time.Since(begin)
	if raws == 0 {
		fmt.Fprintln(rio.stdout, "re-normalized 0 raw messages: nothing on RAW matches")
		return nil
	}
	fmt.Fprintf(rio.stdout, "re-normalized %d raw messages (RAW sequences %d-%d) in %s: %d candidate events stored on CANDIDATES (%d already there), %d not shipment events, %d unmappable\n",
		raws, firstSeq, lastSeq, elapsed.Round(time.Millisecond), o.published, o.duplicates, notShipment, unmappable)
	fmt.Fprintln(rio.stdout, "the normalizer's ordering drops the events SHIPMENTS already has and emits the rest")
	if o.failed > 0 {
		return fmt.Errorf("replay normalize: %d candidates not stored: run it again (it is safe)", o.failed)
	}
	return nil
}

// connectNATS dials NATS_URL once: a command wants an answer, not a retry
// loop.
func (rio replayIO) connectNATS() (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(rio.natsURL, nats.Name("waybill-replay"), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach NATS at %s (set NATS_URL): %w", rio.natsURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func (rio replayIO) progress(label string, quiet bool) *progress {
	if quiet {
		return newProgress(nil, label, false)
	}
	return newProgress(rio.stderr, label, rio.tty)
}

// openProjection creates and migrates the database if needed (as the
// projector does at start) and opens a pool of conns connections.
func openProjection(ctx context.Context, url string, conns int) (*pgxpool.Pool, error) {
	if err := projection.EnsureDatabase(ctx, url); err != nil {
		return nil, err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	err = projection.Migrate(ctx, conn)
	conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.MaxConns = int32(conns)
	return pgxpool.NewWithConfig(ctx, cfg)
}

// parseSince reads TIME: RFC 3339, a date (UTC), or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want RFC 3339 (2025-10-20T08:00:00Z), a date (2025-10-20) or a duration ago (36h)", s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
