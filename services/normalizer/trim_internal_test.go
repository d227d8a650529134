package normalizer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

// Trimming removes exactly what every partition has acked: a candidate
// still held (delivered, not acked) by one partition keeps it and
// everything after it, however far the other partitions have got; a
// partition with nothing pending does not hold anything back.
func TestTrimRemovesOnlyWhatEveryPartitionAcked(t *testing.T) {
	ctx := context.Background()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	partitions, err := streams.Partitions(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, streams.Candidates)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.CachedInfo().Config.Retention; r != jetstream.LimitsPolicy {
		t.Fatalf("CANDIDATES retention %v, want limits (trimmed by the normalizer)", r)
	}
	cfg := Config{AckWait: time.Minute, MaxBuffered: 1000, PinnedTTL: 15 * time.Second}
	cons := make([]jetstream.Consumer, partitions)
	for p := range partitions {
		if cons[p], err = js.CreateOrUpdateConsumer(ctx, streams.Candidates, orderConsumerConfig(p, cfg)); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(p, n int) {
		t.Helper()
		for i := range n {
			if _, err := js.Publish(ctx, streams.CandidateSubject(p, "ups", fmt.Sprintf("T%d", i)), []byte("{}")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// fetch takes n candidates of partition p; ack them or not.
	fetch := func(p, n int, ack bool) []jetstream.Msg {
		t.Helper()
		batch, err := cons[p].Fetch(n, jetstream.FetchMaxWait(5*time.Second), jetstream.FetchPriorityGroup(PriorityGroup))
		if err != nil {
			t.Fatal(err)
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			if ack {
				if err := m.DoubleAck(ctx); err != nil {
					t.Fatal(err)
				}
			}
			msgs = append(msgs, m)
		}
		if len(msgs) != n {
			t.Fatalf("partition %d: fetched %d, want %d", p, len(msgs), n)
		}
		return msgs
	}
	msgs := func() (first, count uint64) {
		t.Helper()
		si, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return si.State.FirstSeq, si.State.Msgs
	}

	publish(2, 2) // seq 1-2
	fetch(2, 2, true)
	publish(1, 3) // seq 3-5
	publish(2, 2) // seq 6-7
	publish(1, 3) // seq 8-10
	fetch(1, 6, true)
	held := fetch(2, 2, false)
	if _, err := trimCandidates(ctx, js, partitions); err != nil {
		t.Fatal(err)
	}
	// Partition 2's ack floor is 2: the server tracks the highest
	// contiguous ack, so partition 1's acked 3-5 wait behind it too.
	if first, n := msgs(); first != 3 || n != 8 {
		t.Fatalf("after trim with partition 2 holding seq 6-7: first %d, %d messages; want first 3, 8 messages", first, n)
	}
	for _, m := range held {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := trimCandidates(ctx, js, partitions); err != nil {
		t.Fatal(err)
	}
	if _, n := msgs(); n != 0 {
		t.Fatalf("%d messages left after everything was acked", n)
	}
	if n, err := PendingCandidates(ctx, js); err != nil || n != 0 {
		t.Fatalf("PendingCandidates = %d, %v; want 0", n, err)
	}

	// Undelivered work holds the stream too, and is counted as pending.
	publish(3, 2)
	poll.Until(t, 5*time.Second, func() error {
		if n, err := PendingCandidates(ctx, js); err != nil || n != 2 {
			return fmt.Errorf("PendingCandidates = %d, %v; want 2", n, err)
		}
		return nil
	})
	if _, err := trimCandidates(ctx, js, partitions); err != nil {
		t.Fatal(err)
	}
	if _, n := msgs(); n != 2 {
		t.Fatalf("%d messages after a trim with 2 undelivered, want 2", n)
	}
}
