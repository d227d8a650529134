package streams_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

func batchMsgs(prefix string, n int, withIDs bool) []*nats.Msg {
	msgs := make([]*nats.Msg, n)
	for i := range msgs {
		m := nats.NewMsg(fmt.Sprintf("shipments.ups.T%d.in_transit", i%7))
		m.Data = []byte(fmt.Sprintf("%s-%d", prefix, i))
		if withIDs {
			m.Header.Set(nats.MsgIdHdr, fmt.Sprintf("%s-%d", prefix, i))
		}
		msgs[i] = m
	}
	return msgs
}

// storedData reads every message of SHIPMENTS in stream order.
func storedData(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(m.Data))
	}
	return out
}

func TestPublishAllAtomicBatches(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	p, err := streams.NewPublisher(ctx, js, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Atomic() {
		t.Fatal("SHIPMENTS does not allow atomic batches on the embedded server")
	}

	// More than one batch, in order.
	n := streams.MaxBatch + 44
	for i, r := range p.PublishAll(ctx, batchMsgs("a", n, true)) {
		if r.Err != nil {
			t.Fatalf("message %d: %v", i, r.Err)
		}
		if r.Seq != uint64(i+1) {
			t.Fatalf("message %d: sequence %d, want %d", i, r.Seq, i+1)
		}
	}
	got := storedData(t, js)
	if len(got) != n {
		t.Fatalf("%d stored, want %d", len(got), n)
	}
	for i, d := range got {
		if want := fmt.Sprintf("a-%d", i); d != want {
			t.Fatalf("message %d is %q, want %q: order not kept", i, d, want)
		}
	}

	// Fewer than MinBatch go one by one: no batch headers.
	s, err := js.Stream(ctx, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.GetMsg(ctx, 1)
	if err != nil || first.Header.Get("Nats-Batch-Id") == "" {
		t.Fatalf("first message (%v): not stored in a batch: %v", err, first.Header)
	}
	small := p.PublishAll(ctx, batchMsgs("s", streams.MinBatch-1, true))
	last, err := s.GetMsg(ctx, small[len(small)-1].Seq)
	if err != nil || last.Header.Get("Nats-Batch-Id") != "" {
		t.Fatalf("%d messages (%v): stored as a batch: %v", len(small), err, last.Header)
	}
	n += len(small)

	// A batch with ids already stored (a redelivery) is refused by the
	// server as a whole; PublishAll stores the new ones one by one and
	// the stream drops the duplicates.
	again := append(batchMsgs("a", 3, true), batchMsgs("b", streams.MinBatch, true)...)
	for i, r := range p.PublishAll(ctx, again) {
		if r.Err != nil {
			t.Fatalf("message %d of the retry: %v", i, r.Err)
		}
	}
	got = storedData(t, js)
	if m := streams.MinBatch; len(got) != n+m || got[n] != "b-0" || got[n+m-1] != fmt.Sprintf("b-%d", m-1) {
		t.Fatalf("after the retry %d stored (tail %v), want %d with the b messages last", len(got), got[n:], n+m)
	}

	// A batch that cannot be stored reports it for every message.
	bad := append(batchMsgs("x", streams.MinBatch-1, false), nats.NewMsg("nowhere.at.all"))
	ctxShort, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	for i, r := range p.PublishAll(ctxShort, bad) {
		if r.Err == nil {
			t.Fatalf("message %d of a batch that could not be stored: no error", i)
		}
	}
	if got := storedData(t, js); len(got) != n+streams.MinBatch {
		t.Fatalf("%d stored after a failed batch, want %d: a batch is all or nothing", len(got), n+streams.MinBatch)
	}
}

// A stream without allow_atomic (created by an older server, or another
// tool) gets one publish per message.
func TestPublishAllWithoutAtomicBatches(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	s, err := js.Stream(ctx, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.AllowAtomicPublish = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatalf("turn allow_atomic off: %v", err)
	}
	p, err := streams.NewPublisher(ctx, js, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	if p.Atomic() {
		t.Fatal("Atomic() with allow_atomic off")
	}
	msgs := append(batchMsgs("c", 10, true), batchMsgs("c", 2, true)...)
	for i, r := range p.PublishAll(ctx, msgs) {
		if r.Err != nil {
			t.Fatalf("message %d: %v", i, r.Err)
		}
	}
	if got := storedData(t, js); len(got) != 10 {
		t.Fatalf("%d stored, want 10 (2 duplicates dropped)", len(got))
	}

	// A Publisher that read allow_atomic on, then finds it turned off (a
	// service of an older version updated the stream), stores its batch
	// one by one and stops batching.
	cfg.AllowAtomicPublish = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	p, err = streams.NewPublisher(ctx, js, streams.Shipments)
	if err != nil || !p.Atomic() {
		t.Fatalf("NewPublisher: %v, atomic %v", err, p.Atomic())
	}
	cfg.AllowAtomicPublish = false
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for i, r := range p.PublishAll(ctx, batchMsgs("d", streams.MinBatch, true)) {
		if r.Err != nil {
			t.Fatalf("message %d after allow_atomic was turned off: %v", i, r.Err)
		}
	}
	if got := storedData(t, js); len(got) != 10+streams.MinBatch || p.Atomic() {
		t.Fatalf("%d stored (want %d), still atomic %v", len(got), 10+streams.MinBatch, p.Atomic())
	}
}

// A batch of compare-and-set writes (a KV bucket's) where one lost is
// refused whole; PublishAll writes them one by one, so only the lost one
// fails, with the server's wrong-sequence error.
func TestPublishAllCompareAndSet(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "cas", History: 1})
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "KV_cas")
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	cfg.AllowAtomicPublish = true
	if _, err := js.UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, "a", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := streams.NewPublisher(ctx, js, "KV_cas")
	if err != nil || !p.Atomic() {
		t.Fatalf("NewPublisher: %v", err)
	}
	write := func(key string, expect uint64) *nats.Msg {
		m := nats.NewMsg("$KV.cas." + key)
		m.Data = []byte("v")
		m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, fmt.Sprint(expect))
		return m
	}
	// A batch's worth of writes: key a at its revision, new keys k0...
	batch := func(prefix string, aRev uint64) []*nats.Msg {
		msgs := []*nats.Msg{write("a", aRev)}
		for i := 1; i < streams.MinBatch; i++ {
			msgs = append(msgs, write(fmt.Sprintf("%s%d", prefix, i), 0))
		}
		return msgs
	}
	res := p.PublishAll(ctx, batch("k", rev))
	for i, r := range res {
		if r.Err != nil || r.Seq != res[0].Seq+uint64(i) {
			t.Fatalf("write %d of a batch of right compare-and-sets: %+v", i, r)
		}
	}
	res = p.PublishAll(ctx, batch("c", rev)) // a is at res[0].Seq now
	var apiErr *jetstream.APIError
	if !errors.As(res[0].Err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence {
		t.Fatalf("stale write of a: %v, want wrong last sequence", res[0].Err)
	}
	for i, r := range res[1:] {
		if r.Err != nil {
			t.Fatalf("write %d failed with its batch: %v", i+1, r.Err)
		}
	}
	if e, err := kv.Get(ctx, "c1"); err != nil || e.Revision() != res[1].Seq {
		t.Fatalf("c1: %v, %v; want revision %d", e, err, res[1].Seq)
	}
}

// A server whose max_batch_size is below MaxBatch refuses a full batch;
// PublishAll stores that chunk one by one and halves its batches until
// the server takes them.
func TestPublishAllAdaptsToASmallerServerBatchLimit(t *testing.T) {
	ctx := context.Background()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		JetStreamLimits: server.JSLimitOpts{MaxBatchSize: 300}, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(5 * time.Second) {
		t.Fatal("server not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		t.Fatal(err)
	}
	p, err := streams.NewPublisher(ctx, js, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		for i, r := range p.PublishAll(ctx, batchMsgs(fmt.Sprintf("r%d", round), streams.MaxBatch, true)) {
			if r.Err != nil {
				t.Fatalf("round %d, message %d: %v", round, i, r.Err)
			}
		}
	}
	if got := p.MaxBatch(); got > 300 || got < streams.MinBatch {
		t.Fatalf("batches of %d after the server refused more than 300", got)
	}
	got := storedData(t, js)
	if len(got) != 3*streams.MaxBatch {
		t.Fatalf("%d stored, want %d", len(got), 3*streams.MaxBatch)
	}
	for i, d := range got {
		if want := fmt.Sprintf("r%d-%d", i/streams.MaxBatch, i%streams.MaxBatch); d != want {
			t.Fatalf("message %d is %q, want %q", i, d, want)
		}
	}
}
