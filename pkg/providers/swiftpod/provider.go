// Package swiftpod is the SwiftPOD source: print-on-demand orders whose
// labels SwiftPOD buys from EasyPost. Ingress serves POST /webhooks/swiftpod
// and calls Identify to store each notification on raw.swiftpod; the
// normalizer calls Map to turn a stored shipment notification into normalized
// events on SHIPMENTS. Order and stock notifications arrive on the same
// endpoint and are acked as ErrNotShipment.
package swiftpod

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// sourceName is the webhook path segment and the raw.<source> token.
const sourceName = "swiftpod"

// typePrefix starts the CloudEvent type of every stored notification; the
// sanitized event.name follows ("com.swiftpod.shipment_notify").
const typePrefix = "com.swiftpod."

// maxIDLen bounds event.uuid: it travels in a NATS header (ce-id), and a
// megabyte "uuid" is a broken or hostile sender, not an event.
const maxIDLen = 256

// Provider is the SwiftPOD source. The zero value is ready to use.
type Provider struct{}

func init() { providers.Register(Provider{}) }

// Info describes SwiftPOD: a webhook with one notification per carrier
// status change, authenticated by "Authorization: Bearer <token>" as its
// webhook documentation shows.
func (Provider) Info() providers.Info {
	return providers.Info{Name: sourceName, Webhook: true, DevAuth: "bearer:", Granular: true}
}

// Identify reads event.uuid (the id SwiftPOD keeps across its retries),
// event.name and the notified tracking number. It fails with
// providers.ErrInvalid when event.uuid is missing, empty, not a string or
// oversized.
func (Provider) Identify(r providers.Request) (providers.Identity, error) {
	// SwiftPOD puts "event" first and the large order "data" after it:
	// reading the event object alone keeps the scan short.
	ev := gjson.GetBytes(r.Body, "event")
	uuid := ev.Get("uuid")
	id := strings.TrimSpace(uuid.Str)
	switch {
	case uuid.Type != gjson.String || id == "":
		return providers.Identity{}, fmt.Errorf("%w: swiftpod: event.uuid missing, empty or not a string", providers.ErrInvalid)
	case len(id) > maxIDLen:
		return providers.Identity{}, fmt.Errorf("%w: swiftpod: event.uuid longer than %d bytes", providers.ErrInvalid, maxIDLen)
	}
	return providers.Identity{
		ID:      id,
		Type:    typePrefix + eventName(ev.Get("name").String()),
		Subject: tracking.NormalizeTrackingNumber(scalar(ev.Get("tracking.tracking_number"))),
	}, nil
}

// scalar is a JSON string's text or a number's literal digits (a huge
// number keeps every digit); anything else reads as "".
func scalar(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Number:
		return r.Raw
	}
	return ""
}

// eventName makes event.name safe for a CloudEvent type: lower case,
// [a-z0-9_] only, bounded. SwiftPOD documents order_notify, stock_notify
// and shipment_notify; anything else is kept, sanitized, so a new kind of
// notification is visible in the stream rather than rejected.
func eventName(name string) string {
	const maxLen = 64
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if b.Len() >= maxLen {
			break
		}
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}
