package schematest_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/schematest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func validStalled() tracking.Stalled {
	return tracking.Stalled{
		ShipmentKey: "usps:9400100000000000000000", Carrier: "usps", TrackingNumber: "9400100000000000000000",
		Status:       tracking.InTransit,
		LastEventAt:  time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC),
		LastEventID:  "17cec1c47ffea16d2d0f132d4dd187a8",
		StalledAfter: 72 * time.Hour,
		DetectedAt:   time.Date(2026, 1, 5, 9, 31, 0, 0, time.UTC),
		References:   map[string]string{"order_id": "O-1"},
	}
}

func TestStalledRoundTrip(t *testing.T) {
	for _, s := range []tracking.Stalled{validStalled(), func() tracking.Stalled {
		s := validStalled()
		s.References = nil
		s.StalledAfter = 90 * time.Minute
		s.Status = tracking.Unknown
		return s
	}()} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		schematest.Validate(t, schematest.ShipmentStalled, data)
		var back tracking.Stalled
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, s) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, s)
		}
	}
}

func TestBrokenStalledRejected(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(m map[string]any)
	}{
		{"nanosecond count", func(m map[string]any) { m["stalled_after"] = 259200000000000 }},
		{"duration in words", func(m map[string]any) { m["stalled_after"] = "3 days" }},
		{"status outside the taxonomy", func(m map[string]any) { m["status"] = "stuck" }},
		{"missing last_event_id", func(m map[string]any) { delete(m, "last_event_id") }},
		{"bad detected_at", func(m map[string]any) { m["detected_at"] = "2026-01-05" }},
		{"extra field", func(m map[string]any) { m["stalled_since"] = "2026-01-02T09:30:00Z" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := json.Marshal(validStalled())
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			tt.break_(m)
			data, _ = json.Marshal(m)
			if err := schematest.Check(schematest.ShipmentStalled, data); !errors.Is(err, schematest.ErrInvalid) {
				t.Errorf("want ErrInvalid, got %v\ndata: %s", err, data)
			}
		})
	}
}
