package dlq_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/dlq"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

// deadLetter stores a dead letter of stage for source whose original was
// on raw.<source>, and returns its sequence.
func deadLetter(t *testing.T, js jetstream.JetStream, stage, source, id string, body []byte) uint64 {
	t.Helper()
	orig := &nats.Msg{Subject: streams.RawSubject(source), Header: nats.Header{
		"ce-specversion": {"1.0"}, "ce-id": {id}, "ce-source": {"/webhooks/" + source},
		"ce-type": {"test"}, "Content-Type": {"application/json"},
	}, Data: body}
	dl := deadletter.New(stage, source, "bad "+id, orig)
	ack, err := js.PublishMsg(context.Background(), dl, jetstream.WithMsgID(dl.Header.Get(nats.MsgIdHdr)))
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestListFiltersAndPages(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	var carriyo []uint64
	for i := 0; i < 5; i++ {
		carriyo = append(carriyo, deadLetter(t, js, "ingress", "carriyo", fmt.Sprint("c", i), []byte(`{"n":1}`)))
		deadLetter(t, js, "normalizer", "tenovi", fmt.Sprint("t", i), []byte(`{}`))
	}
	q := dlq.New(js)

	tests := []struct {
		name   string
		filter dlq.Filter
		want   int
	}{
		{"all", dlq.Filter{}, 10},
		{"stage", dlq.Filter{Stage: "normalizer"}, 5},
		{"source", dlq.Filter{Source: "carriyo"}, 5},
		{"both", dlq.Filter{Stage: "ingress", Source: "carriyo"}, 5},
		{"none", dlq.Filter{Stage: "projector"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page, err := q.List(ctx, tt.filter, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Letters) != tt.want || page.Next != 0 {
				t.Fatalf("got %d letters, next %d; want %d, 0", len(page.Letters), page.Next, tt.want)
			}
		})
	}

	// Pages of 2 over the 5 carriyo letters: 2, 2, 1, oldest first.
	var got []uint64
	from := uint64(0)
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("too many pages")
		}
		page, err := q.List(ctx, dlq.Filter{Source: "carriyo"}, from, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page.Letters {
			got = append(got, l.Seq)
			if l.Stage != "ingress" || l.Source != "carriyo" || l.From != "raw.carriyo" || l.Reason == "" || l.Size != 7 || l.Data != nil {
				t.Errorf("letter %+v", l)
			}
		}
		if page.Next == 0 {
			break
		}
		from = page.Next
	}
	if fmt.Sprint(got) != fmt.Sprint(carriyo) {
		t.Errorf("paged %v, want %v", got, carriyo)
	}

	counts, err := q.Counts(ctx, dlq.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(counts) != "[{ingress carriyo 5} {normalizer tenovi 5}]" {
		t.Errorf("counts %v", counts)
	}

	for _, f := range []dlq.Filter{{Stage: "a.b"}, {Source: "*"}, {Source: ">"}, {Stage: "x y"}} {
		if _, err := q.List(ctx, f, 0, 10); !errors.Is(err, dlq.ErrBadFilter) {
			t.Errorf("List(%+v) = %v, want ErrBadFilter", f, err)
		}
	}
	if n := consumers(t, js); n != 0 {
		t.Errorf("%d list consumers left behind", n)
	}
}

func consumers(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	s, err := js.Stream(context.Background(), streams.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Consumers
}

func TestGet(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	seq := deadLetter(t, js, "ingress", "swiftpod", "e1", []byte{0xff, 0x00, 'x'})
	q := dlq.New(js)
	l, err := q.Get(context.Background(), seq)
	if err != nil {
		t.Fatal(err)
	}
	if l.Seq != seq || string(l.Data) != "\xff\x00x" || l.Header.Get("ce-id") != "e1" || l.Reason != "bad e1" ||
		l.From != "raw.swiftpod" || l.At.IsZero() {
		t.Errorf("got %+v", l)
	}
	for _, s := range []uint64{0, seq + 1} {
		if _, err := q.Get(context.Background(), s); !errors.Is(err, dlq.ErrNotFound) {
			t.Errorf("Get(%d) = %v, want ErrNotFound", s, err)
		}
	}
}

func TestRedriveOnce(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	q := dlq.New(js)
	seq := deadLetter(t, js, "normalizer", "carriyo", "e1", []byte(`{"a":1}`))

	r, err := q.Redrive(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != seq || r.Subject != "raw.carriyo" || r.Stream != streams.Raw || r.StreamSeq == 0 {
		t.Errorf("redriven %+v", r)
	}
	s, _ := js.Stream(ctx, streams.Raw)
	m, err := s.GetMsg(ctx, r.StreamSeq)
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Data) != `{"a":1}` || m.Header.Get("ce-id") != "e1" || m.Header.Get(deadletter.HeaderReason) != "" {
		t.Errorf("republished %s %v", m.Data, m.Header)
	}
	if _, err := q.Redrive(ctx, seq); !errors.Is(err, dlq.ErrNotFound) {
		t.Errorf("second redrive: %v, want ErrNotFound", err)
	}
	if n := streamMsgs(t, js, streams.Raw); n != 1 {
		t.Errorf("RAW has %d messages, want 1", n)
	}
}

// TestConcurrentRedrives: many redrives of one dead letter at once; one
// wins, the others are told it is gone, and one copy is stored.
func TestConcurrentRedrives(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	const letters, racers = 5, 6
	for l := 0; l < letters; l++ {
		seq := deadLetter(t, js, "ingress", "tenovi", fmt.Sprint("e", l), []byte(`{}`))
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			ok, gone int
		)
		start := make(chan struct{})
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each racer its own connection, as separate consoles would.
				_, js := srv.Connect()
				q := dlq.New(js)
				<-start
				_, err := q.Redrive(ctx, seq)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, dlq.ErrNotFound):
					gone++
				default:
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok != 1 || gone != racers-1 {
			t.Errorf("letter %d: %d succeeded, %d not found; want 1, %d", l, ok, gone, racers-1)
		}
	}
	if n := streamMsgs(t, js, streams.Raw); n != letters {
		t.Errorf("RAW has %d messages, want %d", n, letters)
	}
	if n := streamMsgs(t, js, streams.DeadLetter); n != 0 {
		t.Errorf("DEADLETTER still has %d", n)
	}
}

// TestRedriveAfterCrash: a redrive that published but died before deleting
// leaves the dead letter; redriving it again stores no second copy.
func TestRedriveAfterCrash(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	seq := deadLetter(t, js, "ingress", "carriyo", "e1", []byte(`{}`))
	s, _ := js.Stream(ctx, streams.DeadLetter)
	m, err := s.GetMsg(ctx, seq)
	if err != nil {
		t.Fatal(err)
	}
	// The first half of a redrive, by hand.
	out := deadletter.Redrive(m.Header, m.Data)
	if _, err := js.PublishMsg(ctx, out, jetstream.WithMsgID(dlq.RedriveID(m.Sequence, m.Time))); err != nil {
		t.Fatal(err)
	}
	if _, err := dlq.New(js).Redrive(ctx, seq); err != nil {
		t.Fatal(err)
	}
	if n := streamMsgs(t, js, streams.Raw); n != 1 {
		t.Errorf("RAW has %d messages, want 1", n)
	}
}

func TestRedriveRefused(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	// A dead letter that does not say where it came from.
	ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: "deadletter.ingress.x", Data: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dlq.New(js).Redrive(ctx, ack.Sequence); !errors.Is(err, dlq.ErrNotRedrivable) {
		t.Errorf("got %v, want ErrNotRedrivable", err)
	}
	// One whose subject is in no stream: the publish fails, the letter stays.
	orig := &nats.Msg{Subject: "nowhere.x", Header: nats.Header{"ce-id": {"1"}}, Data: []byte("{}")}
	dl := deadletter.New("ingress", "x", "r", orig)
	ack, err = js.PublishMsg(ctx, dl)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := dlq.New(js).Redrive(rctx, ack.Sequence); err == nil || errors.Is(err, dlq.ErrNotFound) {
		t.Errorf("redrive to nowhere: %v", err)
	}
	if _, err := dlq.New(js).Get(ctx, ack.Sequence); err != nil {
		t.Errorf("letter gone after a failed redrive: %v", err)
	}
}
