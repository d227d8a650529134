// Package dlq is the operator's side of the DEADLETTER stream: list dead
// letters by stage and source, read one with its body, count them, and
// redrive one to the subject it failed from exactly once. The console's API
// and the `waybill dlq` CLI both use it, so a dead letter behaves the same
// whichever way an operator touches it. Writing dead letters is
// pkg/deadletter's job.
package dlq

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Errors callers classify with errors.Is.
var (
	// ErrNotFound: no dead letter has that sequence (never had, or it was
	// redriven or expired).
	ErrNotFound = errors.New("dlq: no such dead letter")
	// ErrBadFilter: a stage or source that is not a plain subject token.
	ErrBadFilter = errors.New("dlq: bad filter")
	// ErrNotRedrivable: the dead letter does not say where it came from,
	// or it came from the DEADLETTER stream itself.
	ErrNotRedrivable = errors.New("dlq: dead letter cannot be redriven")
)

// MaxLimit bounds one page of List.
const MaxLimit = 1000

// Queue reads and redrives the dead letters of one stream. It is safe for
// concurrent use, also by several processes.
type Queue struct {
	js     jetstream.JetStream
	stream string
}

// Option configures a Queue.
type Option func(*Queue)

// WithStream reads another stream than streams.DeadLetter (tests, a
// mirror).
func WithStream(name string) Option { return func(q *Queue) { q.stream = name } }

// New returns a Queue over DEADLETTER.
func New(js jetstream.JetStream, opts ...Option) *Queue {
	q := &Queue{js: js, stream: streams.DeadLetter}
	for _, o := range opts {
		o(q)
	}
	return q
}

// Filter selects dead letters by stage and source; empty means any.
type Filter struct {
	Stage  string
	Source string
}

// Subject is the filter as a subject filter of the stream.
func (f Filter) Subject() string {
	tok := func(s string) string {
		if s == "" {
			return "*"
		}
		return s
	}
	return "deadletter." + tok(f.Stage) + "." + tok(f.Source)
}

// Validate reports ErrBadFilter unless stage and source are each empty or a
// plain subject token ([A-Za-z0-9_-], as streams.DeadLetterSubject writes
// them).
func (f Filter) Validate() error {
	for _, p := range []struct{ name, v string }{{"stage", f.Stage}, {"source", f.Source}} {
		if len(p.v) > 128 {
			return fmt.Errorf("%w: %s is longer than 128 bytes", ErrBadFilter, p.name)
		}
		for _, c := range []byte(p.v) {
			if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
				return fmt.Errorf("%w: %s may hold only letters, digits, '_' and '-'", ErrBadFilter, p.name)
			}
		}
	}
	return nil
}

// Letter is one dead letter. Header and Data are set by Get only; List
// reads headers without bodies and reports the body's Size.
type Letter struct {
	Seq     uint64
	Subject string // deadletter.<stage>.<source>
	Stage   string
	Source  string
	Reason  string
	// From is the subject the message failed from: where Redrive sends it.
	From string
	// At is when it was dead-lettered (the stream's timestamp).
	At     time.Time
	Size   int
	Header nats.Header
	Data   []byte
}

// Page is one page of List.
type Page struct {
	Letters []Letter
	// Next is the sequence to pass as from for the next page; 0 when this
	// was the last.
	Next uint64
}

// List returns up to limit dead letters matching f, oldest first, starting
// at stream sequence from (0 or 1: the beginning). Bodies are not read:
// one page costs three requests (create a headers-only ephemeral consumer,
// fetch, delete it) whatever the bodies weigh. Errors: ErrBadFilter, or
// JetStream's.
func (q *Queue) List(ctx context.Context, f Filter, from uint64, limit int) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	if limit < 1 || limit > MaxLimit {
		return Page{}, fmt.Errorf("dlq: limit %d outside 1..%d", limit, MaxLimit)
	}
	from = max(from, 1)
	// A plain ephemeral consumer rather than an ordered one: one page is
	// one fetch, and it is deleted right after (InactiveThreshold cleans up
	// if this process dies first).
	cons, err := q.js.CreateConsumer(ctx, q.stream, jetstream.ConsumerConfig{
		Description:       "dlq list page",
		FilterSubject:     f.Subject(),
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       from,
		AckPolicy:         jetstream.AckNonePolicy,
		HeadersOnly:       true,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		return Page{}, fmt.Errorf("dlq: list %s: %w", f.Subject(), err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = q.js.DeleteConsumer(dctx, q.stream, cons.CachedInfo().Name)
	}()
	batch, err := cons.FetchNoWait(limit + 1)
	if err != nil {
		return Page{}, fmt.Errorf("dlq: list %s: %w", f.Subject(), err)
	}
	var page Page
	for m := range batch.Messages() {
		meta, err := m.Metadata()
		if err != nil {
			continue
		}
		if len(page.Letters) == limit {
			page.Next = meta.Sequence.Stream
			continue // drain the batch
		}
		l := letter(meta.Sequence.Stream, m.Subject(), meta.Timestamp, m.Headers())
		l.Size, _ = strconv.Atoi(m.Headers().Get(nats.MsgSize))
		page.Letters = append(page.Letters, l)
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
		return Page{}, fmt.Errorf("dlq: list %s: %w", f.Subject(), err)
	}
	return page, nil
}

// Get returns the dead letter at seq with its headers and body. Errors:
// ErrNotFound, or JetStream's.
func (q *Queue) Get(ctx context.Context, seq uint64) (Letter, error) {
	m, err := q.get(ctx, seq)
	if err != nil {
		return Letter{}, err
	}
	l := letter(m.Sequence, m.Subject, m.Time, m.Header)
	l.Header, l.Data, l.Size = m.Header, m.Data, len(m.Data)
	return l, nil
}

func (q *Queue) get(ctx context.Context, seq uint64) (*jetstream.RawStreamMsg, error) {
	if seq == 0 {
		return nil, fmt.Errorf("%w: seq 0", ErrNotFound)
	}
	s, err := q.js.Stream(ctx, q.stream)
	if err != nil {
		return nil, fmt.Errorf("dlq: %s: %w", q.stream, err)
	}
	m, err := s.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, fmt.Errorf("%w: seq %d", ErrNotFound, seq)
	}
	if err != nil {
		return nil, fmt.Errorf("dlq: get %d: %w", seq, err)
	}
	return m, nil
}

// Count is how many dead letters one stage has for one source.
type Count struct {
	Stage    string
	Source   string
	Messages uint64
}

// Counts returns the number of dead letters by stage and source, sorted by
// stage then source. It reads the stream's per-subject counts: one request,
// no message is read.
func (q *Queue) Counts(ctx context.Context, f Filter) ([]Count, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	s, err := q.js.Stream(ctx, q.stream)
	if err != nil {
		return nil, fmt.Errorf("dlq: %s: %w", q.stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(f.Subject()))
	if err != nil {
		return nil, fmt.Errorf("dlq: %s info: %w", q.stream, err)
	}
	out := make([]Count, 0, len(info.State.Subjects))
	for subj, n := range info.State.Subjects {
		stage, source := splitSubject(subj)
		out = append(out, Count{Stage: stage, Source: source, Messages: n})
	}
	sortCounts(out)
	return out, nil
}

// Redriven says where a redriven message went.
type Redriven struct {
	Seq       uint64 // the dead letter's sequence (now deleted)
	Subject   string // where the original message was republished
	Stream    string // the stream that stored it
	StreamSeq uint64 // its sequence there
}

// Redrive republishes the dead letter at seq to the subject it failed from
// (headers and body as they were, without the dead-letter attributes) and
// then deletes it. It succeeds at most once per dead letter, also when
// several operators, consoles or CLIs redrive the same one at once:
//
//   - the republished message carries a Nats-Msg-Id derived from the dead
//     letter's identity (sequence and stored time), so concurrent
//     redrives store one copy: the target stream's duplicate window
//     collapses the others;
//   - deleting the dead letter is the claim: only one caller's DeleteMsg
//     succeeds, the others get ErrNotFound, so exactly one caller is told
//     it redrove the letter.
//
// Publishing comes before deleting, so a crash in between leaves the dead
// letter in place (nothing lost); redriving it again within the target's
// duplicate window (20 minutes by default) still stores no second copy.
// Errors: ErrNotFound, ErrNotRedrivable, or JetStream's (the dead letter
// is then kept).
func (q *Queue) Redrive(ctx context.Context, seq uint64) (Redriven, error) {
	m, err := q.get(ctx, seq)
	if err != nil {
		return Redriven{}, err
	}
	out := deadletter.Redrive(m.Header, m.Data)
	if out.Subject == "" || strings.HasPrefix(out.Subject, "deadletter.") {
		return Redriven{}, fmt.Errorf("%w: seq %d names subject %q", ErrNotRedrivable, seq, out.Subject)
	}
	ack, err := q.js.PublishMsg(ctx, out, jetstream.WithMsgID(RedriveID(m.Sequence, m.Time)))
	if err != nil {
		return Redriven{}, fmt.Errorf("dlq: redrive %d to %s: %w", seq, out.Subject, err)
	}
	s, err := q.js.Stream(ctx, q.stream)
	if err != nil {
		return Redriven{}, fmt.Errorf("dlq: %s: %w", q.stream, err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		// The server answers a delete of a missing message with a generic
		// failure; look again to tell "another redrive deleted it between
		// our read and our delete" (that one reports success, our publish
		// was a duplicate) from a real failure.
		if _, gerr := s.GetMsg(ctx, seq); errors.Is(gerr, jetstream.ErrMsgNotFound) {
			return Redriven{}, fmt.Errorf("%w: seq %d (redriven concurrently)", ErrNotFound, seq)
		}
		return Redriven{}, fmt.Errorf("dlq: redrive %d: delete: %w", seq, err)
	}
	return Redriven{Seq: seq, Subject: out.Subject, Stream: ack.Stream, StreamSeq: ack.Sequence}, nil
}

// RedriveID is the Nats-Msg-Id a redrive of the dead letter stored at seq
// and at publishes with. It differs from the failed message's own id (which
// the target stream may still remember) and is the same for every redrive
// of one dead letter.
func RedriveID(seq uint64, at time.Time) string {
	return "waybill-redrive:" + strconv.FormatUint(seq, 10) + ":" + strconv.FormatInt(at.UnixNano(), 10)
}

func letter(seq uint64, subject string, at time.Time, h nats.Header) Letter {
	info := deadletter.Read(h)
	stage, source := splitSubject(subject)
	if info.Stage != "" {
		stage = info.Stage
	}
	return Letter{Seq: seq, Subject: subject, Stage: stage, Source: source, Reason: info.Reason, From: info.Subject, At: at}
}

// splitSubject reads stage and source from deadletter.<stage>.<source>.
func splitSubject(subject string) (stage, source string) {
	parts := strings.SplitN(subject, ".", 3)
	if len(parts) == 3 {
		return parts[1], parts[2]
	}
	return "", ""
}

func sortCounts(c []Count) {
	slices.SortFunc(c, func(a, b Count) int {
		return cmp.Or(cmp.Compare(a.Stage, b.Stage), cmp.Compare(a.Source, b.Source))
	})
}
