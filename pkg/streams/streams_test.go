package streams_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

func TestEnsureIdempotentAndUpdates(t *testing.T) {
	srv := natstest.Start(t) // Start already ran Ensure once
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := streams.Config{DuplicateWindow: 5 * time.Minute, MaxBytes: 1 << 30}
	for i := 0; i < 2; i++ {
		if err := streams.Ensure(ctx, js, cfg); err != nil {
			t.Fatalf("Ensure #%d: %v", i, err)
		}
	}
	if err := streams.Check(ctx, js); err != nil {
		t.Fatal(err)
	}
	for _, want := range streams.StreamConfigs(cfg) {
		s, err := js.Stream(ctx, want.Name)
		if err != nil {
			t.Fatal(err)
		}
		got := s.CachedInfo().Config
		if got.Duplicates != want.Duplicates || got.MaxBytes != 1<<30 || got.Storage != jetstream.FileStorage ||
			got.Discard != jetstream.DiscardNew || got.Subjects[0] != want.Subjects[0] {
			t.Errorf("%s: got %+v", want.Name, got)
		}
	}
}

func TestDuplicateWindowCappedByMaxAge(t *testing.T) {
	for _, sc := range streams.StreamConfigs(streams.Config{DuplicateWindow: time.Hour, RawMaxAge: time.Minute}) {
		if sc.MaxAge > 0 && sc.Duplicates > sc.MaxAge {
			t.Errorf("%s: duplicates %v > max age %v", sc.Name, sc.Duplicates, sc.MaxAge)
		}
	}
}

func TestCheckReportsMissingStream(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	if err := js.DeleteStream(ctx, streams.DeadLetter); err != nil {
		t.Fatal(err)
	}
	if err := streams.Check(ctx, js); err == nil {
		t.Fatal("Check passed with DEADLETTER missing")
	}
}

func TestSubjects(t *testing.T) {
	if got := streams.RawSubject("carriyo"); got != "raw.carriyo" {
		t.Error(got)
	}
	if got := streams.DeadLetterSubject("ingress", "a.b*"); got != "deadletter.ingress.a_b_" {
		t.Error(got)
	}
}

func TestRestartKeepsData(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	if _, err := js.Publish(ctx, "raw.test", []byte("x")); err != nil {
		t.Fatal(err)
	}
	srv.Restart()
	_, js = srv.Connect()
	s, err := js.Stream(ctx, streams.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.CachedInfo().State.Msgs; n != 1 {
		t.Fatalf("after restart RAW has %d messages, want 1", n)
	}
}

func TestPartitionCountFixedAtCreation(t *testing.T) {
	srv := natstest.Start(t) // created with the default
	_, js := srv.Connect()
	ctx := context.Background()
	if err := streams.Ensure(ctx, js, streams.Config{Partitions: 4}); err != nil {
		t.Fatal(err)
	}
	n, err := streams.Partitions(ctx, js)
	if err != nil || n != streams.DefaultPartitions {
		t.Fatalf("partitions %d %v, want the creation-time %d", n, err, streams.DefaultPartitions)
	}
	seen := map[int]bool{}
	for i := 0; i < 1000; i++ {
		p := streams.PartitionOf(fmt.Sprintf("ups:1Z%06d", i), n)
		if p < 0 || p >= n {
			t.Fatalf("partition %d out of range", p)
		}
		seen[p] = true
	}
	if len(seen) != n {
		t.Errorf("1000 keys used %d of %d partitions", len(seen), n)
	}
	if got := streams.CandidateSubject(3, "ups", "A.B*"); got != "candidates.3.ups.A_B_" {
		t.Error(got)
	}
}
