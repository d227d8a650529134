package cloudevent_test

import (
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
)

// BenchmarkToMsg is the ingress's per-webhook cost of wrapping a payload.
func BenchmarkToMsg(b *testing.B) {
	body := make([]byte, 3000)
	now := time.Now()
	for b.Loop() {
		e := event.New(cloudevent.SpecVersion)
		e.SetID("9a7c2e4b-1d8f-4f3a-91e2-3c5d7e9f1024")
		e.SetSource("/webhooks/carriyo")
		e.SetType("com.carriyo.shipment.delivered")
		e.SetSubject("DHL-9123-7700-1234")
		e.SetTime(now)
		e.SetExtension("trigger", "delivered")
		e.SetExtension("webhookid", "ACCOUNT_w1234-5678-abcd")
		e.SetDataContentType(cloudevent.ContentTypeJSON)
		e.DataEncoded = body
		if _, err := cloudevent.ToMsg("raw.carriyo", e); err != nil {
			b.Fatal(err)
		}
	}
}
