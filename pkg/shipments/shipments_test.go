package shipments_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestMessageRoundTrip(t *testing.T) {
	e := tracking.Event{
		Carrier: "UPS", TrackingNumber: "1z 59", Status: tracking.Delivered, CarrierStatus: "KB",
		OccurredAt: time.Date(2023, 7, 22, 15, 8, 44, 0, time.UTC), OccurredAtPrecision: tracking.PrecisionSecond,
		Source: "wineshipping", RawEventID: "r1", References: map[string]string{"order_number": "33516482"},
	}
	e.Normalize()
	msg, err := shipments.Message(e.Subject(), &e)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Subject != "shipments.ups.1Z59.delivered" || msg.Header.Get(nats.MsgIdHdr) != e.ID ||
		msg.Header.Get("ce-subject") != "ups:1Z59" || msg.Header.Get("ce-type") != tracking.EventType {
		t.Fatalf("message %s %v", msg.Subject, msg.Header)
	}
	if _, err := cloudevent.FromMsg(msg.Header, msg.Data); err != nil {
		t.Fatal(err)
	}
	got, err := shipments.Decode(msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != e.ID || got.References["order_number"] != "33516482" || !got.OccurredAt.Equal(e.OccurredAt) {
		t.Fatalf("decoded %+v", got)
	}
	if _, err := shipments.Decode(nats.Header{"ce-type": {"other"}}, msg.Data); err == nil {
		t.Error("wrong type accepted")
	}
	if _, err := shipments.Decode(nil, []byte(`{"carrier":"ups"}`)); err == nil {
		t.Error("invalid event accepted")
	}
}
