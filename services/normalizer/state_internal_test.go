package normalizer

import (
	"context"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

// The state bucket made by newStateStore is recognized as made, so a
// replica's start leaves it alone; a different TTL is not.
func TestStateBucketKeptWhenAsAsked(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := newStateStore(ctx, js, time.Hour, 1, 16); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, "KV_"+StateBucket)
	if err != nil {
		t.Fatal(err)
	}
	have := s.CachedInfo().Config
	if !have.AllowAtomicPublish {
		t.Fatal("state bucket made without allow_atomic")
	}
	if !stateBucketAsAsked(have, time.Hour, 1) {
		t.Fatalf("a state bucket just made is not as asked: %+v", have)
	}
	if stateBucketAsAsked(have, 2*time.Hour, 1) {
		t.Fatal("a state bucket with another TTL counts as asked")
	}
	if _, err := newStateStore(ctx, js, 2*time.Hour, 1, 16); err != nil {
		t.Fatal(err)
	}
	if s, err = js.Stream(ctx, "KV_"+StateBucket); err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config; got.MaxAge != 2*time.Hour || !got.AllowAtomicPublish {
		t.Fatalf("state bucket not updated to a 2h TTL with allow_atomic: %+v", got)
	}
}
