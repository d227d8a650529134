// Package cloudevent maps CloudEvents 1.0 to and from NATS messages in binary
// content mode: every context attribute in a percent-encoded `ce-<name>`
// header, the data as the message body, its media type in Content-Type.
// Every message waybill stores (RAW, SHIPMENTS, DEADLETTER, alerts) goes
// through here. Events are sdk-go's event.Event; the sdk's own NATS bindings
// are not used because they cannot set Nats-Msg-Id per message (REFERENCE.md).
package cloudevent

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
)

// Header names. NATS headers are case-sensitive; waybill writes these exact
// spellings and reads any casing.
const (
	HeaderPrefix      = "ce-"
	HeaderContentType = "Content-Type"
	ContentTypeJSON   = "application/json"
	SpecVersion       = "1.0"
)

// ErrNotCloudEvent classifies a message that is not a binary-mode CloudEvent.
var ErrNotCloudEvent = errors.New("not a binary-mode CloudEvent")

// ToMsg builds the NATS message for e on subject. The event is validated
// first (required attributes, extension names lower-case letters and digits).
func ToMsg(subject string, e event.Event) (*nats.Msg, error) {
	exts := extensions(e)
	if err := validate(e, exts); err != nil {
		return nil, err
	}
	// One backing array for every header value: this runs once per
	// webhook on ingress's hot path.
	vals := make([]string, 0, 9+len(exts))
	h := make(nats.Header, 9+len(exts))
	set := func(name, value string) {
		vals = append(vals, value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set(HeaderPrefix+"specversion", e.SpecVersion())
	set(HeaderPrefix+"id", Encode(e.ID()))
	set(HeaderPrefix+"source", Encode(e.Source()))
	set(HeaderPrefix+"type", Encode(e.Type()))
	if s := e.Subject(); s != "" {
		set(HeaderPrefix+"subject", Encode(s))
	}
	if t := e.Time(); !t.IsZero() {
		set(HeaderPrefix+"time", FormatTime(t))
	}
	if s := e.DataSchema(); s != "" {
		set(HeaderPrefix+"dataschema", Encode(s))
	}
	for name, v := range exts {
		str, ok := v.(string)
		if !ok {
			str = fmt.Sprint(v)
		}
		set(HeaderPrefix+name, Encode(str))
	}
	ct := e.DataContentType()
	if ct == "" {
		ct = ContentTypeJSON
	}
	set(HeaderContentType, ct)
	return &nats.Msg{Subject: subject, Header: h, Data: e.Data()}, nil
}

// extensions reads the extension attributes without the copy that
// event.Extensions() makes on every call.
func extensions(e event.Event) map[string]any {
	if v1, ok := e.Context.(*event.EventContextV1); ok {
		return v1.Extensions
	}
	return e.Extensions()
}

// Validate checks e against the spec's rules waybill relies on. sdk-go's own
// Validate accepts upper-case extension names, which the spec forbids.
func Validate(e event.Event) error { return validate(e, extensions(e)) }

func validate(e event.Event, exts map[string]any) error {
	if err := e.Validate(); err != nil {
		return fmt.Errorf("cloudevent: %w", err)
	}
	if e.SpecVersion() != SpecVersion {
		return fmt.Errorf("cloudevent: specversion %q, want %q", e.SpecVersion(), SpecVersion)
	}
	for name := range exts {
		if !ValidExtensionName(name) {
			return fmt.Errorf("cloudevent: extension name %q: lower-case letters and digits only", name)
		}
	}
	return nil
}

// ValidExtensionName reports whether name is a legal CloudEvents attribute
// name: 1-20 lower-case ASCII letters or digits.
func ValidExtensionName(name string) bool {
	if name == "" || len(name) > 20 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// FromMsg reads a binary-mode CloudEvent from a NATS message's headers and
// data. Structured-mode messages (Content-Type application/cloudevents...)
// are rejected with ErrNotCloudEvent, and so is a message that gives one
// attribute twice with different values (two spellings of a header name,
// or Content-Type and ce-datacontenttype): which one won would depend on
// map order, and one message must always decode to one event.
func FromMsg(h nats.Header, data []byte) (event.Event, error) {
	e := event.New(SpecVersion)
	var ct string
	var seenBuf [12]struct{ name, value string }
	seen := seenBuf[:0]
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		var name, v string
		switch {
		case strings.EqualFold(k, HeaderContentType):
			name, v = "datacontenttype", vs[0]
		case len(k) <= len(HeaderPrefix) || !strings.EqualFold(k[:len(HeaderPrefix)], HeaderPrefix):
			continue
		default:
			name = strings.ToLower(k[len(HeaderPrefix):])
			var err error
			if v, err = Decode(vs[0]); err != nil {
				return event.Event{}, fmt.Errorf("%w: header %s: %v", ErrNotCloudEvent, k, err)
			}
		}
		dup := false
		for _, a := range seen {
			if a.name == name {
				if a.value != v {
					return event.Event{}, fmt.Errorf("%w: attribute %s given twice", ErrNotCloudEvent, name)
				}
				dup = true
			}
		}
		if dup {
			continue
		}
		seen = append(seen, struct{ name, value string }{name, v})
		switch name {
		case "specversion":
			if v != SpecVersion {
				return event.Event{}, fmt.Errorf("%w: specversion %q", ErrNotCloudEvent, v)
			}
		case "id":
			e.SetID(v)
		case "source":
			e.SetSource(v)
		case "type":
			e.SetType(v)
		case "subject":
			e.SetSubject(v)
		case "dataschema":
			e.SetDataSchema(v)
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return event.Event{}, fmt.Errorf("%w: ce-time %q: %v", ErrNotCloudEvent, v, err)
			}
			if y := t.UTC().Year(); y < 0 || y > 9999 {
				// "9999-12-31T23:59:59-14:00" parses, but is in year
				// 10000 in UTC, which FormatTime cannot write back.
				return event.Event{}, fmt.Errorf("%w: ce-time %q: outside RFC 3339's years 0000-9999 in UTC", ErrNotCloudEvent, v)
			}
			e.SetTime(t)
		case "datacontenttype":
			ct = v
		default:
			e.SetExtension(name, v)
		}
	}
	if strings.HasPrefix(strings.ToLower(ct), "application/cloudevents") {
		return event.Event{}, fmt.Errorf("%w: structured content mode (%s)", ErrNotCloudEvent, ct)
	}
	if ct == "" {
		ct = ContentTypeJSON
	}
	e.SetDataContentType(ct)
	e.DataEncoded = data
	if err := Validate(e); err != nil {
		return event.Event{}, fmt.Errorf("%w: %v", ErrNotCloudEvent, err)
	}
	return e, nil
}

// FormatTime renders a CloudEvents time: RFC 3339 in UTC.
func FormatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
