package swiftpod_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/swiftpod"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// mapBody identifies and maps one body the way ingress and the normalizer
// would, and normalizes the events.
func mapBody(t *testing.T, body string) ([]tracking.Event, error) {
	t.Helper()
	p := swiftpod.Provider{}
	id, err := p.Identify(providers.Request{Body: []byte(body), Header: func(string) string { return "" }})
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	events, err := p.Map(providertest.Raw(p, id, []byte(body)))
	for i := range events {
		events[i].Normalize()
	}
	return events, err
}

func TestEasyPostStatuses(t *testing.T) {
	tests := []struct {
		status string
		want   tracking.Status
	}{
		{"pre_transit", tracking.InfoReceived},
		{"in_transit", tracking.InTransit},
		{"out_for_delivery", tracking.OutForDelivery},
		{"available_for_pickup", tracking.AvailableForPickup},
		{"delivered", tracking.Delivered},
		{"return_to_sender", tracking.ReturnToSender},
		{"failure", tracking.Failed},
		{"cancelled", tracking.Cancelled},
		{"canceled", tracking.Cancelled},
		{"error", tracking.Unknown},
		{"unknown", tracking.Unknown},
		{"In Transit", tracking.InTransit},
		{"OUT-FOR-DELIVERY", tracking.OutForDelivery},
		{" delivered ", tracking.Delivered},
		{"held_at_customs", tracking.Unknown},
		{"", tracking.InfoReceived}, // a tracking number was notified: a label exists
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			events, err := mapBody(t, fmt.Sprintf(`{"event":{"uuid":"u-1","name":"shipment_notify",
				"timestamp":"2024-03-13T09:15:27Z","tracking":{"tracking_number":"9400111206213859375012",
				"tracking_status":%q,"carrier_code":"USPS"}}}`, tt.status))
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Status != tt.want {
				t.Fatalf("got %+v, want one %s event", events, tt.want)
			}
			if want := strings.TrimSpace(tt.status); events[0].CarrierStatus != want {
				t.Errorf("carrier_status %q, want %q (the status as sent)", events[0].CarrierStatus, want)
			}
		})
	}
}

func TestNotifiedParcelReportedOnce(t *testing.T) {
	// event.tracking and its data.trackings[] entry describe one status:
	// one status event, plus the entry's label-created event.
	events, err := mapBody(t, `{"event":{"uuid":"u-2","name":"shipment_notify","timestamp":"2024-03-13T09:15:27Z",
		"tracking":{"tracking_number":"9400 1112 0621 3859 3750 12","tracking_status":"in_transit","carrier_code":"USPS"}},
		"data":{"order_id":"O-1","trackings":[{"tracking_number":"9400111206213859375012","carrier":"usps",
		"status":"pre_transit","created_at":"2024-03-12T16:02:11+00:00"}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, fmt.Sprintf("%s %s %s", e.ShipmentKey, e.Status, e.OccurredAt.Format(time.RFC3339)))
	}
	want := []string{
		"usps:9400111206213859375012 in_transit 2024-03-13T09:15:27Z",
		"usps:9400111206213859375012 info_received 2024-03-12T16:02:11Z",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

func TestLabelCreatedAfterNotificationIsSkipped(t *testing.T) {
	// SwiftPOD's own example: created_at later than event.timestamp. A
	// label event there would become the latest and undo "delivered".
	events, err := mapBody(t, `{"event":{"uuid":"u-3","name":"shipment_notify","timestamp":"2022-07-08T13:24:00Z",
		"tracking":{"tracking_number":"9400100109361129278357","tracking_status":"delivered","carrier_code":"USPS"}},
		"data":{"trackings":[{"tracking_number":"9400100109361129278357","carrier":"USPS","status":"delivered",
		"created_at":"2022-07-21T10:53:46.000000+00:00"}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Status != tracking.Delivered {
		t.Fatalf("got %+v, want the delivered event only", events)
	}
}

func TestNotShipment(t *testing.T) {
	for _, name := range []string{"order_notify", "stock_notify", "something_new"} {
		t.Run(name, func(t *testing.T) {
			_, err := mapBody(t, `{"event":{"uuid":"u-4","name":"`+name+`","timestamp":"2022-07-08T13:24:00Z"},"data":{"order_id":"O-2"}}`)
			if !errors.Is(err, providers.ErrNotShipment) {
				t.Fatalf("got %v, want ErrNotShipment", err)
			}
		})
	}
}

func TestIdentify(t *testing.T) {
	tests := []struct {
		name, body, wantType, wantSubject string
	}{
		{"documented", `{"event":{"uuid":"a","name":"shipment_notify","tracking":{"tracking_number":"94001"}}}`, "com.swiftpod.shipment_notify", "94001"},
		{"sanitized", `{"event":{"uuid":"a","name":"Order Notify/v2"}}`, "com.swiftpod.order_notify_v2", ""},
		{"no name", `{"event":{"uuid":"a"}}`, "com.swiftpod.unknown", ""},
		{"subject normalized", `{"event":{"uuid":"a","name":"shipment_notify","tracking":{"tracking_number":" 1z 999 "}}}`, "com.swiftpod.shipment_notify", "1Z999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := swiftpod.Provider{}.Identify(providers.Request{Body: []byte(tt.body)})
			if err != nil {
				t.Fatal(err)
			}
			if id.ID != "a" || id.Type != tt.wantType || id.Subject != tt.wantSubject {
				t.Fatalf("got %+v, want type %q subject %q", id, tt.wantType, tt.wantSubject)
			}
		})
	}
}
