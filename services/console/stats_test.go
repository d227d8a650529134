package console

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestStats(t *testing.T) {
	h := newHarness(t)
	at := time.Now().Add(-time.Hour)
	h.seedEvents(t,
		ev("ups", "1ZS1", tracking.InTransit, at, nil),
		ev("ups", "1ZS2", tracking.Delivered, at, nil),
		ev("usps", "9400S", tracking.InTransit, at, nil),
		ev("usps", "9400S", tracking.OutForDelivery, at.Add(time.Minute), nil),
	)
	ctx := context.Background()
	if _, err := h.DB.Exec(ctx, `UPDATE waybill.shipments SET stalled_at = now() WHERE shipment_key = 'ups:1ZS1'`); err != nil {
		t.Fatal(err)
	}
	h.seedDeadletter(t, "ingress", "carriyo", []byte(`{}`), "bad")
	h.seedDeadletter(t, "ingress", "carriyo", []byte(`{}`), "bad")
	h.seedDeadletter(t, "normalizer", "tenovi", []byte(`{}`), "bad")
	// A durable consumer that has read nothing: everything is pending.
	if _, err := h.JS.CreateOrUpdateConsumer(ctx, streams.Shipments, jetstream.ConsumerConfig{
		Durable: "projector", AckPolicy: jetstream.AckExplicitPolicy,
	}); err != nil {
		t.Fatal(err)
	}

	var st stats
	h.api(t).getJSON("/api/v1/stats", http.StatusOK, &st)
	if len(st.Unavailable) != 0 {
		t.Errorf("unavailable: %v", st.Unavailable)
	}
	c := st.Shipments
	if c == nil || c.Total != 3 || c.ByStatus[tracking.InTransit] != 1 || c.ByStatus[tracking.Delivered] != 1 ||
		c.ByStatus[tracking.OutForDelivery] != 1 || c.ByCarrier["ups"] != 2 || c.ByCarrier["usps"] != 1 || c.Stalled != 1 ||
		len(c.ByStatus) != len(tracking.Statuses) {
		t.Errorf("shipments %+v", c)
	}
	var perMinute int64
	for _, r := range st.EventsPerMinute {
		perMinute += r.Events
	}
	if len(st.EventsPerMinute) != 60 || perMinute != 4 {
		t.Errorf("events per minute: %d buckets, %d events: %+v", len(st.EventsPerMinute), perMinute, st.EventsPerMinute)
	}
	byName := map[string]streamStats{}
	for _, s := range st.Streams {
		byName[s.Name] = s
	}
	sh := byName[streams.Shipments]
	if sh.Messages != 4 || sh.Bytes == 0 || len(sh.Consumers) != 1 || sh.Consumers[0].Name != "projector" ||
		sh.Consumers[0].Pending != 4 || sh.Consumers[0].Ephemeral {
		t.Errorf("SHIPMENTS %+v", sh)
	}
	if byName[streams.DeadLetter].Messages != 3 {
		t.Errorf("DEADLETTER %+v", byName[streams.DeadLetter])
	}
	for _, name := range []string{streams.Raw, streams.Alerts, streams.Candidates} {
		if _, ok := byName[name]; !ok {
			t.Errorf("stream %s missing", name)
		}
	}
	if st.DeadLettersTotal != 3 || len(st.DeadLetters) != 2 || st.DeadLetters[0] != (deadletterCount{"ingress", "carriyo", 2}) ||
		st.DeadLetters[1] != (deadletterCount{"normalizer", "tenovi", 1}) {
		t.Errorf("dead letters %+v", st.DeadLetters)
	}
}
