package projector_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/projector"
)

// The live projection holds exactly the events on SHIPMENTS, whatever the
// batching, with repeats on the stream and late events, and equals the
// projection written directly from the same events.
func TestProjectsEvents(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"PROJECTOR_BATCH_SIZE": "16"})
	h.start()
	events := history(30, 6)
	h.publish(events...)
	// The same checkpoint stored twice on the stream (another message id):
	// the projection keeps it once.
	for _, e := range events[:10] {
		msg, err := shipments.Message(e.Subject(), &e)
		if err != nil {
			t.Fatal(err)
		}
		msg.Header.Set(nats.MsgIdHdr, "again-"+e.ID)
		h.publishMsg(msg)
	}
	h.waitEvents(len(events))
	if got, want := tableHash(t, h.pool()), expectedHash(t, events); got != want {
		t.Errorf("projection hash %s, want %s (written directly)", got, want)
	}
	if n := h.metric("waybill_projector_events_total", "outcome", "inserted"); n != float64(len(events)) {
		t.Errorf("inserted metric %v, want %d", n, len(events))
	}
	if failed := h.ops.Ready(context.Background()); len(failed) > 0 {
		t.Errorf("not ready: %v", failed)
	}
}

// A message that fails on its own is retried up to MaxDeliver deliveries,
// then dead-lettered to deadletter.projector.<carrier> with the reason,
// while the good events of its batches are written.
func TestDeadLettersBadMessages(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"PROJECTOR_MAX_DELIVER": "3", "PROJECTOR_RETRY_MAX": "100ms", "PROJECTOR_BATCH_WAIT": "50ms"})
	h.start()

	good := history(5, 2)
	// Not JSON: cannot be decoded.
	notJSON := &nats.Msg{Subject: "shipments.ups.1ZBAD1.in_transit", Header: nats.Header{}, Data: []byte("{not json")}
	notJSON.Header.Set("ce-id", "bad-1")
	// Decodes, but its key is not carrier:tracking (the projection refuses
	// it before writing anything).
	wrongKey := event("fedex", "7700001", tracking.InTransit, 5)
	wrongKey.ShipmentKey = "fedex:SOMETHING-ELSE"
	// Decodes, but Postgres refuses it: text cannot hold a NUL byte.
	nul := event("dhl", "JD0001", tracking.InTransit, 5)
	nul.Message = "scan\x00"
	nul.ID = tracking.EventID(&nul)

	h.publish(good[:5]...)
	h.publishMsg(notJSON)
	h.publish(wrongKey, nul)
	h.publish(good[5:]...)

	h.waitEvents(len(good))
	var dls []deadletter.Info
	poll.Until(t, 20*time.Second, func() error {
		dls = nil
		for _, m := range h.stored(streams.DeadLetter) {
			dls = append(dls, deadletter.Read(m.Header))
			if !strings.HasPrefix(m.Subject, "deadletter.projector.") {
				return fmt.Errorf("dead letter on %s", m.Subject)
			}
		}
		if len(dls) != 3 {
			return fmt.Errorf("%d dead letters, want 3", len(dls))
		}
		return nil
	})
	subjects := map[string]deadletter.Info{}
	for _, dl := range dls {
		subjects[dl.Subject] = dl
		t.Logf("dead letter from %s: %s", dl.Subject, dl.Reason)
		if dl.Stage != "projector" || dl.Reason == "" {
			t.Errorf("dead letter %+v: want stage projector and a reason", dl)
		}
	}
	for _, want := range []string{notJSON.Subject, wrongKey.Subject(), nul.Subject()} {
		if _, ok := subjects[want]; !ok {
			t.Errorf("no dead letter from %s (have %v)", want, subjects)
		}
	}
	var carriers []string
	for _, m := range h.stored(streams.DeadLetter) {
		carriers = append(carriers, m.Subject)
	}
	for _, want := range []string{"deadletter.projector.ups", "deadletter.projector.fedex", "deadletter.projector.dhl"} {
		if !strings.Contains(strings.Join(carriers, " "), want) {
			t.Errorf("dead letter subjects %v: want %s", carriers, want)
		}
	}
	// Terminated: nothing stays pending behind them.
	poll.Until(t, 10*time.Second, h.settled)
	if n := h.metric("waybill_projector_rejected_total"); n < 9 {
		t.Errorf("rejected %v times, want 3 messages x 3 deliveries", n)
	}
}

// A drained projector acks what it wrote; the next one resumes where it
// stopped and the projection holds every event once.
func TestDrainAndResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.start()
	events := history(20, 4)
	h.publish(events[:40]...)
	h.waitEvents(40)
	h.drain()
	h.publish(events[40:]...)
	h.start()
	h.waitEvents(len(events))
	if got, want := tableHash(t, h.pool()), expectedHash(t, events); got != want {
		t.Errorf("projection hash %s, want %s", got, want)
	}
}

// A projector whose consumer is deleted under it exits with an error (so
// it is restarted and recreates the consumer) instead of idling as ready.
func TestConsumerDeletedEndsRun(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	h.start()
	poll.Until(t, 10*time.Second, h.settled)
	if err := h.js.DeleteConsumer(context.Background(), streams.Shipments, projector.ConsumerName); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-h.done:
		h.done <- nil // for cleanup
		if err == nil {
			t.Error("Run returned nil after its consumer was deleted")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run still running after its consumer was deleted")
	}
}
