package usps_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func request(body, trackingNumber string) providers.Request {
	h := http.Header{}
	if trackingNumber != "" {
		h.Set(usps.TrackingNumberHeader, trackingNumber)
	}
	return providers.Request{Body: []byte(body), Header: h.Get}
}

func mapBody(t *testing.T, body, trackingNumber string) ([]tracking.Event, error) {
	t.Helper()
	p := usps.Provider{}
	id, err := p.Identify(request(body, trackingNumber))
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	events, err := p.Map(providertest.Raw(p, id, []byte(body)))
	for i := range events {
		events[i].Normalize()
	}
	return events, err
}

// detail is a DETAIL response with one event.
func detail(code, text string) string {
	b, _ := json.Marshal(map[string]any{
		"trackingNumber": "9400111899223512345670",
		"trackingEvents": []map[string]any{{
			"eventType": text, "eventCode": code,
			"eventTimestamp": "2025-10-20T13:58:00", "GMTTimestamp": "2025-10-20T17:58:40Z", "GMTOffset": "-04:00",
			"eventCity": "PORTSMOUTH", "eventState": "NH", "eventZIP": "03801",
		}},
	})
	return string(b)
}

func TestEventCodesAndTexts(t *testing.T) {
	tests := []struct {
		code, text string
		want       tracking.Status
		substatus  string
	}{
		{"GX", "Shipping Label Created, USPS Awaiting Item", tracking.InfoReceived, ""},
		{"MA", "Pre-Shipment Info Sent to USPS", tracking.InfoReceived, ""},
		{"03", "USPS in possession of item", tracking.InTransit, "accepted"},
		{"10", "Arrived at USPS Regional Origin Facility", tracking.InTransit, ""},
		{"TL", "In Transit to Next Facility", tracking.InTransit, ""},
		{"07", "Arrived at Post Office", tracking.InTransit, ""},
		{"OF", "Out for Delivery", tracking.OutForDelivery, ""},
		{"16", "Available for Pickup", tracking.AvailableForPickup, ""},
		{"02", "Notice Left", tracking.FailedAttempt, "notice_left"},
		{"55", "Notice Left (No Secure Location Available)", tracking.FailedAttempt, "no_secure_location"},
		{"30", "Delivery Attempted - No Access to Delivery Location", tracking.FailedAttempt, "no_access"},
		{"05", "Undeliverable as Addressed", tracking.Exception, "address_issue"},
		{"09", "Return to Sender", tracking.ReturnToSender, ""},
		{"21", "No Such Number", tracking.ReturnToSender, "no_such_number"},
		{"01", "Delivered, Front Door/Porch", tracking.Delivered, ""},
		{"01", "Delivered, To Original Sender", tracking.Returned, ""},
		{"43", "Picked Up at Post Office", tracking.Delivered, "picked_up"},
		{"11", "Dead Letter", tracking.Failed, "dead_letter"},
		{"1", "Delivered", tracking.Delivered, ""}, // a numeric code that lost its zero
		// Unknown codes and no codes fall back to the text.
		{"", "DELIVERED", tracking.Delivered, ""},
		{"", "OUT FOR DELIVERY", tracking.OutForDelivery, ""},
		{"", "ARRIVED AT POST OFFICE", tracking.InTransit, ""},
		{"", "Delivery Attempted", tracking.FailedAttempt, ""},
		{"", "Notice Left (Business Closed)", tracking.FailedAttempt, "notice_left"},
		{"", "Available for Pickup", tracking.AvailableForPickup, ""},
		{"", "Return to Sender Processed", tracking.ReturnToSender, ""},
		{"", "Shipping Label Created", tracking.InfoReceived, ""},
		{"", "Pre-Shipment", tracking.InfoReceived, ""},
		{"", "Alert", tracking.Exception, ""},
		{"", "In Transit, Arriving Late", tracking.Exception, "delayed"},
		{"", "USPS picked up item", tracking.InTransit, ""},
		{"", "Accepted at USPS Origin Facility", tracking.InTransit, "accepted"},
		{"", "Departed USPS Regional Facility", tracking.InTransit, ""},
		{"XQ", "Processed Through Facility", tracking.InTransit, ""},
		{"RS", "Reminder to Schedule Redelivery of your item", tracking.Unknown, ""},
		{"", "", tracking.Unknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.code+" "+tt.text, func(t *testing.T) {
			events, err := mapBody(t, detail(tt.code, tt.text), "")
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Status != tt.want || events[0].Substatus != tt.substatus {
				t.Fatalf("got %+v, want %s/%s", events, tt.want, tt.substatus)
			}
			want := tt.code
			if want == "" {
				want = tt.text
			}
			if events[0].CarrierStatus != want || events[0].Message != tt.text {
				t.Errorf("carrier_status %q message %q, want %q and %q", events[0].CarrierStatus, events[0].Message, want, tt.text)
			}
		})
	}
}

func TestEventID(t *testing.T) {
	const n = "9400111899223512345670"
	base := detail("OF", "Out for Delivery")
	id, err := usps.EventID([]byte(base), n)
	if err != nil {
		t.Fatal(err)
	}
	// Identify, with or without the header, agrees with the poller's id.
	for _, header := range []string{"", n} {
		got, err := usps.Provider{}.Identify(request(base, header))
		if err != nil || got.ID != id || got.Subject != n {
			t.Fatalf("Identify with header %q: %+v, %v; want id %s", header, got, err, id)
		}
	}
	// The same newest event, reformatted or with other fields changed, is
	// the same poll result: the poller's duplicate.
	var doc map[string]any
	_ = json.Unmarshal([]byte(base), &doc)
	doc["statusSummary"] = "Your item is out for delivery"
	again, _ := json.MarshalIndent(doc, "", "    ")
	if got, _ := usps.EventID(again, n); got != id {
		t.Errorf("unchanged newest event got a new id: %s vs %s", got, id)
	}
	// A new scan is a new id.
	if got, _ := usps.EventID([]byte(detail("01", "Delivered")), n); got == id {
		t.Error("a new newest event kept the id")
	}
	// Tracking numbers fold like everywhere else.
	if got, _ := usps.EventID([]byte(base), " 9400 1118 9922 3512 3456 70 "); got != id {
		t.Error("the tracking number's spelling changed the id")
	}
	// The older shape has no trackingNumber: the caller's number is used,
	// and without one there is no id.
	seed := `{"TrackSummary":{"EventTime":"8:00 am","EventDate":"October 20, 2025","Event":"DELIVERED"}}`
	if _, err := usps.EventID([]byte(seed), n); err != nil {
		t.Errorf("TrackSummary with a tracking number: %v", err)
	}
	if _, err := usps.EventID([]byte(seed), ""); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("TrackSummary without a tracking number: %v, want ErrInvalid", err)
	}
}

func TestErrorBodies(t *testing.T) {
	for name, body := range map[string]string{
		"api":      `{"apiVersion":"v3","error":{"code":"400","message":"Invalid tracking number"}}`,
		"oauth":    `{"error":"invalid_client","error_description":"Client authentication failed."}`,
		"empty":    `{"trackingNumber":"9400111899223512345670","trackingEvents":[]}`,
		"summary":  `{"trackingNumber":"9400111899223512345670","eventSummaries":["Out for Delivery, 06/17/2022, 6:10 am, FAIRFAX, VA 22032"]}`,
		"bad time": `{"trackingNumber":"9400111899223512345670","trackingEvents":[{"eventType":"Delivered","eventCode":"01","eventTimestamp":"soon"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := mapBody(t, body, "9400111899223512345670"); !errors.Is(err, providers.ErrUnmappable) {
				t.Fatalf("got %v, want ErrUnmappable", err)
			}
		})
	}
}
