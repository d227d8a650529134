package carriyo_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/carriyo"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, carriyo.Provider{})
}

// The fuzzer sends every body with the first fixture's headers
// (all-statuses), which carry an event-id, so fuzzed bodies reach Map.
func FuzzProvider(f *testing.F) {
	providertest.Fuzz(f, carriyo.Provider{})
}

// TestStatus pins the Carriyo cross-walk of REFERENCE.md, one row per
// status, so a regression names itself.
func TestStatus(t *testing.T) {
	tests := []struct {
		status string
		want   tracking.Status
	}{
		{"draft", tracking.Pending},
		{"pending", tracking.Pending},
		{"booked", tracking.InfoReceived},
		{"ready_to_ship", tracking.InfoReceived},
		{"shipped", tracking.InTransit},
		{"in_transit", tracking.InTransit},
		{"out_for_delivery", tracking.OutForDelivery},
		{"awaiting_customer_collection", tracking.AvailableForPickup},
		{"failed_delivery_attempt", tracking.FailedAttempt},
		{"delayed", tracking.Exception},
		{"suspended", tracking.Exception},
		{"error", tracking.Exception},
		{"failed_collection_attempt", tracking.Exception},
		{"ready_for_return", tracking.ReturnToSender},
		{"return_in_transit", tracking.ReturnToSender},
		{"returned", tracking.Returned},
		{"delivered", tracking.Delivered},
		{"missing", tracking.Failed},
		{"cancelled", tracking.Cancelled},
		{"cancelled_by_carrier", tracking.Cancelled},
		{" Delivered ", tracking.Delivered},
		{"teleported", tracking.Unknown},
		{"", tracking.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			if got := carriyo.Status(tt.status); got != tt.want {
				t.Errorf("Status(%q) = %q, want %q", tt.status, got, tt.want)
			}
		})
	}
}

type fixture struct {
	body    []byte
	headers map[string]string
}

func readFixture(t testing.TB, name string) fixture {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{body: body}
	hb, err := os.ReadFile(filepath.Join("testdata", name+".headers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(hb, &f.headers); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f fixture) request() providers.Request {
	return providertest.Fixture{Body: f.body, Headers: f.headers}.Request()
}

// mapAt identifies and maps a fixture as if it arrived at receivedAt.
func mapAt(t *testing.T, name string, receivedAt time.Time) []tracking.Event {
	t.Helper()
	p := carriyo.Provider{}
	f := readFixture(t, name)
	id, err := p.Identify(f.request())
	if err != nil {
		t.Fatal(err)
	}
	raw := providertest.Raw(p, id, f.body)
	raw.Time = receivedAt
	events, err := p.Map(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range events {
		events[i].Normalize()
	}
	return events
}

// Carriyo retries for up to 30 hours and does not keep order: the delivered
// webhook can land before out_for_delivery. The events must come from the
// carrier times in the body alone, and the late webhook's status must be
// the very event the earlier one already carried as a milestone, so the
// normalizer's dedup collapses it whatever the arrival order.
func TestOutOfOrderDoesNotDependOnArrival(t *testing.T) {
	t0 := time.Date(2026, 5, 12, 15, 3, 0, 0, time.UTC)
	first := mapAt(t, "outoforder-1-delivered-first", t0)
	late := mapAt(t, "outoforder-2-out-for-delivery-late", t0.Add(30*time.Hour))

	if again := mapAt(t, "outoforder-1-delivered-first", t0.Add(30*time.Hour)); !reflect.DeepEqual(first, again) {
		t.Fatal("events depend on the receipt time")
	}
	ids := map[string]tracking.Event{}
	for _, ev := range first {
		ids[ev.ID] = ev
	}
	for _, ev := range late {
		prev, ok := ids[ev.ID]
		if !ok {
			t.Errorf("late %s event at %s is not among the delivered webhook's milestones", ev.Status, ev.OccurredAt)
			continue
		}
		if prev.Status != ev.Status || !prev.OccurredAt.Equal(ev.OccurredAt) {
			t.Errorf("same id, different event: %+v vs %+v", prev, ev)
		}
	}
	last := first[len(first)-1]
	if last.Status != tracking.Delivered {
		t.Errorf("latest event of the delivered webhook is %s", last.Status)
	}
}

// The current status and its own milestone at the same instant are one
// event, not two.
func TestCurrentStatusNotDuplicated(t *testing.T) {
	events := mapAt(t, "seed-delivered", providertest.ReceivedAt)
	n := 0
	for _, ev := range events {
		if ev.Status == tracking.Delivered {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d delivered events, want 1", n)
	}
	if len(events) != 4 {
		t.Fatalf("%d events, want 4 (booked, shipped, out_for_delivery, delivered)", len(events))
	}
}

func TestReverseShipmentIsFlagged(t *testing.T) {
	for _, ev := range mapAt(t, "reverse-shipment", providertest.ReceivedAt) {
		if ev.References["return"] != "true" {
			t.Fatalf("reverse shipment event without return=true: %v", ev.References)
		}
	}
	for _, ev := range mapAt(t, "seed-delivered", providertest.ReceivedAt) {
		if _, ok := ev.References["return"]; ok {
			t.Fatalf("forward shipment flagged as a return: %v", ev.References)
		}
	}
}

// No personal data of the Shipment (dropoff/pickup contact and address)
// may reach an event.
func TestNoPersonalData(t *testing.T) {
	for _, name := range []string{"seed-delivered", "reverse-shipment"} {
		for _, ev := range mapAt(t, name, providertest.ReceivedAt) {
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			for _, pii := range []string{"Jo Bloggs", "jo.bloggs@example.com", "+447700900123", "Baker Street",
				"Ali Hassan", "+971561234567", "Villa 12"} {
				if strings.Contains(string(b), pii) {
					t.Errorf("%s: event carries personal data %q", name, pii)
				}
			}
		}
	}
}

func TestIdentify(t *testing.T) {
	shipment := `{"post_shipping_info":{"status":"in_transit","tracking_no":"T1"}}`
	tests := []struct {
		name      string
		body      string
		headers   map[string]string
		wantType  string
		wantSubj  string
		wantExt   []providers.Extension
		withError error
	}{
		{
			name: "trigger header wins", body: shipment,
			headers:  map[string]string{"event-id": "e1", "trigger": "default_label_update"},
			wantType: "com.carriyo.shipment.default_label_update", wantSubj: "T1",
			wantExt: []providers.Extension{{Name: "trigger", Value: "default_label_update"}},
		},
		{
			name: "status stands in for a missing trigger", body: shipment,
			headers:  map[string]string{"event-id": "e1", "webhook-id": "w1", "last-retry": "true"},
			wantType: "com.carriyo.shipment.in_transit", wantSubj: "T1",
			wantExt: []providers.Extension{{Name: "webhookid", Value: "w1"}, {Name: "lastretry", Value: "true"}},
		},
		{
			name: "trigger sanitized", body: shipment,
			headers:  map[string]string{"event-id": "e1", "trigger": "Customs-Cleared.v2"},
			wantType: "com.carriyo.shipment.customs_cleared_v2", wantSubj: "T1",
			wantExt: []providers.Extension{{Name: "trigger", Value: "Customs-Cleared.v2"}},
		},
		{
			name: "reverse shipment", body: `{"entity_type":"reverse","post_shipping_info":{"status":"shipped","tracking_no":"R1"}}`,
			headers:  map[string]string{"event-id": "e1"},
			wantType: "com.carriyo.reverseshipment.shipped", wantSubj: "R1",
		},
		{
			name: "return request", body: `{"return_request_id":"RR1","status":"approved"}`,
			headers:  map[string]string{"event-id": "e1", "trigger": "return_status_update"},
			wantType: "com.carriyo.returnrequest.return_status_update",
			wantExt:  []providers.Extension{{Name: "trigger", Value: "return_status_update"}},
		},
		{
			name: "order envelope", body: `{"oldImage":null,"newImage":{"orderId":"O1"}}`,
			headers:  map[string]string{"event-id": "e1"},
			wantType: "com.carriyo.order.unknown",
		},
		{name: "no event-id", body: shipment, headers: map[string]string{"trigger": "delivered"}, withError: providers.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := carriyo.Provider{}.Identify(fixture{body: []byte(tt.body), headers: tt.headers}.request())
			if tt.withError != nil {
				if !errors.Is(err, tt.withError) {
					t.Fatalf("err = %v, want %v", err, tt.withError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Type != tt.wantType || id.Subject != tt.wantSubj || !reflect.DeepEqual(id.Extensions, tt.wantExt) {
				t.Errorf("got %+v, want type %q subject %q extensions %+v", id, tt.wantType, tt.wantSubj, tt.wantExt)
			}
		})
	}
}

func BenchmarkIdentify(b *testing.B) {
	f := readFixture(b, "seed-delivered")
	r := f.request()
	p := carriyo.Provider{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Identify(r); err != nil {
			b.Fatal(err)
		}
	}
}
