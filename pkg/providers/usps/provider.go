// Package usps is the USPS Tracking v3 source. USPS pushes nothing: the
// uspspoller polls GET /tracking/v3/tracking/{n}?expand=DETAIL for the USPS
// parcels of non-granular sources (Tenovi "Shipped" with a usps.com link)
// and publishes each response as a CloudEvent on raw.usps, with the id from
// EventID. The normalizer then calls Map like for any webhook source, which
// turns every tracking event of the response into a normalized event on
// SHIPMENTS; the ones already seen collapse there by event id.
package usps

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

const (
	sourceName = "usps"
	eventType  = "gov.usps.tracking.v3"
	carrier    = "usps"
)

// TrackingNumberHeader is the request header through which the poller
// passes the tracking number it polled. USPS's DETAIL body names it
// (trackingNumber), but the older TrackSummary/TrackDetail shape does not.
const TrackingNumberHeader = "X-Tracking-Number"

// Provider is the USPS Tracking v3 source. The zero value is ready to use
// and safe for concurrent use.
type Provider struct{}

func init() { providers.Register(Provider{}) }

// Info describes USPS: no webhook (the poller publishes it), granular
// (one event per scan).
func (Provider) Info() providers.Info {
	return providers.Info{Name: sourceName, Webhook: false, DevAuth: "", Granular: true}
}

// Identify names a poll response by EventID, the tracking number from the
// body or else the TrackingNumberHeader header. It fails with
// providers.ErrInvalid like EventID.
func (Provider) Identify(r providers.Request) (providers.Identity, error) {
	var header string
	if r.Header != nil {
		header = r.Header(TrackingNumberHeader)
	}
	id, number, err := eventID(r.Body, header)
	if err != nil {
		return providers.Identity{}, err
	}
	return providers.Identity{ID: id, Type: eventType, Subject: number}, nil
}

// EventID is the id of one poll response: a hash of the tracking number
// and the newest tracking event's code, text and timestamps. A poll that
// returns nothing new gets the id of the previous one, so JetStream drops
// it as a duplicate; a new scan makes a new id. A response without events
// (an error body) hashes its canonical JSON instead.
//
// trackingNumber is used when the body has no trackingNumber (the
// TrackSummary shape). The poller must pass the number it polled so that its
// id equals the one Identify derives. It fails with providers.ErrInvalid
// when the body is not a JSON object or no tracking number is known.
func EventID(body []byte, trackingNumber string) (string, error) {
	id, _, err := eventID(body, trackingNumber)
	return id, err
}

func eventID(body []byte, fallback string) (id, number string, err error) {
	if b := bytes.TrimSpace(body); len(b) == 0 || b[0] != '{' || !gjson.ValidBytes(b) {
		return "", "", fmt.Errorf("%w: usps: body is not a JSON object", providers.ErrInvalid)
	}
	doc := gjson.ParseBytes(body)
	number = tracking.NormalizeTrackingNumber(scalar(get(doc, "trackingNumber")))
	if number == "" {
		number = tracking.NormalizeTrackingNumber(fallback)
	}
	if number == "" {
		return "", "", fmt.Errorf("%w: usps: no trackingNumber in the body or the %s header", providers.ErrInvalid, TrackingNumberHeader)
	}
	if parts := newestEvent(doc); parts != nil {
		return providers.HashID(append([][]byte{[]byte(number)}, parts...)...), number, nil
	}
	canonical, err := providers.CanonicalJSON(body)
	if err != nil {
		return "", "", fmt.Errorf("usps: %w", err)
	}
	return providers.HashID([]byte(number), canonical), number, nil
}

// newestEvent is what identifies the newest event of a response: USPS
// lists trackingEvents newest first, and TrackSummary is the newest of the
// older shape (TrackDetail holds the rest, newest first). The location is
// left out: the code, text and times already tell scans apart.
func newestEvent(doc gjson.Result) [][]byte {
	fields := func(ev gjson.Result, names ...string) [][]byte {
		if !ev.IsObject() {
			return nil
		}
		out := make([][]byte, len(names))
		for i, n := range names {
			out[i] = []byte(strings.TrimSpace(scalar(get(ev, n))))
		}
		return out
	}
	first := func(r gjson.Result) gjson.Result {
		if r.IsArray() {
			return r.Get("0")
		}
		return r
	}
	if p := fields(first(get(doc, "trackingEvents")), "eventCode", "eventType", "eventTimestamp", "GMTTimestamp"); p != nil {
		return p
	}
	summary := get(doc, "TrackSummary")
	if !summary.IsObject() {
		summary = first(get(doc, "TrackDetail"))
	}
	return fields(summary, "EventCode", "Event", "EventDate", "EventTime")
}

// get reads a member of an object by name. USPS's key casing drifts
// (uniqueMailPieceID and uniqueMailPieceId, GMTTimestamp), so a member
// that differs only in case is taken when the exact name is missing, as
// encoding/json does in Map.
func get(obj gjson.Result, name string) gjson.Result {
	if r := obj.Get(gjson.Escape(name)); r.Exists() {
		return r
	}
	var found gjson.Result
	obj.ForEach(func(k, v gjson.Result) bool {
		if strings.EqualFold(k.Str, name) {
			found = v
			return false
		}
		return true
	})
	return found
}

// scalar is a JSON string's text or a number's literal digits.
func scalar(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Number:
		return r.Raw
	}
	return ""
}
