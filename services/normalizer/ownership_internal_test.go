package normalizer

import (
	"testing"
	"time"
)

// A partition that arrives under a new pin holds its buffers for the
// grace; other partitions' due buffers go out meanwhile, and the held ones
// keep their place at the front of the queue.
func TestHandoverHoldsANewlyAcquiredPartition(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	h := newHandover(5*time.Second, 16)
	if !h.arrived(3, "pin-a", t0) {
		t.Fatal("first pin of partition 3 not an acquisition")
	}
	if h.arrived(3, "pin-a", t0.Add(time.Second)) {
		t.Error("same pin counted as a new acquisition")
	}
	if h.arrived(4, "", t0) || h.arrived(-1, "pin-x", t0) {
		t.Error("a message without pin or partition acquired something")
	}
	a, b, c := &buffer{key: "a", part: 3}, &buffer{key: "b", part: 7}, &buffer{key: "c", part: 3}
	rest := &buffer{key: "d", part: 7}
	due, queue := h.release([]*buffer{a, b, c}, []*buffer{rest}, t0.Add(2*time.Second))
	if len(due) != 1 || due[0] != b {
		t.Errorf("due %v, want only partition 7's buffer", keysOf(due))
	}
	if len(queue) != 3 || queue[0] != a || queue[1] != c || queue[2] != rest {
		t.Errorf("queue %v, want the held buffers first", keysOf(queue))
	}
	due, _ = h.release(queue[:2], queue[2:], t0.Add(5*time.Second))
	if len(due) != 2 || h.holding() {
		t.Errorf("after the grace: due %v, holding %v", keysOf(due), h.holding())
	}
	if !h.arrived(3, "pin-b", t0.Add(10*time.Second)) || !h.held(3, t0.Add(11*time.Second)) {
		t.Error("a new pin of partition 3 must hold it again")
	}
	if partitionOf("candidates.12.ups.1Z") != 12 || partitionOf("raw.ups") != -1 || partitionOf("candidates.x.ups") != -1 {
		t.Error("partitionOf")
	}
}

func keysOf(bs []*buffer) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.key)
	}
	return out
}
