package projector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// ReplayOptions chooses where a replay starts and how it writes.
type ReplayOptions struct {
	// Since starts at the first event stored on SHIPMENTS at or after it;
	// FromSeq at that stream sequence. At most one may be set; neither
	// replays the whole stream.
	Since   time.Time
	FromSeq uint64
	// BatchSize is the events per transaction (default 1000); Writers the
	// transactions run at once (default 2: on a small machine more writers
	// only contend for Postgres's CPU and the shipments' locks).
	BatchSize int
	Writers   int
	// Progress, if set, is called after each batch with the messages
	// handled so far and the number the replay expects to handle in all
	// (0 until the first message says). Calls do not overlap.
	Progress func(done, total uint64)
	// Log receives warnings: retries, rejected events.
	Log zerolog.Logger
}

// ReplayResult counts what a replay did.
type ReplayResult struct {
	// Messages is the SHIPMENTS messages read, FirstSeq and LastSeq their
	// stream sequences.
	Messages          uint64
	FirstSeq, LastSeq uint64
	// Inserted and Duplicates count the events the sink did not have and
	// those it had (or that were repeated on the stream).
	Inserted, Duplicates int
	// Rejected counts the messages that fail on their own: not written
	// (the live projector dead-lettered them).
	Rejected int
	Elapsed  time.Duration
}

// Replay writes SHIPMENTS to sink, from the chosen start up to the last
// message stored when it began, through the projector's batch writer:
// decoded, BatchSize events per transaction, Writers transactions at once,
// Postgres failures retried with backoff until ctx ends. It reads with an
// ordered consumer (ephemeral, no acks: the fastest way through a stream),
// so it does not touch the live projector's durable consumer.
//
// A sink that is a Finisher (a bulk rebuild) is finished once the last
// batch is written, inside the replay and its Elapsed time, failures that
// may pass retried like a batch's.
//
// Errors: ctx's when it ends first (the result says how far it got), the
// stream's, or the Finisher's.
func Replay(ctx context.Context, js jetstream.JetStream, sink Sink, opts ReplayOptions) (ReplayResult, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	if opts.Writers <= 0 {
		opts.Writers = 2
	}
	if opts.FromSeq > 0 && !opts.Since.IsZero() {
		return ReplayResult{}, errors.New("projector: replay: Since and FromSeq are exclusive")
	}
	start := time.Now()
	w := &batchWriter{
		sink: sink, retryMin: 100 * time.Millisecond, retryMax: 5 * time.Second, attemptTimeout: 2 * time.Minute,
		onRetry: func(err error, attempt int) {
			opts.Log.Warn().Err(err).Int("attempt", attempt).Msg("replay: batch not written: retrying")
		},
	}
	res, err := replayStream(ctx, js, w, opts)
	if f, ok := sink.(Finisher); ok && err == nil {
		if err = finish(ctx, w, f, opts.Log); err != nil {
			err = fmt.Errorf("projector: replay: %w", err)
		}
	}
	res.Elapsed = time.Since(start)
	return res, err
}

// Finisher is a Sink that completes what its Apply calls wrote once they
// have all returned, as a bulk rebuild (projection.BulkLoad) derives the
// shipments rows from the events and builds its indexes.
type Finisher interface {
	Sink
	Finish(ctx context.Context) error
}

// finish calls f.Finish, retrying failures that may pass with w's backoff.
func finish(ctx context.Context, w *batchWriter, f Finisher, log zerolog.Logger) error {
	delay := w.retryMin
	for attempt := 1; ; attempt++ {
		err := f.Finish(ctx)
		if err == nil || !projection.Retryable(err) || ctx.Err() != nil {
			return err
		}
		log.Warn().Err(err).Int("attempt", attempt).Msg("replay: finish failed: retrying")
		if err := w.pause(ctx, nil, delay, new(time.Time)); err != nil {
			return err
		}
		delay = min(2*delay, w.retryMax)
	}
}

// replayStream writes the chosen part of SHIPMENTS through w (see Replay).
func replayStream(ctx context.Context, js jetstream.JetStream, w *batchWriter, opts ReplayOptions) (ReplayResult, error) {
	stream, err := js.Stream(ctx, streams.Shipments)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("projector: replay: %w", err)
	}
	state := stream.CachedInfo().State
	last := state.LastSeq
	if state.Msgs == 0 || opts.FromSeq > last {
		return ReplayResult{}, nil
	}
	cc := jetstream.OrderedConsumerConfig{FilterSubjects: []string{"shipments.>"}, DeliverPolicy: jetstream.DeliverAllPolicy}
	switch {
	case opts.FromSeq > 0:
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, opts.FromSeq
	case !opts.Since.IsZero():
		since := opts.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := stream.OrderedConsumer(ctx, cc)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("projector: replay: %w", err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4 * opts.BatchSize))
	if err != nil {
		return ReplayResult{}, fmt.Errorf("projector: replay: %w", err)
	}
	defer it.Stop()
	// A writer that fails ends the replay too.
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(wctx, it.Stop)
	defer stop()

	r := &replay{opts: opts, w: w}
	// Decoding runs in a stage of its own, so the writers' connections do
	// not idle while their next batch is decoded.
	batches := make(chan []jetstream.Msg, opts.Writers)
	decodedBatches := make(chan decoded, opts.Writers)
	var decoders, writers sync.WaitGroup
	for range opts.Writers {
		decoders.Add(1)
		go func() {
			defer decoders.Done()
			for b := range batches {
				decodedBatches <- decode(b)
			}
		}()
		writers.Add(1)
		go func() {
			defer writers.Done()
			for d := range decodedBatches {
				if err := r.write(wctx, d); err != nil {
					cancel(err)
				}
			}
		}()
	}
	readErr := r.read(wctx, cons, it, last, batches)
	close(batches)
	decoders.Wait()
	close(decodedBatches)
	writers.Wait()
	switch {
	case context.Cause(wctx) != nil:
		return r.res, context.Cause(wctx)
	case readErr != nil:
		return r.res, fmt.Errorf("projector: replay: %w", readErr)
	}
	return r.res, nil
}

type replay struct {
	opts ReplayOptions
	w    *batchWriter

	mu      sync.Mutex
	res     ReplayResult
	total   uint64 // expected messages, from the first one's metadata
	handled uint64 // messages whose batch is written
}

// read batches the stream up to sequence last, or until the consumer has
// nothing more (messages may have been deleted up to last).
func (r *replay) read(ctx context.Context, cons jetstream.Consumer, it jetstream.MessagesContext, last uint64, out chan<- []jetstream.Msg) error {
	var batch []jetstream.Msg
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		select {
		case out <- batch:
			batch = nil
			return true
		case <-ctx.Done():
			return false
		}
	}
	first := true
	for {
		msg, err := it.Next(jetstream.NextMaxWait(2 * time.Second))
		switch {
		case errors.Is(err, nats.ErrTimeout):
			// Idle: done if the consumer has delivered everything.
			info, ierr := cons.Info(ctx)
			if ierr == nil && info.NumPending == 0 {
				send()
				return nil
			}
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		meta, err := msg.Metadata()
		if err != nil {
			return err
		}
		seq := meta.Sequence.Stream
		r.mu.Lock()
		if first {
			first = false
			r.res.FirstSeq = seq
			r.total = min(meta.NumPending+1, last-min(seq, last)+1)
		}
		r.res.Messages++
		r.res.LastSeq = seq
		r.mu.Unlock()
		batch = append(batch, msg)
		done := seq >= last || meta.NumPending == 0
		if len(batch) >= r.opts.BatchSize || done {
			if !send() {
				return nil
			}
		}
		if done {
			return nil
		}
	}
}

// write writes one batch and adds its outcome to the result.
func (r *replay) write(ctx context.Context, d decoded) error {
	if ctx.Err() != nil {
		return nil // ending: drop what is queued
	}
	out, err := r.w.writeDecoded(ctx, d)
	if err != nil {
		return err
	}
	for _, rj := range out.rejected {
		h := rj.msg.Headers()
		ev := r.opts.Log.Warn().Str("subject", rj.msg.Subject())
		if meta, err := rj.msg.Metadata(); err == nil {
			ev = ev.Uint64("seq", meta.Sequence.Stream)
		}
		ev.Str("event_id", h.Get("ce-id")).Str("shipment_key", h.Get("ce-subject")).
			Str("reason", truncate(rj.reason.Error(), 300)).Msg("replay: event rejected: skipped")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.res.Inserted += out.result.Inserted
	r.res.Duplicates += out.result.Duplicates
	r.res.Rejected += len(out.rejected)
	r.handled += uint64(len(d.msgs))
	if r.opts.Progress != nil {
		r.opts.Progress(r.handled, max(r.total, r.handled))
	}
	return nil
}

// Compile-time checks: both projections are sinks.
var (
	_ Sink     = (*projection.Store)(nil)
	_ Finisher = (*projection.Rebuild)(nil)
)
