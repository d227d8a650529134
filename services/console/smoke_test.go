package console

import (
	"net/http"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// TestHarnessContract checks what the browser tests rely on: a seeded
// event is visible through the API, a seeded dead letter through the
// dead-letter routes, and the token authenticates.
func TestHarnessContract(t *testing.T) {
	h := newHarness(t)
	h.seedEvents(t, tracking.Event{Carrier: "UPS", TrackingNumber: "1z h1", Status: tracking.InTransit, OccurredAt: time.Now(), CarrierStatus: "I"})
	seq := h.seedDeadletter(t, "ingress", "carriyo", []byte(`{"x":1}`), "bad")
	api := h.api(t)
	var d shipmentDetail
	api.getJSON("/api/v1/shipments/ups/1ZH1", http.StatusOK, &d)
	if d.Shipment.ShipmentKey != "ups:1ZH1" || len(d.Events) != 1 || d.Events[0].Source != "test" {
		t.Errorf("seeded shipment %+v", d)
	}
	var l deadLetter
	api.getJSON("/api/v1/deadletters/"+itoa(seq), http.StatusOK, &l)
	if l.Reason != "bad" || l.Stage != "ingress" || l.Source != "carriyo" {
		t.Errorf("seeded dead letter %+v", l)
	}
	if h.DB == nil || h.JS == nil || len(h.Token) < MinTokenLength {
		t.Error("harness fields unset")
	}
}
