package tracking_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestStalledJSON(t *testing.T) {
	s := tracking.Stalled{
		ShipmentKey: "usps:9400 1.X", Carrier: "usps", TrackingNumber: "9400 1.X",
		Status:       tracking.OutForDelivery,
		LastEventAt:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -5*3600)),
		LastEventID:  "e1",
		StalledAfter: 72 * time.Hour,
		DetectedAt:   time.Date(2026, 1, 5, 8, 4, 6, 0, time.UTC),
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"stalled_after":"72h0m0s"`, `"last_event_at":"2026-01-02T08:04:05Z"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("%s lacks %s", data, want)
		}
	}
	if strings.Contains(string(data), "references") {
		t.Errorf("empty references must be omitted: %s", data)
	}
	var back tracking.Stalled
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.StalledAfter != s.StalledAfter || !back.LastEventAt.Equal(s.LastEventAt) || back.Status != s.Status {
		t.Errorf("round trip: %+v", back)
	}
	if got := s.Subject(); got != "alerts.stalled.usps.9400_1_X" {
		t.Errorf("Subject() = %q", got)
	}
	if tracking.StalledType != "dev.waybill.shipment.stalled.v1" {
		t.Errorf("StalledType = %q", tracking.StalledType)
	}
}

func TestStalledRejectsBadDuration(t *testing.T) {
	for _, d := range []string{`259200000000000`, `"3 days"`, `""`} {
		var s tracking.Stalled
		if err := json.Unmarshal([]byte(`{"stalled_after":`+d+`}`), &s); err == nil {
			t.Errorf("stalled_after %s accepted", d)
		}
	}
}
