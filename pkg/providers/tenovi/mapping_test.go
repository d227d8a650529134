package tenovi_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/tenovi"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func identify(t *testing.T, body string) providers.Identity {
	t.Helper()
	id, err := tenovi.Provider{}.Identify(providers.Request{Body: []byte(body)})
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	return id
}

func mapBody(t *testing.T, body string) ([]tracking.Event, error) {
	t.Helper()
	p := tenovi.Provider{}
	events, err := p.Map(providertest.Raw(p, identify(t, body), []byte(body)))
	for i := range events {
		events[i].Normalize()
	}
	return events, err
}

func webhook(status string, link any) string {
	b, _ := json.Marshal(map[string]any{
		"hwi_device_id": "12345678-abcd-1234-abcd-1234567890ab",
		"patient_id":    "patient-external-id-001",
		"status":        status,
		"tracking_link": link,
	})
	return string(b)
}

func TestStatuses(t *testing.T) {
	tests := []struct {
		status    string
		want      tracking.Status
		substatus string
	}{
		{"Pending Shipment", tracking.Pending, ""},
		{"Dropship Requested", tracking.Pending, ""},
		{"Requested", tracking.Pending, ""},
		{"Ready to Ship", tracking.Pending, ""},
		{"READY_TO_SHIP", tracking.Pending, ""},
		{"On Hold", tracking.Pending, "on_hold"},
		{"Client Action Required", tracking.Pending, "client_action_required"},
		{"Shipped", tracking.InTransit, ""},
		{"Dropshipped", tracking.InTransit, ""},
		{"Delivered", tracking.Delivered, ""},
		{"Returned", tracking.Returned, ""},
		{"Cancelled", tracking.Cancelled, ""},
		{"Connected", tracking.Unknown, ""},
		{"Replaced", tracking.Unknown, ""},
		{"Unlinked", tracking.Unknown, ""},
		{"Teleported", tracking.Unknown, ""},
	}
	for _, tt := range tests {
		t.Run(tt.status, func(t *testing.T) {
			events, err := mapBody(t, webhook(tt.status, "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223512345670"))
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 1 || events[0].Status != tt.want || events[0].Substatus != tt.substatus {
				t.Fatalf("got %+v, want %s/%s", events, tt.want, tt.substatus)
			}
			if events[0].CarrierStatus != tt.status {
				t.Errorf("carrier_status %q, want %q", events[0].CarrierStatus, tt.status)
			}
		})
	}
}

func TestTrackingLinks(t *testing.T) {
	tests := []struct {
		name string
		link string
		want []string // shipment keys
	}{
		{"usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223512345670", []string{"usps:9400111899223512345670"}},
		{"usps several", "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223512345670%2C9400111899223512345687,9400111899223512345670", []string{"usps:9400111899223512345670", "usps:9400111899223512345687"}},
		{"usps key case", "https://tools.usps.com/go/TrackConfirmAction_input?TLABELS=9400111899223512345670", []string{"usps:9400111899223512345670"}},
		{"usps old form", "https://tools.usps.com/go/TrackConfirmAction_input?origTrackNum=9400111899223512345670", []string{"usps:9400111899223512345670"}},
		{"ups", "https://www.ups.com/track?loc=en_US&tracknum=1z999aa10123456784", []string{"ups:1Z999AA10123456784"}},
		{"ups legacy", "http://wwwapps.ups.com/WebTracking/track?track=yes&trackNums=1Z999AA10123456784", []string{"ups:1Z999AA10123456784"}},
		{"fedex trknbr", "https://www.fedex.com/fedextrack/?trknbr=772345678901", []string{"fedex:772345678901"}},
		{"fedex tracknumbers", "https://www.fedex.com/apps/fedextrack/?action=track&tracknumbers=771234567890&cntry_code=us", []string{"fedex:771234567890"}},
		{"no scheme", "tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223512345670", []string{"usps:9400111899223512345670"}},
		{"other host, query", "https://www.ontrac.com/tracking/?number=C11422907051734", []string{"ontrac:C11422907051734"}},
		{"other host, path", "https://www.lasership.com/track/1LS7300000123456", []string{"lasership:1LS7300000123456"}},
		{"other host, country domain", "https://www.royalmail.co.uk/track-your-item?trackNumber=AB123456789GB", []string{"royal-mail:AB123456789GB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := mapBody(t, webhook("Shipped", tt.link))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range events {
				got = append(got, e.ShipmentKey)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if id := identify(t, webhook("Shipped", tt.link)); id.Subject != events[0].TrackingNumber {
				t.Errorf("subject %q, want the first number %q", id.Subject, events[0].TrackingNumber)
			}
		})
	}
}

func TestUnusableLinks(t *testing.T) {
	for _, link := range []string{
		"https://tools.usps.com/go/TrackConfirmAction?tLabels=",
		"https://tools.usps.com/go/TrackConfirmAction?tLabels=yes,no",
		"https://www.ups.com/track?loc=en_US",
		"https://192.0.2.10/track/9400111899223512345670",
		"N/A",
	} {
		t.Run(link, func(t *testing.T) {
			if _, err := mapBody(t, webhook("Shipped", link)); !errors.Is(err, providers.ErrUnmappable) {
				t.Fatalf("got %v, want ErrUnmappable", err)
			}
		})
	}
}

func TestNoLinkKeysTheDevice(t *testing.T) {
	for _, link := range []any{nil, ""} {
		events, err := mapBody(t, webhook("Dropship Requested", link))
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].ShipmentKey != "tenovi:12345678-ABCD-1234-ABCD-1234567890AB" || events[0].Status != tracking.Pending {
			t.Fatalf("link %v: got %+v", link, events)
		}
	}
}

func TestIdentityIgnoresFormatting(t *testing.T) {
	a := identify(t, `{"status":"Shipped","hwi_device_id":"d-1","tracking_link":null}`)
	b := identify(t, "{\n  \"hwi_device_id\": \"d-1\",\n  \"tracking_link\": null,\n  \"status\": \"Shipped\"\n}")
	c := identify(t, `{"status":"Delivered","hwi_device_id":"d-1","tracking_link":null}`)
	if a.ID != b.ID {
		t.Errorf("key order and white space changed the id: %s vs %s", a.ID, b.ID)
	}
	if a.ID == c.ID {
		t.Error("a new status kept the same id")
	}
	if a.Type != "com.tenovi.fulfillment.shipped" || c.Type != "com.tenovi.fulfillment.delivered" {
		t.Errorf("types %q, %q", a.Type, c.Type)
	}
}
