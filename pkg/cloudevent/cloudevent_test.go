package cloudevent_test

import (
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
)

func sample() event.Event {
	e := event.New()
	e.SetID("9a7c2e4b-1d8f")
	e.SetSource("/webhooks/carriyo")
	e.SetType("com.carriyo.shipment.delivered")
	e.SetSubject("DHL 9123 «ü» 100%")
	e.SetTime(time.Date(2026, 5, 8, 14, 28, 14, 123000000, time.FixedZone("x", 4*3600)))
	e.SetExtension("trigger", "delivered")
	e.SetExtension("webhookid", "ACCOUNT_w1234")
	e.DataEncoded = []byte(`{"a": "b"}`)
	e.SetDataContentType(cloudevent.ContentTypeJSON)
	return e
}

func TestRoundTrip(t *testing.T) {
	in := sample()
	msg, err := cloudevent.ToMsg("raw.carriyo", in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"ce-specversion": "1.0",
		"ce-id":          "9a7c2e4b-1d8f",
		"ce-source":      "/webhooks/carriyo",
		"ce-type":        "com.carriyo.shipment.delivered",
		"ce-subject":     "DHL%209123%20%C2%AB%C3%BC%C2%BB%20100%25",
		"ce-time":        "2026-05-08T10:28:14.123Z",
		"ce-trigger":     "delivered",
		"ce-webhookid":   "ACCOUNT_w1234",
		"Content-Type":   "application/json",
	}
	for k, v := range want {
		if got := msg.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
	if string(msg.Data) != `{"a": "b"}` || msg.Subject != "raw.carriyo" {
		t.Fatalf("data %q subject %q", msg.Data, msg.Subject)
	}
	out, err := cloudevent.FromMsg(msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID() != in.ID() || out.Source() != in.Source() || out.Type() != in.Type() ||
		out.Subject() != in.Subject() || !out.Time().Equal(in.Time()) ||
		string(out.Data()) != string(in.Data()) || out.DataContentType() != "application/json" {
		t.Fatalf("round trip changed the event:\n in %v\nout %v", in, out)
	}
	if out.Extensions()["trigger"] != "delivered" || out.Extensions()["webhookid"] != "ACCOUNT_w1234" {
		t.Fatalf("extensions: %v", out.Extensions())
	}
}

func TestToMsgRejects(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*event.Event)
	}{
		{"no id", func(e *event.Event) { e.SetID("") }},
		{"no source", func(e *event.Event) { e.SetSource("") }},
		{"no type", func(e *event.Event) { e.SetType("") }},
		{"dash in extension", func(e *event.Event) { e.SetExtension("webhook-id", "x") }},
		{"long extension", func(e *event.Event) { e.SetExtension("abcdefghijklmnopqrstu", "x") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sample()
			tt.mutate(&e)
			if _, err := cloudevent.ToMsg("raw.x", e); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestFromMsg(t *testing.T) {
	base := func() nats.Header {
		return nats.Header{
			"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/x"}, "Ce-Type": {"t"},
			"Content-Type": {"application/json"},
		}
	}
	t.Run("any header casing", func(t *testing.T) {
		e, err := cloudevent.FromMsg(base(), []byte(`{}`))
		if err != nil || e.ID() != "1" {
			t.Fatalf("%v %v", e, err)
		}
	})
	tests := []struct {
		name   string
		mutate func(nats.Header)
	}{
		{"structured mode", func(h nats.Header) { h["Content-Type"] = []string{"application/cloudevents+json"} }},
		{"missing id", func(h nats.Header) { delete(h, "Ce-Id") }},
		{"wrong specversion", func(h nats.Header) { h["Ce-Specversion"] = []string{"0.3"} }},
		{"bad time", func(h nats.Header) { h["ce-time"] = []string{"yesterday"} }},
		{"bad escape", func(h nats.Header) { h["ce-subject"] = []string{"a%zz"} }},
		{"truncated escape", func(h nats.Header) { h["ce-subject"] = []string{"a%2"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := base()
			tt.mutate(h)
			if _, err := cloudevent.FromMsg(h, nil); !errors.Is(err, cloudevent.ErrNotCloudEvent) {
				t.Fatalf("want ErrNotCloudEvent, got %v", err)
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	for _, s := range []string{"", "plain", "a b", `q"uote`, "100%", "tab\there", "ünï©ødé", "\x00\x7f"} {
		enc := cloudevent.Encode(s)
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c <= ' ' || c >= 0x7f || c == '"' {
				t.Errorf("Encode(%q) = %q keeps byte %#x", s, enc, c)
			}
		}
		dec, err := cloudevent.Decode(enc)
		if err != nil || dec != s {
			t.Errorf("Decode(Encode(%q)) = %q, %v", s, dec, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("a%20b")
	f.Add("%")
	f.Fuzz(func(t *testing.T, s string) {
		if dec, err := cloudevent.Decode(s); err == nil && cloudevent.Encode(dec) != cloudevent.Encode(dec) {
			t.Fatal("unstable")
		}
		if dec, err := cloudevent.Decode(cloudevent.Encode(s)); err != nil || dec != s {
			t.Fatalf("round trip of %q: %q %v", s, dec, err)
		}
	})
}
