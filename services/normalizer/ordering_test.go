package normalizer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/normalizer"
)

// checkpoint is one synthetic carrier scan.
type checkpoint struct {
	At      time.Time
	Tag     string
	RawTag  string
	City    string
	Message string
}

var tags = []string{"InfoReceived", "InTransit", "InTransit", "OutForDelivery", "AttemptFail", "Delivered"}

// randomShipment makes n checkpoints with deliberate time ties.
func randomShipment(rng *rand.Rand, n int) []checkpoint {
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var out []checkpoint
	for i := 0; i < n; i++ {
		at := base.Add(time.Duration(rng.Intn(n*2)) * time.Hour) // ties are likely
		out = append(out, checkpoint{At: at, Tag: tags[rng.Intn(len(tags))], RawTag: fmt.Sprintf("R%d", i),
			City: []string{"Orlando", "Clearwater", ""}[rng.Intn(3)], Message: fmt.Sprintf("scan %d", i)})
	}
	return out
}

// wineshippingBody is an AfterShip-shaped webhook carrying some checkpoints.
func wineshippingBody(eventID, trackingNumber string, cps []checkpoint) []byte {
	type cp struct {
		Time    string `json:"checkpoint_time"`
		Tag     string `json:"tag"`
		Subtag  string `json:"subtag"`
		RawTag  string `json:"raw_tag"`
		Message string `json:"message"`
		City    string `json:"city,omitempty"`
		State   string `json:"state"`
		Country string `json:"country_iso3"`
	}
	var list []cp
	for _, c := range cps {
		list = append(list, cp{Time: c.At.Format(time.RFC3339), Tag: c.Tag, Subtag: c.Tag + "_001", RawTag: c.RawTag,
			Message: c.Message, City: c.City, State: "FL", Country: "USA"})
	}
	b, _ := json.Marshal(map[string]any{"event": "tracking_update", "event_id": eventID,
		"msg": map[string]any{"tracking_number": trackingNumber, "slug": "ups", "tag": "InTransit", "checkpoints": list}})
	return b
}

type delivery struct {
	source string
	body   []byte
}

// deliveries makes one webhook per checkpoint plus duplicates: a provider
// retry (same event id) and a later webhook repeating the checkpoint under
// a new event id.
func deliveries(rng *rand.Rand, shipments int) []delivery {
	var out []delivery
	for s := 0; s < shipments; s++ {
		tn := fmt.Sprintf("1ZPROP%04d", s)
		for i, c := range randomShipment(rng, 3+rng.Intn(6)) {
			d := delivery{"wineshipping", wineshippingBody(fmt.Sprintf("%s-%d", tn, i), tn, []checkpoint{c})}
			out = append(out, d)
			if rng.Intn(3) == 0 {
				out = append(out, d) // retry: same event id
			}
			if rng.Intn(3) == 0 {
				out = append(out, delivery{"wineshipping", wineshippingBody(fmt.Sprintf("%s-%d-again", tn, i), tn, []checkpoint{c})})
			}
		}
	}
	return out
}

func emitted(t *testing.T, ds []delivery, split bool) map[string][]tracking.Event {
	h := newHarness(t, map[string]string{"NORMALIZER_REORDER_WINDOW": "1500ms", "NORMALIZER_ACK_WAIT": "10s"})
	h.start()
	for i, d := range ds {
		if split && i == len(ds)/2 {
			time.Sleep(2500 * time.Millisecond) // past the window: the rest arrives late
		}
		h.publishRaw(d.source, d.body, nil)
	}
	var evs []tracking.Event
	poll.Until(t, 20*time.Second, func() error {
		if err := h.settled(); err != nil {
			return err
		}
		evs = h.events()
		return nil
	})
	return byShipment(evs)
}

// TestPermutationsWithinWindowEmitTheSameSequence is the ordering property:
// whatever order and duplication the webhooks arrive in within the window,
// each shipment's emitted sequence is the same, sorted, and none is late;
// beyond the window the set is the same and only late flags differ.
func TestPermutationsWithinWindowEmitTheSameSequence(t *testing.T) {
	rng := rand.New(rand.NewSource(42))
	ds := deliveries(rng, 12)
	var reference map[string][]tracking.Event
	for run := 0; run < 3; run++ {
		perm := append([]delivery(nil), ds...)
		rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		got := emitted(t, perm, false)
		for key, evs := range got {
			for i := range evs {
				if evs[i].Late {
					t.Errorf("run %d %s: event %d late within the window", run, key, i)
				}
				if i > 0 && tracking.Before(&evs[i], &evs[i-1]) {
					t.Errorf("run %d %s: not in carrier order at %d", run, key, i)
				}
			}
		}
		if reference == nil {
			reference = got
			continue
		}
		for key := range reference {
			if !reflect.DeepEqual(ids(reference[key]), ids(got[key])) {
				t.Errorf("run %d %s: sequence differs:\n%v\n%v", run, key, ids(reference[key]), ids(got[key]))
			}
		}
	}

	// Split across the window: same set, later arrivals that sort before
	// what was emitted are flagged late.
	perm := append([]delivery(nil), ds...)
	rng.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	got := emitted(t, perm, true)
	late := 0
	for key := range reference {
		if !reflect.DeepEqual(sortedIDs(reference[key]), sortedIDs(got[key])) {
			t.Errorf("split %s: event set differs", key)
		}
		var wm *tracking.Event
		for i := range got[key] {
			e := &got[key][i]
			wantLate := wm != nil && tracking.Before(e, wm)
			if e.Late != wantLate {
				t.Errorf("split %s: event %s late=%v, want %v", key, e.ID, e.Late, wantLate)
			}
			if e.Late {
				late++
			}
			if wm == nil || tracking.Before(wm, e) {
				wm = e
			}
		}
	}
	if late == 0 {
		t.Error("splitting the deliveries across the window produced no late event")
	}
}

func TestDuplicatesBeyondTheStreamWindowAreDropped(t *testing.T) {
	h := newHarness(t, map[string]string{"WAYBILL_DUPLICATE_WINDOW": "1s"})
	h.start()
	cps := randomShipment(rand.New(rand.NewSource(1)), 4)
	h.publishRaw("wineshipping", wineshippingBody("first", "1ZDUP", cps), nil)
	first := h.waitEvents(len(uniqueCheckpoints(cps)))
	time.Sleep(1500 * time.Millisecond) // both streams have forgotten the message ids
	// A new process: its mapper has not stored these candidates (it would
	// not store them again), so ordering's state is what drops them.
	h.drain()
	h.start()
	h.publishRaw("wineshipping", wineshippingBody("second", "1ZDUP", cps), nil)
	poll.Until(t, 10*time.Second, h.settled)
	if got := h.events(); len(got) != len(first) {
		t.Fatalf("%d events after the late duplicate, want %d", len(got), len(first))
	}
}

// A provider resending a shipment's whole history (here Wineshipping's
// checkpoints, growing by one per webhook) has only the new checkpoint
// stored on CANDIDATES: the mapper remembers what it stored. The events
// are the same as without it, each once.
func TestRepeatedHistoryIsNotStoredAgain(t *testing.T) {
	h := newHarness(t, nil)
	ops := h.startWithOps()
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var cps []checkpoint // distinct scans, each its own event
	for i, tag := range []string{"InfoReceived", "InTransit", "InTransit", "OutForDelivery", "Delivered"} {
		cps = append(cps, checkpoint{At: base.Add(time.Duration(i) * time.Hour), Tag: tag, RawTag: fmt.Sprintf("R%d", i),
			City: "Orlando", Message: fmt.Sprintf("scan %d", i)})
	}
	want := len(cps)
	repeats := 0
	for i := 1; i <= len(cps); i++ {
		h.publishRaw("wineshipping", wineshippingBody(fmt.Sprintf("hist-%d", i), "1ZHIST", cps[:i]), nil)
		repeats += i - 1
		// Each webhook's candidates are stored (its raw message acked)
		// before the next one is mapped.
		poll.Until(t, 10*time.Second, func() error {
			info, err := h.js.Consumer(context.Background(), streams.Raw, normalizer.MapperConsumer)
			if err != nil {
				return err
			}
			if c := info.CachedInfo(); c.AckFloor.Stream < uint64(i) {
				return fmt.Errorf("raw messages acked up to %d of %d", c.AckFloor.Stream, i)
			}
			return nil
		})
	}
	got := h.waitEvents(want)
	poll.Until(t, 10*time.Second, h.settled)
	if got = h.events(); len(got) != want {
		t.Fatalf("%d events, want %d", len(got), want)
	}
	seen := map[string]bool{}
	for _, e := range got {
		if seen[e.ID] {
			t.Fatalf("event %s emitted twice", e.ID)
		}
		seen[e.ID] = true
	}
	if known := ops.counter("waybill_normalizer_candidates_known_total"); known != float64(repeats) {
		t.Fatalf("%v candidates skipped as already stored, want %d", known, repeats)
	}
	// Candidates carry no message id: a batch holding one the stream had
	// seen (a repeat another replica stored) would be refused whole.
	cands := h.stored(streams.Candidates, ">")
	if len(cands) == 0 {
		t.Fatal("no candidate left on CANDIDATES to look at: trimmed already")
	}
	for _, m := range cands {
		if id := m.Header.Get("Nats-Msg-Id"); id != "" {
			t.Fatalf("candidate %s stored with Nats-Msg-Id %q", m.Subject, id)
		}
	}
}

// Every emitted event has passed through each stage's latency histogram
// (docs/operations.md: the one that grows names the stage falling behind).
func TestStageLatenciesObserved(t *testing.T) {
	h := newHarness(t, nil)
	ops := h.startWithOps()
	base := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	h.publishRaw("wineshipping", wineshippingBody("stages", "1ZSTAGE", []checkpoint{{At: base, Tag: "InTransit", RawTag: "R0"}}), nil)
	h.waitEvents(1)
	poll.Until(t, 10*time.Second, func() error {
		for _, name := range []string{"waybill_normalizer_raw_wait_seconds", "waybill_normalizer_candidate_store_seconds",
			"waybill_normalizer_candidate_wait_seconds", "waybill_normalizer_emit_delay_seconds"} {
			if ops.observations(name) == 0 {
				return fmt.Errorf("%s has no observation", name)
			}
		}
		return nil
	})
}

func uniqueCheckpoints(cps []checkpoint) map[checkpoint]bool {
	m := map[checkpoint]bool{}
	for _, c := range cps {
		m[c] = true
	}
	return m
}

func TestUnmappableIsDeadLetteredAndNotShipmentIsNot(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	bad := wineshippingBody("bad-time", "1ZBAD", []checkpoint{{At: time.Now(), Tag: "InTransit"}})
	var m map[string]any
	json.Unmarshal(bad, &m)
	m["msg"].(map[string]any)["checkpoints"].([]any)[0].(map[string]any)["checkpoint_time"] = "yesterday-ish"
	bad, _ = json.Marshal(m)
	rawID := h.publishRaw("wineshipping", bad, nil)
	body, hdr := fixture(t, "carriyo", "notshipment-order-envelope")
	h.publishRaw("carriyo", body, hdr)

	poll.Until(t, 10*time.Second, h.settled)
	dls := h.stored(streams.DeadLetter, "deadletter.normalizer.>")
	if len(dls) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dls))
	}
	info := deadletter.Read(dls[0].Header)
	if dls[0].Subject != "deadletter.normalizer.wineshipping" || info.Subject != "raw.wineshipping" || info.Reason == "" ||
		dls[0].Header.Get("ce-id") != rawID || string(dls[0].Data) != string(bad) {
		t.Errorf("dead letter %s %+v ce-id %q", dls[0].Subject, info, dls[0].Header.Get("ce-id"))
	}
	if n := len(h.events()); n != 0 {
		t.Errorf("%d events from unmappable and non-shipment messages", n)
	}
}

func TestBufferIsBounded(t *testing.T) {
	h := newHarness(t, map[string]string{"NORMALIZER_MAX_BUFFERED": "100", "NORMALIZER_REORDER_WINDOW": "500ms"})
	ops := h.startWithOps()
	const n = 600
	for i := 0; i < n; i++ {
		tn := fmt.Sprintf("1ZBOUND%04d", i)
		h.publishRaw("wineshipping", wineshippingBody(tn, tn, []checkpoint{{At: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Tag: "InTransit"}}), nil)
	}
	peak := 0.0
	poll.Until(t, 30*time.Second, func() error {
		peak = max(peak, ops.buffered())
		if got := len(h.stored(streams.Shipments, ">")); got != n {
			return fmt.Errorf("%d of %d emitted", got, n)
		}
		return nil
	})
	if peak > 100 {
		t.Errorf("buffered %v events, limit 100", peak)
	}
}
