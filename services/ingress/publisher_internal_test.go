package ingress

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

type pubResult struct {
	id  string
	dup bool
	err error
}

// queueBurst hands p one request per id, all queued before p's publishing
// goroutine starts, so that its first burst takes them all; it returns
// every request's outcome.
func queueBurst(t *testing.T, p *publisher, ids []string) []pubResult {
	t.Helper()
	out := make([]pubResult, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := &nats.Msg{Subject: streams.RawSubject("carriyo"), Header: nats.Header{}, Data: []byte(`{"id":"` + id + `"}`)}
			dup, err := p.publish(context.Background(), msg, id)
			out[i] = pubResult{id, dup, err}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(p.queue) < len(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d requests queued", len(p.queue), len(ids))
		}
		time.Sleep(time.Millisecond)
	}
	p.run()
	wg.Wait()
	return out
}

func newTestPublisher(t *testing.T, js jetstream.JetStream, nc *nats.Conn) (*publisher, *metrics) {
	t.Helper()
	m := newMetrics(prometheus.NewRegistry())
	p, err := newPublisher(nc, 5*time.Second, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	return p, m
}

// rawIDs returns the message ids stored on RAW, and how many batches
// stored them.
func rawIDs(t *testing.T, js jetstream.JetStream) (ids map[string]int, batches int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, streams.Raw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids = map[string]int{}
	seen := map[string]bool{}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		ids[m.Header.Get(nats.MsgIdHdr)]++
		if b := m.Header.Get("Nats-Batch-Id"); b != "" && !seen[b] {
			seen[b] = true
			batches++
		}
	}
	return ids, batches
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%03d", prefix, i)
	}
	return out
}

func checkOutcomes(t *testing.T, res []pubResult, wantDup map[string]bool) {
	t.Helper()
	dups := 0
	for _, r := range res {
		if r.err != nil {
			t.Fatalf("%s: %v", r.id, r.err)
		}
		if r.dup {
			dups++
		}
		if r.dup && !wantDup[r.id] {
			t.Errorf("%s answered as a duplicate", r.id)
		}
	}
	if dups != len(wantDup) {
		t.Errorf("%d answered as duplicates, want %d (%v)", dups, len(wantDup), wantDup)
	}
}

// Under load, a burst of RAW webhooks is stored as one atomic batch, each
// once, each request answered by the batch's outcome.
func TestBurstStoredAsOneBatch(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect()
	p, m := newTestPublisher(t, js, nc)
	res := queueBurst(t, p, ids("b", 64))
	checkOutcomes(t, res, nil)
	stored, batches := rawIDs(t, js)
	if len(stored) != 64 || batches != 1 {
		t.Fatalf("%d ids stored in %d batches, want 64 in 1", len(stored), batches)
	}
	if got := testutil.ToFloat64(m.batched); got != 64 {
		t.Fatalf("batched counter %v, want 64", got)
	}
}

// A batch with an id already on RAW, unknown to this ingress (a retry first
// seen by another replica), is refused whole by the stream and published
// again one by one: every webhook stored once, the retry answered as a
// duplicate.
func TestBatchRefusedForAStoredIDGoesOneByOne(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := js.Publish(ctx, streams.RawSubject("carriyo"), []byte(`{}`), jetstream.WithMsgID("f005")); err != nil {
		t.Fatal(err)
	}
	p, m := newTestPublisher(t, js, nc)
	res := queueBurst(t, p, ids("f", 32))
	checkOutcomes(t, res, map[string]bool{"f005": true})
	stored, batches := rawIDs(t, js)
	if len(stored) != 32 || batches != 0 {
		t.Fatalf("%d ids stored, %d by batches; want 32, none by batches", len(stored), batches)
	}
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	if got := testutil.ToFloat64(m.batchFallback); got != 32 {
		t.Fatalf("fallback counter %v, want 32", got)
	}
}

// A provider's retry of a webhook this ingress published lately stays out
// of batches (it would have the whole batch refused): it is published on
// its own and answered as a duplicate, whichever copy the stream took
// first.
func TestRecentRetriesStayOutOfBatches(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect()
	p, _ := newTestPublisher(t, js, nc)
	all := ids("r", 24)
	all = append(all, all[:4]...) // four retries in the same burst
	res := queueBurst(t, p, all)
	checkOutcomes(t, res, map[string]bool{"r000": true, "r001": true, "r002": true, "r003": true})
	stored, _ := rawIDs(t, js)
	if len(stored) != 24 {
		t.Fatalf("%d ids stored, want 24", len(stored))
	}
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
}

// A RAW stream without allow_atomic (made by an older version, or a
// server before 2.12) gets every webhook one by one.
func TestNoBatchesWithoutAllowAtomic(t *testing.T) {
	srv := natstest.Start(t)
	nc, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, streams.Raw)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.AllowAtomicPublish = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	p, m := newTestPublisher(t, js, nc)
	checkOutcomes(t, queueBurst(t, p, ids("n", 32)), nil)
	stored, batches := rawIDs(t, js)
	if len(stored) != 32 || batches != 0 || testutil.ToFloat64(m.batched) != 0 {
		t.Fatalf("%d ids stored, %d batches; want 32 one by one", len(stored), batches)
	}
}
