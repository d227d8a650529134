package wineshipping_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/wineshipping"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestConformance(t *testing.T) {
	providertest.Run(t, wineshipping.Provider{})
}

func FuzzProvider(f *testing.F) {
	providertest.Fuzz(f, wineshipping.Provider{})
}

// TestStatus pins the AfterShip cross-walk of REFERENCE.md, one row per tag
// and per subtag that changes the outcome, so a regression names itself.
func TestStatus(t *testing.T) {
	tests := []struct {
		tag, subtag string
		want        tracking.Status
	}{
		{"Pending", "Pending_001", tracking.Pending},
		{"InfoReceived", "InfoReceived_001", tracking.InfoReceived},
		{"InTransit", "InTransit_001", tracking.InTransit},
		{"InTransit", "InTransit_007", tracking.InTransit},
		{"OutForDelivery", "OutForDelivery_001", tracking.OutForDelivery},
		{"AttemptFail", "AttemptFail_001", tracking.FailedAttempt},
		{"FailedAttempt", "FailedAttempt_001", tracking.FailedAttempt},
		{"Delivered", "Delivered_001", tracking.Delivered},
		{"Delivered", "Delivered_002", tracking.Delivered},
		{"AvailableForPickup", "AvailableForPickup_001", tracking.AvailableForPickup},
		{"Exception", "Exception_001", tracking.Exception},
		{"Exception", "Exception_004", tracking.Exception},
		{"Exception", "Exception_005", tracking.Exception},
		{"Exception", "Exception_007", tracking.Exception},
		{"Exception", "Exception_010", tracking.ReturnToSender},
		{"Exception", "Exception_011", tracking.Returned},
		{"Exception", "Exception_012", tracking.Failed},
		{"Exception", "Exception_013", tracking.Failed},
		{"Exception", "Exception_021", tracking.Failed},
		{"Exception", "Exception_020", tracking.Cancelled},
		{"Exception", "", tracking.Exception},
		{"Expired", "Expired_001", tracking.Expired},
		// Case and spacing do not matter; a missing tag falls back to the
		// subtag's prefix.
		{" delivered ", "delivered_001", tracking.Delivered},
		{"", "Exception_011", tracking.Returned},
		{"", "OutForDelivery_003", tracking.OutForDelivery},
		// Subtag overrides apply to Exception only.
		{"Delivered", "Exception_011", tracking.Delivered},
		// Unknown is kept, never an error.
		{"Teleported", "Teleported_001", tracking.Unknown},
		{"", "", tracking.Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.tag+"/"+tt.subtag, func(t *testing.T) {
			if got := wineshipping.Status(tt.tag, tt.subtag); got != tt.want {
				t.Errorf("Status(%q, %q) = %q, want %q", tt.tag, tt.subtag, got, tt.want)
			}
		})
	}
}

// mapFixture identifies and maps testdata/<name>.json like the pipeline.
func mapFixture(t *testing.T, name string) []tracking.Event {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	p := wineshipping.Provider{}
	id, err := p.Identify(providertest.Fixture{Body: body}.Request())
	if err != nil {
		t.Fatal(err)
	}
	events, err := p.Map(providertest.Raw(p, id, body))
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// The seed repeats "custom_fields" in one object. The last occurrence wins
// whole, as in JavaScript: its tref is the one kept, and keys of the first
// occurrence do not leak in when the last one lacks them.
func TestCustomFieldsLastOneWins(t *testing.T) {
	for _, ev := range mapFixture(t, "seed-tracking-update") {
		if got, want := ev.References["tref"], "a8da0749-c6ad-4bbd-bf62-acaa2d814555"; got != want {
			t.Fatalf("tref = %q, want the last custom_fields' %q", got, want)
		}
	}
	for _, ev := range mapFixture(t, "custom-fields-last-without-tref") {
		if tref, ok := ev.References["tref"]; ok {
			t.Fatalf("tref = %q leaked from the first custom_fields; the last one has none", tref)
		}
	}
}

// No personal data of the tracking object may reach an event.
func TestNoPersonalData(t *testing.T) {
	for _, ev := range mapFixture(t, "seed-tracking-update") {
		all := strings.Join([]string{ev.Message, ev.Location.City, ev.Location.State, ev.Location.PostalCode,
			ev.Substatus, ev.CarrierStatus, ev.EstimatedDelivery}, "|")
		for _, v := range ev.References {
			all += "|" + v
		}
		for _, pii := range []string{"Jane", "jane@email.com", "+1855507250", "555 Main Street", "33756-1925"} {
			if strings.Contains(all, pii) {
				t.Errorf("event carries personal data %q: %s", pii, all)
			}
		}
	}
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name, body       string
		wantType, wantID string
		withError        error
	}{
		{"default event", `{"event_id":"a"}`, "com.wineshipping.tracking_update", "a", nil},
		{"event kept", `{"event_id":"a","event":"tracking_update"}`, "com.wineshipping.tracking_update", "a", nil},
		{"event sanitized", `{"event_id":"a","event":"Tracking.Update/Ünï"}`, "com.wineshipping.tracking.update___n", "a", nil},
		{"event not a string", `{"event_id":"a","event":7}`, "com.wineshipping.tracking_update", "a", nil},
		{"event only junk", `{"event_id":"a","event":"!!!"}`, "com.wineshipping.tracking_update", "a", nil},
		{"id trimmed", `{"event_id":" a "}`, "com.wineshipping.tracking_update", "a", nil},
		{"no id", `{"event":"tracking_update"}`, "", "", providers.ErrInvalid},
		{"null id", `{"event_id":null}`, "", "", providers.ErrInvalid},
		{"object id", `{"event_id":{"v":"a"}}`, "", "", providers.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := wineshipping.Provider{}.Identify(providers.Request{Body: []byte(tt.body), Header: func(string) string { return "" }})
			if tt.withError != nil {
				if !errors.Is(err, tt.withError) {
					t.Fatalf("err = %v, want %v", err, tt.withError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id.Type != tt.wantType || id.ID != tt.wantID {
				t.Errorf("got id %q type %q, want %q %q", id.ID, id.Type, tt.wantID, tt.wantType)
			}
		})
	}
}

// A long event name must not make the CloudEvent type unbounded.
func TestIdentifyBoundsType(t *testing.T) {
	body := `{"event_id":"a","event":"` + strings.Repeat("x", 10000) + `"}`
	id, err := wineshipping.Provider{}.Identify(providers.Request{Body: []byte(body), Header: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(id.Type) > 100 {
		t.Errorf("type is %d bytes long", len(id.Type))
	}
}

func BenchmarkIdentify(b *testing.B) {
	body, err := os.ReadFile(filepath.Join("testdata", "seed-tracking-update.json"))
	if err != nil {
		b.Fatal(err)
	}
	r := providers.Request{Body: body, Header: func(string) string { return "" }}
	p := wineshipping.Provider{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Identify(r); err != nil {
			b.Fatal(err)
		}
	}
}
