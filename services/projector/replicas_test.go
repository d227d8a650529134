package projector_test

import (
	"context"
	"math/rand"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/projector"
)

// TestReplicasShareOneConsumer is the scale-out proof for the projector:
// three replicas pull the one durable consumer at once and write the same
// shipments concurrently (every shipment's events are spread over the
// stream, in shuffled order, with repeats), one replica is drained half way
// and another joins; the projection equals the one written directly from
// the events, and the work was shared.
func TestReplicasShareOneConsumer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"PROJECTOR_BATCH_SIZE": "8", "PROJECTOR_WRITERS": "2", "PROJECTOR_BATCH_WAIT": "2ms"})
	events := history(40, 8)
	rand.New(rand.NewSource(3)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })

	type replica struct {
		ops    *service.Ops
		cancel context.CancelFunc
		done   chan error
	}
	start := func() *replica {
		env := service.EnvFrom(h.env)
		cfg := projector.LoadConfig(env)
		if err := env.Err(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{ops: service.NewOps(), cancel: cancel, done: make(chan error, 1)}
		go func() { r.done <- projector.Run(ctx, cfg, zerolog.Nop(), r.ops) }()
		t.Cleanup(func() {
			r.cancel()
			if err := <-r.done; err != nil {
				t.Error(err)
			}
			r.done <- nil
		})
		poll.Until(t, 30*time.Second, func() error { return readyErr(r.ops) })
		return r
	}
	reps := []*replica{start(), start(), start()}

	half := len(events) / 2
	for _, e := range events[:half] {
		h.publish(e)
		time.Sleep(time.Millisecond) // a steady stream, not one burst one replica takes whole
	}
	reps[0].cancel() // drained: what it holds is written and acked
	if err := <-reps[0].done; err != nil {
		t.Fatal(err)
	}
	reps[0].done <- nil
	reps = append(reps, start())
	for _, e := range events[half:] {
		h.publish(e)
		time.Sleep(time.Millisecond)
	}
	h.publish(events[:20]...) // redelivered history: changes nothing
	h.waitEvents(len(events))

	if got, want := tableHash(t, h.pool()), expectedHash(t, events); got != want {
		t.Errorf("projection hash %s, want %s (written directly)", got, want)
	}
	var total, sharing float64
	for i, r := range reps {
		n := gather(t, r.ops, "waybill_projector_events_total", "outcome", "inserted")
		t.Logf("replica %d inserted %v events", i, n)
		total += n
		if n > 0 {
			sharing++
		}
	}
	if total != float64(len(events)) {
		t.Errorf("replicas inserted %v events in all, want %d (each exactly once)", total, len(events))
	}
	if sharing < 2 {
		t.Errorf("only %v replica did the work", sharing)
	}
}

func readyErr(ops *service.Ops) error {
	if failed := ops.Ready(context.Background()); len(failed) > 0 {
		return errNotReady(failed)
	}
	return nil
}

type errNotReady map[string]string

func (e errNotReady) Error() string {
	s := "not ready:"
	for k, v := range e {
		s += " " + k + "=" + v
	}
	return s
}

// gather sums a counter's samples carrying the labels (name=value pairs).
func gather(t *testing.T, ops *service.Ops, name string, labels ...string) float64 {
	t.Helper()
	h := &harness{t: t, ops: ops}
	return h.metric(name, labels...)
}
