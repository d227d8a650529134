package streams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Atomic batches: one fsync for many messages.
//
// With sync_interval: always a JetStream file store fsyncs each message it
// stores, one at a time per stream, so a stream takes ~1-3k messages/s on
// this class of disk however many clients publish. An atomic batch
// (nats-server 2.12+, stream option allow_atomic) is staged and then
// committed with one sync: a stage that has many messages at hand (the
// normalizer's mapping and each reorder flush) stores them for the cost of
// about two. Streams that do not allow atomic publishing (an older server
// ignores the option) get one async publish per message.

// MaxBatch is the most messages in one atomic batch: the server's default
// limit (jetstream { limits { max_batch_size } }). A batch costs a fixed
// ~4 ms plus ~9 µs a message on this project's machine
// (BenchmarkBatchCommit: 31k msg/s in batches of 256, 75k in batches of
// 1000), and batches of one stream are committed one after the other
// however many are sent at once, so the larger the better. A server
// configured for less refuses larger batches; the Publisher then halves
// its own limit (see Batch).
const MaxBatch = 1000

// MinBatch is the fewest messages worth an atomic batch. A batch has a
// fixed cost: on a single node the server stages it in a file store of its
// own (a directory created, synced and removed), which costs about as much
// as a few one-by-one publishes and adds metadata writes that slow every
// other stream's fsyncs. Fewer messages are published one by one.
const MinBatch = 16

// Headers of atomic batch publishing; the server keeps them on the stored
// messages.
const (
	batchIDHeader     = "Nats-Batch-Id"
	batchSeqHeader    = "Nats-Batch-Sequence"
	batchCommitHeader = "Nats-Batch-Commit"
)

// Errors of a refused batch that PublishAll recovers from by publishing
// its messages one by one.
const (
	// One of its message ids is already on the stream (or twice in it).
	errCodeBatchDuplicate jetstream.ErrorCode = 10201
	// The stream no longer allows atomic batches: updated meanwhile by a
	// service of an older version, or a KV bucket's stream re-created by
	// a replica starting (it turns the option on again right after).
	// Batches are tried again after batchRetryAfter.
	errCodeBatchDisabled jetstream.ErrorCode = 10174
	// A compare-and-set (Nats-Expected-Last-Subject-Sequence) in it lost;
	// one by one, only that message fails.
	errCodeWrongLastSequence jetstream.ErrorCode = 10071
	// More messages than the server's max_batch_size: the Publisher
	// halves its limit (not below MinBatch).
	errCodeBatchTooLarge jetstream.ErrorCode = 10199
)

// batchRetryAfter is how long a Publisher publishes one by one after the
// stream refused a batch for allow_atomic being off.
const batchRetryAfter = 30 * time.Second

// batchTimeout bounds a batch's commit when ctx has no deadline.
const batchTimeout = 10 * time.Second

// Publisher stores messages on one stream, as atomic batches when the
// stream allows them. It is safe for concurrent use.
type Publisher struct {
	js     jetstream.JetStream
	stream string
	atomic atomic.Bool
	pause  atomic.Int64 // unix nanos until which batches are not tried
	max    atomic.Int64 // most messages in a batch: MaxBatch, less if the server refused that
}

// Stored is one message's outcome in PublishAll: its stream sequence, or
// why it was not stored.
type Stored struct {
	Seq uint64
	Err error
}

// NewPublisher returns a Publisher for stream, reading from the server
// whether the stream allows atomic batches.
func NewPublisher(ctx context.Context, js jetstream.JetStream, stream string) (*Publisher, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("streams: %s: %w", stream, err)
	}
	p := &Publisher{js: js, stream: stream}
	p.atomic.Store(s.CachedInfo().Config.AllowAtomicPublish)
	p.max.Store(MaxBatch)
	return p, nil
}

// MaxBatch is the most messages the Publisher puts in one batch now.
func (p *Publisher) MaxBatch() int { return int(p.max.Load()) }

// Atomic reports whether the Publisher stores atomic batches now.
func (p *Publisher) Atomic() bool { return p.atomic.Load() && time.Now().UnixNano() >= p.pause.Load() }

// PublishAll stores msgs in their order and returns each one's outcome:
// stored (or already stored: a duplicate message id), with its sequence, or
// not. In an atomic batch all messages share one outcome. A batch refused
// because one of its message ids is already stored (a redelivery after a
// failure) or one of its compare-and-sets lost is published again one
// message at a time, so the stream drops the duplicates, refuses only the
// lost compare-and-set, and stores the rest. msgs must be addressed to the
// Publisher's stream; their headers get the batch's.
func (p *Publisher) PublishAll(ctx context.Context, msgs []*nats.Msg) []Stored {
	out := make([]Stored, len(msgs))
	for start, end := 0, 0; start < len(msgs); start = end {
		end = min(start+p.MaxBatch(), len(msgs))
		chunk, res := msgs[start:end], out[start:end]
		if len(chunk) < MinBatch || !p.Atomic() {
			p.publishEach(chunk, res)
			continue
		}
		last, err := p.Batch(ctx, chunk)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) {
			switch apiErr.ErrorCode {
			case errCodeBatchDisabled, errCodeBatchDuplicate, errCodeWrongLastSequence, errCodeBatchTooLarge:
				p.publishEach(chunk, res)
				continue
			}
		}
		// A batch is stored under consecutive sequences.
		for i := range res {
			res[i] = Stored{Err: err}
			if err == nil {
				res[i].Seq = last - uint64(len(res)-1-i)
			}
		}
	}
	return out
}

// publishEach publishes every message asynchronously, then waits for all.
func (p *Publisher) publishEach(msgs []*nats.Msg, res []Stored) {
	futures := make([]jetstream.PubAckFuture, len(msgs))
	for i, m := range msgs {
		futures[i], res[i].Err = p.js.PublishMsgAsync(m)
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		select {
		case ack := <-f.Ok():
			res[i].Seq = ack.Sequence
		case res[i].Err = <-f.Err():
		}
	}
}

// Batch stores msgs (at most MaxBatch()) as one atomic batch and returns the
// last one's sequence; the others have the ones before it. On an error the
// batch's headers are removed again, so that msgs can be published one by
// one: every error leaves the batch stored whole or not at all, and one
// whose answer was lost (a timeout) may have been stored, which only
// messages with ids (then answered as duplicates) can be sent again after.
// A refusal for allow_atomic being off pauses batches (Atomic) for a while.
func (p *Publisher) Batch(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	last, err := p.commit(ctx, msgs)
	if err == nil {
		return last, nil
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode {
		case errCodeBatchDisabled:
			p.pause.Store(time.Now().Add(batchRetryAfter).UnixNano())
		case errCodeBatchTooLarge:
			p.max.Store(int64(max(MinBatch, min(len(msgs), p.MaxBatch())/2)))
		}
	}
	for _, m := range msgs {
		m.Header.Del(batchIDHeader)
		m.Header.Del(batchSeqHeader)
		m.Header.Del(batchCommitHeader)
	}
	return 0, err
}

// batchAck is the server's answer to a batch's commit.
type batchAck struct {
	Error  *jetstream.APIError `json:"error,omitempty"`
	Stream string              `json:"stream"`
	Seq    uint64              `json:"seq"` // of the batch's last message
	Batch  string              `json:"batch"`
	Count  int                 `json:"count"`
}

// commit publishes msgs as one atomic batch: all but the last without a
// reply, the last with the commit header, answered once the whole batch is
// stored (or refused). It returns the last message's sequence.
func (p *Publisher) commit(ctx context.Context, msgs []*nats.Msg) (uint64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, batchTimeout)
		defer cancel()
	}
	nc := p.js.Conn()
	id := nuid.Next()
	for i, m := range msgs {
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(batchIDHeader, id)
		m.Header.Set(batchSeqHeader, strconv.Itoa(i+1))
		if i < len(msgs)-1 {
			if err := nc.PublishMsg(m); err != nil {
				return 0, fmt.Errorf("streams: batch to %s: %w", p.stream, err)
			}
			continue
		}
		m.Header.Set(batchCommitHeader, "1")
		resp, err := nc.RequestMsgWithContext(ctx, m)
		if err != nil {
			return 0, fmt.Errorf("streams: batch to %s: %w", p.stream, err)
		}
		var ack batchAck
		if err := json.Unmarshal(resp.Data, &ack); err != nil {
			return 0, fmt.Errorf("streams: batch to %s: unexpected answer %q", p.stream, resp.Data)
		}
		switch {
		case ack.Error != nil:
			return 0, ack.Error
		case ack.Stream != p.stream || ack.Batch != id || ack.Count != len(msgs):
			return 0, fmt.Errorf("streams: batch %s to %s: answer %q does not confirm %d messages", id, p.stream, resp.Data, len(msgs))
		}
		return ack.Seq, nil
	}
	return 0, errors.New("streams: empty batch")
}
