package normalizer

import (
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// A due buffer whose shipment still has a flush storing stays at the front
// of the queue until that flush finishes; the others go out.
func TestTakeDueWaitsForAShipmentStillStoring(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	o := newOrderer(Config{ReorderWindow: time.Second}, nil, nil, nil, newMetrics(prometheus.NewRegistry()), 16, zerolog.Nop())
	a, b, c := &buffer{key: "a", first: t0}, &buffer{key: "b", first: t0}, &buffer{key: "c", first: t0.Add(5 * time.Second)}
	o.queue = []*buffer{a, b, c}
	for _, x := range o.queue {
		o.buffers[x.key] = x
	}
	o.storing["a"] = struct{}{}

	due := o.takeDue(t0.Add(2*time.Second), false)
	if len(due) != 1 || due[0] != b {
		t.Fatalf("due %v, want only b (a is still storing, c not due)", keysOf(due))
	}
	if len(o.queue) != 2 || o.queue[0] != a || o.queue[1] != c {
		t.Fatalf("queue %v, want a first, then c", keysOf(o.queue))
	}

	o.flushing = 1
	o.finish(&flushJob{ems: []*emission{{b: a}}}) // a's flush is done
	if due := o.takeDue(t0.Add(2*time.Second), false); len(due) != 1 || due[0] != a {
		t.Fatalf("due %v after a's flush finished, want a", keysOf(due))
	}
}

// Merging groups keeps each raw message pointing at its own candidates.
func TestGroupMergeKeepsEachRawMessagesCandidates(t *testing.T) {
	g := &group{raws: []rawOutcome{{from: 0, to: 2}}, msgs: []*nats.Msg{{Subject: "a1"}, {Subject: "a2"}}}
	g.merge(&group{raws: []rawOutcome{{from: 0, to: 0}, {from: 0, to: 1}}, msgs: []*nats.Msg{{Subject: "c1"}}})
	if len(g.raws) != 3 || len(g.msgs) != 3 {
		t.Fatalf("%d raws, %d candidates after merge; want 3, 3", len(g.raws), len(g.msgs))
	}
	for i, want := range [][]string{{"a1", "a2"}, {}, {"c1"}} {
		r := g.raws[i]
		var got []string
		for _, m := range g.msgs[r.from:r.to] {
			got = append(got, m.Subject)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("raw %d: candidates %v, want %v", i, got, want)
		}
	}
}
