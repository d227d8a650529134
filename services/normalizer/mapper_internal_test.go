package normalizer

import (
	"errors"
	"testing"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Only candidates stored are known (a failed store is mapped and stored
// again on redelivery), and the oldest are forgotten first.
func TestStoredIDsKnowsOnlyWhatWasStored(t *testing.T) {
	s := newStoredIDs(2)
	evs := func(ids ...string) []tracking.Event {
		out := make([]tracking.Event, len(ids))
		for i, id := range ids {
			out[i].ID = id
		}
		return out
	}
	s.add([]string{"a", "b"}, []streams.Stored{{Seq: 1}, {Err: errors.New("not stored")}})
	if got := s.has(evs("a", "b")); !got[0] || got[1] {
		t.Fatalf("after storing a and failing b: known %v, want [true false]", got)
	}
	s.add([]string{"b", "c"}, []streams.Stored{{Seq: 2}, {Seq: 3}}) // a forgotten
	if got := s.has(evs("a", "b", "c")); got[0] || !got[1] || !got[2] {
		t.Fatalf("after storing b and c in a set of 2: known %v, want [false true true]", got)
	}
	s.add([]string{"c"}, []streams.Stored{{Seq: 4}}) // already known: nothing forgotten
	if got := s.has(evs("b", "c")); !got[0] || !got[1] {
		t.Fatalf("storing a known id again evicted another: known %v", got)
	}
}
