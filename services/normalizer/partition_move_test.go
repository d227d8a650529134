package normalizer_test

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/normalizer"
)

// samePartition returns n wineshipping (slug ups) tracking numbers whose
// shipments fall in one CANDIDATES partition, and that partition.
func samePartition(prefix string, n int) ([]string, int) {
	var out []string
	want := -1
	for i := 0; len(out) < n; i++ {
		tn := fmt.Sprintf("%s%04d", prefix, i)
		p := streams.PartitionOf("ups:"+tn, streams.DefaultPartitions)
		if want < 0 {
			want = p
		}
		if p == want {
			out = append(out, tn)
		}
	}
	return out, want
}

// partitionState is the server's view of one ordering consumer.
func (h *harness) partitionState(p int) (pin string, ackPending int) {
	h.t.Helper()
	c, err := h.js.Consumer(context.Background(), streams.Candidates, normalizer.OrderConsumer(p))
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	if len(info.PriorityGroups) > 0 {
		pin = info.PriorityGroups[0].PinnedClientID
	}
	return pin, info.NumAckPending
}

// pinnedTo starts a normalizer process and makes it partition p's owner: a
// warm-up shipment of p is emitted through it before anyone else pulls p.
func (h *harness) pinnedTo(bin string, p int, warmup string) (*exec.Cmd, string) {
	h.t.Helper()
	cmd := h.spawn(bin)
	c := checkpoint{At: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC), Tag: "InfoReceived", RawTag: "W0", Message: "label"}
	h.publishRaw("wineshipping", wineshippingBody(warmup+"-w", warmup, []checkpoint{c}), nil)
	var pin string
	poll.Until(h.t, 60*time.Second, func() error {
		if n := len(h.shipmentEvents("ups:" + warmup)); n != 1 {
			return fmt.Errorf("warm-up: %d events", n)
		}
		if pin, _ = h.partitionState(p); pin == "" {
			return fmt.Errorf("partition %d not pinned", p)
		}
		return nil
	})
	return cmd, pin
}

func (h *harness) shipmentEvents(key string) []tracking.Event {
	return byShipment(h.events())[key]
}

// checkExactlyOnceInOrder checks one shipment's emitted events against the
// checkpoints it was sent: each once, in carrier-time order, none late.
func checkExactlyOnceInOrder(t *testing.T, evs []tracking.Event, cps []checkpoint) {
	t.Helper()
	if len(evs) != len(cps) {
		t.Fatalf("%d events emitted, want %d: %v", len(evs), len(cps), ids(evs))
	}
	seen := map[string]bool{}
	for i, e := range evs {
		if seen[e.ID] {
			t.Errorf("event %s emitted twice", e.ID)
		}
		seen[e.ID] = true
		if e.Late {
			t.Errorf("event %d (%s) flagged late", i, e.CarrierStatus)
		}
		if i > 0 && tracking.Before(&evs[i], &evs[i-1]) {
			t.Errorf("event %d (%s at %s) emitted after a later one", i, e.CarrierStatus, e.OccurredAt)
		}
	}
}

// TestPartitionMovesWhenOwnerIsKilled: replica A owns the partition and
// holds one shipment's three out-of-order events in its reorder buffer; A
// is SIGKILLed before its window ends. Replica B, pulling the same pinned
// consumer all along, becomes the owner after the pinned TTL, receives the
// dead replica's unacked candidates after AckWait, and emits them exactly
// once, in carrier-time order, none late.
func TestPartitionMovesWhenOwnerIsKilled(t *testing.T) {
	bin := buildNormalizer(t)
	h := newHarness(t, map[string]string{
		"NORMALIZER_REORDER_WINDOW": "8s", "NORMALIZER_ACK_WAIT": "15s",
		"NORMALIZER_PINNED_TTL": "3s", "NORMALIZER_HANDOVER_GRACE": "1s",
	})
	tns, p := samePartition("1ZMOVE", 2)
	a, pinA := h.pinnedTo(bin, p, tns[0])
	h.spawn(bin) // B: its pulls of partition p wait while A is pinned

	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	cps := []checkpoint{
		{At: base.Add(2 * time.Hour), Tag: "OutForDelivery", RawTag: "M2", Message: "out"},
		{At: base, Tag: "InfoReceived", RawTag: "M0", Message: "label"},
		{At: base.Add(time.Hour), Tag: "InTransit", RawTag: "M1", Message: "departed"},
	}
	key := "ups:" + tns[1]
	for i, c := range cps { // carrier order 1, 2, 0: disorder for the buffer to fix
		h.publishRaw("wineshipping", wineshippingBody(fmt.Sprintf("%s-%d", tns[1], i), tns[1], []checkpoint{c}), nil)
	}
	poll.Until(t, 30*time.Second, func() error {
		if _, pending := h.partitionState(p); pending < len(cps) {
			return fmt.Errorf("%d of %d candidates delivered to A", pending, len(cps))
		}
		return nil
	})
	if evs := h.shipmentEvents(key); len(evs) > 0 {
		t.Fatalf("A emitted %d events before it was killed: the machine is too slow for an 8s window", len(evs))
	}
	killed := time.Now()
	a.Process.Signal(syscall.SIGKILL)
	a.Wait()

	var evs []tracking.Event
	poll.Until(t, 120*time.Second, func() error {
		if evs = h.shipmentEvents(key); len(evs) < len(cps) {
			return fmt.Errorf("%d of %d events emitted by B", len(evs), len(cps))
		}
		return h.settled()
	})
	t.Logf("B emitted the dead owner's buffered events %v after the kill (pinned TTL 3s, AckWait 15s, window 8s)", time.Since(killed).Round(100*time.Millisecond))
	if pin, _ := h.partitionState(p); pin == pinA || pin == "" {
		t.Errorf("partition %d pin %q, want B's (A's was %q)", p, pin, pinA)
	}
	checkExactlyOnceInOrder(t, evs, cps)
	if n := len(h.shipmentEvents("ups:" + tns[0])); n != 1 {
		t.Errorf("warm-up shipment has %d events, want 1", n)
	}
}

// TestPartitionMovesOnDrain: the owner is stopped with SIGTERM while it
// buffers a shipment's events. It emits them (in order) before exiting and
// unpins the partition, so the other replica owns it at once rather than
// after the pinned TTL (a minute here), and the shipment's next event is
// emitted by it, not late, exactly once.
func TestPartitionMovesOnDrain(t *testing.T) {
	bin := buildNormalizer(t)
	h := newHarness(t, map[string]string{
		"NORMALIZER_REORDER_WINDOW": "5s", "NORMALIZER_ACK_WAIT": "15s",
		"NORMALIZER_PINNED_TTL": "60s", "NORMALIZER_HANDOVER_GRACE": "1s",
	})
	tns, p := samePartition("1ZDRAIN", 2)
	a, pinA := h.pinnedTo(bin, p, tns[0])
	h.spawn(bin)

	base := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	cps := []checkpoint{
		{At: base.Add(time.Hour), Tag: "InTransit", RawTag: "D1", Message: "departed"},
		{At: base, Tag: "InfoReceived", RawTag: "D0", Message: "label"},
	}
	key := "ups:" + tns[1]
	for i, c := range cps {
		h.publishRaw("wineshipping", wineshippingBody(fmt.Sprintf("%s-%d", tns[1], i), tns[1], []checkpoint{c}), nil)
	}
	poll.Until(t, 30*time.Second, func() error {
		if _, pending := h.partitionState(p); pending < len(cps) {
			return fmt.Errorf("%d of %d candidates delivered to A", pending, len(cps))
		}
		return nil
	})
	a.Process.Signal(syscall.SIGTERM)
	if err := a.Wait(); err != nil {
		t.Fatalf("A did not drain cleanly: %v", err)
	}
	// Drained: A's buffer is on SHIPMENTS, and A's pin is gone now, not
	// after the 60s TTL.
	if evs := h.shipmentEvents(key); len(evs) != len(cps) {
		t.Fatalf("after A drained, %d of %d buffered events emitted", len(evs), len(cps))
	}
	if pin, _ := h.partitionState(p); pin == pinA {
		t.Fatalf("partition %d still pinned to the drained replica", p)
	}

	next := checkpoint{At: base.Add(2 * time.Hour), Tag: "OutForDelivery", RawTag: "D2", Message: "out"}
	h.publishRaw("wineshipping", wineshippingBody(tns[1]+"-2", tns[1], []checkpoint{next}), nil)
	var evs []tracking.Event
	poll.Until(t, 45*time.Second, func() error { // well inside the 60s TTL: only an unpin lets B in
		if evs = h.shipmentEvents(key); len(evs) < len(cps)+1 {
			return fmt.Errorf("%d of %d events", len(evs), len(cps)+1)
		}
		return h.settled()
	})
	checkExactlyOnceInOrder(t, evs, append(cps, next))
	if pin, _ := h.partitionState(p); pin == "" || pin == pinA {
		t.Errorf("partition %d pin %q after B took over", p, pin)
	}
}
