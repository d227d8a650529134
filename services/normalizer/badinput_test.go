package normalizer_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/normalizer"
)

// The bad-input corpus at the normalizer. docs/bad-input.md is the table of
// what each input is answered at ingress and what happens to it here; these
// tests hold the normalizer to it. Every raw message must end as events on
// SHIPMENTS, as a well-formed message about no parcel (acked, counted), or
// on deadletter.normalizer.<source> with the reason; nothing may crash,
// hang, or stay unacked.

// seeds are the providers' seed payloads (testdata/<name>.json).
var seeds = map[string]string{
	"carriyo": "seed-delivered", "swiftpod": "seed-tracking-number", "tenovi": "seed-shipped-usps",
	"usps": "seed-tenovi-recipe", "wineshipping": "seed-tracking-update",
}

// rawInput is one raw message to publish.
type rawInput struct {
	source  string
	body    []byte
	headers map[string]string
}

// identifies reports whether ingress (or the USPS poller) would store the
// input at all: one it cannot identify is answered 400 there.
func (in rawInput) identifies() bool {
	p, _ := providers.Lookup(in.source)
	_, err := p.Identify(providers.Request{Body: in.body, Header: toHeader(in.headers).Get})
	return err == nil
}

func toHeader(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// corpus is the bad-input corpus built from every provider's seed
// payload (providertest.BadInputs), nested depth levels deep.
func corpus(t *testing.T, depth int) []rawInput {
	t.Helper()
	var out []rawInput
	n := 0
	for source, name := range seeds {
		body, headers := fixture(t, source, name)
		p, _ := providers.Lookup(source)
		id, err := p.Identify(providers.Request{Body: body, Header: toHeader(headers).Get})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range providertest.BadInputs(body, id.Subject, depth) {
			n++
			in := rawInput{source: source}
			in.body, in.headers = providertest.WithID(id.ID, fmt.Sprintf("-bad%04d", n), v.Body, headers)
			out = append(out, in)
		}
	}
	return out
}

// TestBadInputPipeline runs the corpus through a normalizer and accounts
// for every raw message RAW holds, with MapRaw (the pure step the mapper
// and replays share) as the oracle: its events are all on SHIPMENTS with
// contract subjects, or it is on DEADLETTER with MapRaw's reason (an
// ErrUnmappable), or it is about no parcel; nothing stays unacked, and
// SHIPMENTS and DEADLETTER hold nothing else. Inputs ingress would answer
// 400 (no id) are not published: TestBadInputCorpus of ingress has them.
func TestBadInputPipeline(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	published := 0
	for _, in := range corpus(t, 100_000) {
		if in.identifies() {
			h.publishRaw(in.source, in.body, in.headers)
			published++
		}
	}
	h.checkAccounted(t, 3*time.Minute)
	t.Logf("%d raw messages published, %d stored (the rest collapsed by event id)", published, h.count(streams.Raw))
}

// checkAccounted waits until the normalizer has settled every raw message
// (a hang fails after timeout) and checks each one's fate against MapRaw.
func (h *harness) checkAccounted(t *testing.T, timeout time.Duration) (events map[string]tracking.Event, dead map[string]deadletter.Info) {
	t.Helper()
	want := map[string]bool{} // event ids
	wantDead := map[string]error{}
	counts := map[string]int{}
	for _, m := range h.read(t, streams.Raw) {
		source := strings.TrimPrefix(m.Subject(), "raw.")
		evs, err := normalizer.MapRaw(source, m.Headers(), m.Data())
		key := source + "/" + m.Headers().Get("ce-id")
		switch {
		case errors.Is(err, providers.ErrNotShipment):
			counts["not a shipment"]++
		case err != nil:
			if !errors.Is(err, providers.ErrUnmappable) || err.Error() == "" {
				t.Errorf("%s: error not classified: %v", key, err)
			}
			wantDead[key] = err
			counts["dead letter"]++
		case len(evs) == 0:
			t.Errorf("%s: no events and no error: the message would vanish", key)
		default:
			for _, e := range evs {
				want[e.ID] = true
			}
			counts["mapped"]++
		}
	}
	t.Logf("raw messages: %v; %d distinct events", counts, len(want))

	poll.Until(t, timeout, func() error {
		if err := h.settled(); err != nil {
			return err
		}
		if n := h.count(streams.DeadLetter); n < len(wantDead) {
			return fmt.Errorf("%d dead letters, want %d", n, len(wantDead))
		}
		if n := h.count(streams.Shipments); n < len(want) {
			return fmt.Errorf("%d events on SHIPMENTS, want %d", n, len(want))
		}
		return nil
	})
	events = map[string]tracking.Event{}
	for _, e := range h.events() { // decodes, checks schema and subject
		if !want[e.ID] {
			t.Errorf("SHIPMENTS holds %s (%s), which no raw message maps to", e.ID, e.ShipmentKey)
		}
		if err := providertest.CheckSubject(&e); err != nil {
			t.Error(err)
		}
		events[e.ID] = e
	}
	for id := range want {
		if _, ok := events[id]; !ok {
			t.Errorf("event %s mapped but not on SHIPMENTS", id)
		}
	}
	dead = map[string]deadletter.Info{}
	for _, m := range h.read(t, streams.DeadLetter) {
		info := deadletter.Read(m.Headers())
		source := strings.TrimPrefix(m.Subject(), "deadletter.normalizer.")
		key := source + "/" + m.Headers().Get("ce-id")
		cause, ok := wantDead[key]
		switch {
		case !ok:
			t.Errorf("DEADLETTER holds %s (%s), which maps", key, info.Reason)
		case info.Stage != "normalizer" || info.Subject != "raw."+source ||
			!strings.HasPrefix(cause.Error(), strings.TrimSuffix(info.Reason, "…")):
			t.Errorf("dead letter %s: %+v, want stage normalizer, subject raw.%s, reason %q", key, info, source, cause)
		}
		dead[key] = info
	}
	for key, cause := range wantDead {
		if _, ok := dead[key]; !ok {
			t.Errorf("%s is unmappable (%v) but not on DEADLETTER", key, cause)
		}
	}
	return events, dead
}

// read is every message of a stream, in order, through an ordered
// consumer: one fetch per batch, where stored's one request per message is
// slow for the thousands of the corpus.
func (h *harness) read(t *testing.T, stream string) []jetstream.Msg {
	t.Helper()
	ctx := context.Background()
	n := h.count(stream)
	c, err := h.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	var out []jetstream.Msg
	for len(out) < n {
		batch, err := c.Fetch(min(n-len(out), 500), jetstream.FetchMaxWait(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			out = append(out, m)
			got++
		}
		if got == 0 {
			t.Fatalf("%s: read %d of %d messages", stream, len(out), n)
		}
	}
	return out
}

// count is how many messages a stream holds (0 if it cannot say).
func (h *harness) count(stream string) int {
	s, err := h.js.Stream(context.Background(), stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 0
	}
	return int(info.State.Msgs)
}

// TestWildcardTrackingNumbers: a tracking number with NATS wildcards, the
// token separator and spaces yields a valid subject token ('_' for each
// byte outside [A-Z0-9-], spaces removed), and the event is on SHIPMENTS
// with the tracking number itself, normalized, in its data.
func TestWildcardTrackingNumbers(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	const number = "1z *>.9 a"
	const want = "1Z*>.9A" // upper case, spaces removed
	const token = "1Z___9A"
	inputs := []rawInput{
		{source: "wineshipping", body: []byte(`{"event_id":"wild-1","msg":{"tracking_number":"` + number + `","slug":"ups","tag":"InTransit","checkpoints":[{"checkpoint_time":"2024-01-15T15:30:00Z","tag":"InTransit"}]}}`)},
		{source: "carriyo", body: []byte(`{"shipment_id":"S1","post_shipping_info":{"status":"shipped","tracking_no":"` + number + `","carrier_status_date":"2026-05-07T16:42:00Z"},"carrier_account":{"carrier":"DHL"}}`), headers: map[string]string{"event-id": "wild-2"}},
		{source: "swiftpod", body: []byte(`{"event":{"uuid":"wild-3","name":"shipment_notify","timestamp":"2022-07-08T13:24:00Z","tracking":{"tracking_number":"` + number + `","tracking_status":"in_transit","carrier_code":"FedEx"}}}`)},
		{source: "usps", body: []byte(`{"trackingNumber":"` + number + `","trackingEvents":[{"eventType":"Arrived","eventCode":"10","eventTimestamp":"2024-01-15T10:30:00","GMTTimestamp":"2024-01-15T15:30:00Z"}]}`)},
		{source: "tenovi", body: []byte(`{"hwi_device_id":"` + number + `","status":"Dropship Requested","tracking_link":null}`)},
	}
	for _, in := range inputs {
		h.publishRaw(in.source, in.body, in.headers)
	}
	events, dead := h.checkAccounted(t, time.Minute)
	if len(dead) != 0 {
		t.Fatalf("dead letters: %v", dead)
	}
	carriers := map[string]bool{}
	for _, e := range events {
		subject := strings.Split(e.Subject(), ".")
		if e.TrackingNumber != want || subject[2] != token || e.ShipmentKey != e.Carrier+":"+want {
			t.Errorf("%s: tracking number %q, subject %s, key %s; want %q in the data and token %s", e.Source, e.TrackingNumber, e.Subject(), e.ShipmentKey, want, token)
		}
		carriers[e.Carrier] = true
	}
	for _, c := range []string{"ups", "dhl", "fedex", "usps", "tenovi"} {
		if !carriers[c] {
			t.Errorf("no %s event on SHIPMENTS", c)
		}
	}
}

// TestTimestampYears: a carrier time in the year 0 or 9999 (or any year
// outside 1990-2200) is a broken feed, not a scan: the raw message is
// dead-lettered saying so, never turned into an event that would win "latest
// wins" forever. Swiftpod's label created_at is not the notification's time:
// an unreadable one only drops the extra info_received event.
func TestTimestampYears(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	n := 0
	for _, ts := range []string{"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"} {
		n++
		id := fmt.Sprintf("year-%d", n)
		for _, in := range []rawInput{
			{source: "wineshipping", body: []byte(`{"event_id":"` + id + `","msg":{"tracking_number":"1ZYEAR` + id + `","slug":"ups","tag":"InTransit","checkpoints":[{"checkpoint_time":"` + ts + `","tag":"InTransit"}]}}`)},
			{source: "carriyo", body: []byte(`{"post_shipping_info":{"status":"shipped","tracking_no":"Y` + id + `","carrier_status_date":"` + ts + `"},"carrier_account":{"carrier":"DHL"}}`), headers: map[string]string{"event-id": id}},
			{source: "carriyo", body: []byte(`{"post_shipping_info":{"status":"shipped","tracking_no":"Y` + id + `","carrier_status_date":"2026-05-07T16:42:00Z","key_milestones":{"booked":"` + ts + `"}}},"carrier_account":{"carrier":"DHL"}}`), headers: map[string]string{"event-id": id + "-m"}},
			{source: "swiftpod", body: []byte(`{"event":{"uuid":"` + id + `","name":"shipment_notify","timestamp":"` + ts + `","tracking":{"tracking_number":"94YEAR","tracking_status":"in_transit","carrier_code":"USPS"}}}`)},
			{source: "usps", body: []byte(`{"trackingNumber":"94YEAR` + id + `","trackingEvents":[{"eventType":"Arrived","eventCode":"10","GMTTimestamp":"` + ts + `"}]}`)},
			{source: "usps", body: []byte(`{"trackingNumber":"94YEARL` + id + `","trackingEvents":[{"eventType":"Arrived","eventCode":"10","eventTimestamp":"` + strings.TrimSuffix(ts, "Z") + `"}]}`)},
		} {
			h.publishRaw(in.source, in.body, in.headers)
		}
	}
	for _, date := range []string{"January 1, 0000", "December 31, 9999"} {
		n++
		body := `{"TrackSummary":{"EventTime":"8:00 am","EventDate":"` + date + `","Event":"DELIVERED","EventZIPCode":"03801"}}`
		h.publishRaw("usps", []byte(body), map[string]string{"X-Tracking-Number": fmt.Sprintf("94USPSYEAR%d", n)})
	}
	// A label created in year 0: the status event stays, the label event goes.
	h.publishRaw("swiftpod", []byte(`{"event":{"uuid":"label-year","name":"shipment_notify","timestamp":"2022-07-08T13:24:00Z","tracking":{"tracking_number":"94LABEL","tracking_status":"in_transit","carrier_code":"USPS"}},"data":{"trackings":[{"tracking_number":"94LABEL","carrier":"USPS","created_at":"0000-01-01T00:00:00Z"}]}}`), nil)

	events, dead := h.checkAccounted(t, time.Minute)
	if len(dead) != 6*4+2 {
		t.Errorf("%d dead letters, want %d", len(dead), 6*4+2)
	}
	for key, info := range dead {
		if !strings.Contains(info.Reason, "year") {
			t.Errorf("%s: reason %q does not say the year is out of range", key, info.Reason)
		}
	}
	if len(events) != 1 {
		t.Fatalf("%d events, want swiftpod's one status event: %v", len(events), events)
	}
	for _, e := range events {
		if e.ShipmentKey != "usps:94LABEL" || e.Status != tracking.InTransit {
			t.Errorf("event %+v", e)
		}
	}
}

// TestOversizedIdentifiers is the regression test of a normalizer wedge: a
// tracking number (or carrier) of thousands of bytes made subjects longer
// than the server's 4 KiB control line; the server dropped the connection
// on every publish, so that raw message and every one in flight with it
// were redelivered forever. Now the event is invalid, the raw message is
// dead-lettered with the reason, and the messages around it are mapped.
func TestOversizedIdentifiers(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	checkpoint := `"checkpoints":[{"checkpoint_time":"2024-01-15T15:30:00Z","tag":"InTransit"}]`
	h.publishRaw("wineshipping", []byte(`{"event_id":"before","msg":{"tracking_number":"1ZBEFORE","slug":"ups",`+checkpoint+`}}`), nil)
	h.publishRaw("wineshipping", []byte(`{"event_id":"long-number","msg":{"tracking_number":"`+strings.Repeat("A1", 3000)+`","slug":"ups",`+checkpoint+`}}`), nil)
	h.publishRaw("wineshipping", []byte(`{"event_id":"long-carrier","msg":{"tracking_number":"1ZLONG","slug":"`+strings.Repeat("u", 5000)+`",`+checkpoint+`}}`), nil)
	h.publishRaw("tenovi", []byte(`{"hwi_device_id":"`+strings.Repeat("D", 200)+`","status":"Dropship Requested"}`), nil)
	h.publishRaw("wineshipping", []byte(`{"event_id":"after","msg":{"tracking_number":"1ZAFTER","slug":"ups",`+checkpoint+`}}`), nil)
	h.publishRaw("wineshipping", []byte(`{"event_id":"at-the-limit","msg":{"tracking_number":"`+strings.Repeat("9", tracking.MaxTrackingNumberLen)+`","slug":"ups",`+checkpoint+`}}`), nil)

	events, dead := h.checkAccounted(t, time.Minute)
	if len(events) != 3 || len(dead) != 3 {
		t.Fatalf("%d events, %d dead letters; want 3 and 3", len(events), len(dead))
	}
	for key, info := range dead {
		if !strings.Contains(info.Reason, "longer than") {
			t.Errorf("%s: reason %q", key, info.Reason)
		}
	}
}
