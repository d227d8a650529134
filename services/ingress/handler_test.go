package ingress

import (
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// route.message is cloudevent.ToMsg specialised for the hot path: for any
// identity a provider may return, both give the same headers, or both
// refuse it.
func TestMessageMatchesToMsg(t *testing.T) {
	p, _ := providers.Lookup("carriyo")
	r, err := newRoute(p, "carriyo", streams.RawSubject("carriyo"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ext := func(kv ...string) []providers.Extension {
		var out []providers.Extension
		for i := 0; i < len(kv); i += 2 {
			out = append(out, providers.Extension{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	ids := []providers.Identity{
		{ID: "9a7c2e4b-1d8f", Type: "com.carriyo.shipment.delivered", Subject: "DHL-9123"},
		{ID: "id with spaces % and \"quotes\"", Type: "com.x.ü", Subject: "DHL 9123 «ü» 100%"},
		{ID: "e1", Type: "t", Extensions: ext("trigger", "delivered", "webhookid", "ACCOUNT_w1 2", "lastretry", "true")},
		{ID: "e2", Type: "t", Extensions: ext("trigger", "")},
		{ID: "e3", Type: "t", Subject: "\t\r\n"},
		{ID: "", Type: "t"},
		{ID: "  ", Type: "t"},
		{ID: "e4", Type: ""},
		{ID: "e5", Type: " \t"},
		{ID: "e6", Type: "t", Extensions: ext("webhook-id", "x")},
		{ID: "e7", Type: "t", Extensions: ext("Trigger", "x")},
		{ID: "e8", Type: "t", Extensions: ext("abcdefghijklmnopqrstu", "x")},
		{ID: "e9", Type: "t", Extensions: ext("", "x")},
		{ID: "e\x00\x7f\xff", Type: "t\x01", Subject: "s\u2028"},
	}
	now := time.Date(2026, 5, 8, 14, 28, 14, 123456789, time.FixedZone("x", 4*3600))
	body := []byte(`{"a": "b"}`)
	for _, id := range ids {
		got, gotErr := r.message(id, body, now, "msgid")

		e := event.New(cloudevent.SpecVersion)
		e.SetID(id.ID)
		e.SetSource(r.source)
		e.SetType(id.Type)
		if id.Subject != "" {
			e.SetSubject(id.Subject)
		}
		e.SetTime(now)
		for _, x := range id.Extensions {
			e.SetExtension(x.Name, x.Value) // a refused name is in e.FieldErrors: ToMsg's Validate reports it
		}
		e.SetDataContentType(cloudevent.ContentTypeJSON)
		e.DataEncoded = body
		want, wantErr := cloudevent.ToMsg(r.subject, e)
		if (gotErr != nil) != (wantErr != nil) {
			t.Errorf("%+v: message error %v, ToMsg error %v", id, gotErr, wantErr)
			continue
		}
		if gotErr != nil {
			continue
		}
		want.Header.Set(nats.MsgIdHdr, "msgid")
		if !reflect.DeepEqual(got.Header, want.Header) || got.Subject != want.Subject || string(got.Data) != string(want.Data) {
			t.Errorf("%+v:\nmessage %v %q\nToMsg   %v %q", id, got.Header, got.Subject, want.Header, want.Subject)
		}
	}
}
