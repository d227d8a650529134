package cloudevent_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
)

// headerText writes a NATS header as "Name: value" lines, sorted: the
// fuzzer's first argument.
func headerText(h nats.Header) string {
	var lines []string
	for k, vs := range h {
		for _, v := range vs {
			lines = append(lines, k+": "+v)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// parseHeaderText reads headerText's lines as NATS does: names as written
// (case-sensitive), values in order.
func parseHeaderText(s string) nats.Header {
	h := nats.Header{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			h[k] = append(h[k], v)
		}
	}
	return h
}

// attributes is what a consumer reads of a decoded event, for comparison.
func attributes(e event.Event) map[string]any {
	return map[string]any{
		"id": e.ID(), "source": e.Source(), "type": e.Type(), "subject": e.Subject(),
		"time": e.Time().UnixNano(), "zero": e.Time().IsZero(), "schema": e.DataSchema(),
		"ct": e.DataContentType(), "ext": e.Extensions(), "data": string(e.Data()),
	}
}

// FuzzFromMsg feeds arbitrary headers and data to the decoder every stage
// reads RAW, SHIPMENTS and DEADLETTER with (seeded with a real message and
// the malformed ones of TestFromMsg). It must not panic; it fails only with
// ErrNotCloudEvent; it decodes the same message the same way every time;
// and what it accepts re-encodes (ToMsg) to a message it decodes to the
// same event.
func FuzzFromMsg(f *testing.F) {
	msg, err := cloudevent.ToMsg("raw.carriyo", sample())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(headerText(msg.Header), msg.Data)
	base := "ce-specversion: 1.0\nce-id: 1\nce-source: /x\nce-type: t\nContent-Type: application/json"
	for _, extra := range []string{
		"", "\nce-time: yesterday", "\nce-time: 0000-01-01T00:00:00Z", "\nce-time: 9999-12-31T23:59:59-14:00",
		"\nce-time: 2026-05-08T10:28:14.123456789+05:30", "\nce-subject: a%zz", "\nce-subject: a%2",
		"\nce-subject: 1Z%2A%3E.%20X", "\nce-subject: %FF%FE", "\nContent-Type: application/cloudevents+json",
		"\nce-webhook-id: x", "\nce-Trigger: shipped", "\nCe-Id: 2", "\nce-dataschema: %%", "\nce-datacontenttype: text/plain",
		"\nce-abcdefghijklmnopqrstuvwxyz: x", "\nce-specversion: 0.3",
	} {
		f.Add(base+extra, []byte(`{"event_id":"x"}`))
	}
	f.Add("ce-specversion: 1.0", []byte(nil))
	f.Fuzz(func(t *testing.T, headers string, data []byte) {
		h := parseHeaderText(headers)
		e, err := cloudevent.FromMsg(h, data)
		if err != nil {
			if !errors.Is(err, cloudevent.ErrNotCloudEvent) {
				t.Fatalf("error not classified: %v", err)
			}
			for i := 0; i < 3; i++ { // header order must not decide
				if _, err := cloudevent.FromMsg(h, data); err == nil {
					t.Fatalf("rejected (%v), then accepted", err)
				}
			}
			return
		}
		want := attributes(e)
		for i := 0; i < 3; i++ {
			again, err := cloudevent.FromMsg(h, data)
			if err != nil || !reflect.DeepEqual(attributes(again), want) {
				t.Fatalf("decoded differently: %v then %v (%v)", want, attributes(again), err)
			}
		}
		out, err := cloudevent.ToMsg("raw.x", e)
		if err != nil {
			t.Fatalf("accepted event does not re-encode: %v\n%v", err, want)
		}
		back, err := cloudevent.FromMsg(out.Header, out.Data)
		if err != nil {
			t.Fatalf("re-encoded event does not decode: %v\n%s", err, headerText(out.Header))
		}
		if got := attributes(back); !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip changed the event:\n got %v\nwant %v", got, want)
		}
	})
}
