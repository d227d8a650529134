// Package carriyo is the Carriyo source: Carriyo POSTs the full Shipment
// object (no envelope) on every status change, with the event id and the
// trigger in HTTP headers. Ingress calls Identify to store each webhook on
// raw.carriyo; the normalizer calls Map to turn the stored Shipment into
// normalized events for its current status and its key milestones.
package carriyo

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
)

func init() { providers.Register(Provider{}) }

// Name is the source name: webhook path, raw subject token, auth suffix.
const Name = "carriyo"

const (
	typePrefix = "com.carriyo."
	// noTrigger names a delivery that has neither a trigger header nor a
	// post_shipping_info.status to stand in for it.
	noTrigger = "unknown"
	// maxTriggerLen bounds the provider-controlled part of the CloudEvent
	// type.
	maxTriggerLen = 64
)

// Entities a Carriyo webhook body can be about, as the CloudEvent type
// names them.
const (
	entityShipment        = "shipment"
	entityReverseShipment = "reverseshipment"
	entityReturnRequest   = "returnrequest"
	entityOrder           = "order"
)

// Provider implements providers.Provider for Carriyo. The zero value is
// ready to use and safe for concurrent use.
type Provider struct{}

// Info describes the source. Carriyo authenticates with a static header
// configured on the webhook subscription (its documents use X-API-Key) or an
// OAuth2 bearer token; the header is the development default.
func (Provider) Info() providers.Info {
	return providers.Info{
		Name:     Name,
		Webhook:  true,
		DevAuth:  "header:X-API-Key:",
		Granular: true,
	}
}

// Identify takes the id from the event-id header, which Carriyo keeps
// identical on every retry of one state change (retries run for up to 30
// hours), and the trigger, webhook-id and last-retry headers as CloudEvent
// extensions. From the body it reads only the few top-level keys that tell
// the entity apart and post_shipping_info's status and tracking_no.
//
// The type is com.carriyo.<entity>.<trigger>: entity is shipment,
// reverseshipment, returnrequest or order; trigger is the trigger header
// (a status, or a label, schedule or reason-code trigger), else
// post_shipping_info.status, reduced to [a-z0-9_].
//
// It returns an error wrapping providers.ErrInvalid when the event-id
// header is missing or blank.
func (Provider) Identify(r providers.Request) (providers.Identity, error) {
	id := strings.TrimSpace(r.Header("event-id"))
	if id == "" {
		return providers.Identity{}, fmt.Errorf("%w: carriyo: no event-id header", providers.ErrInvalid)
	}
	ent, psi := entityOf(r.Body)
	var subject, status string
	if ent == entityShipment || ent == entityReverseShipment {
		subject = strings.TrimSpace(psi.Get("tracking_no").Str)
		status = psi.Get("status").Str
	}
	trigger := strings.TrimSpace(r.Header("trigger"))
	typeTrigger := sanitize(trigger)
	if typeTrigger == "" {
		typeTrigger = sanitize(status)
	}
	if typeTrigger == "" {
		typeTrigger = noTrigger
	}

	var ext []providers.Extension
	for _, h := range [...]struct{ header, name string }{
		{"trigger", "trigger"}, {"webhook-id", "webhookid"}, {"last-retry", "lastretry"},
	} {
		if v := strings.TrimSpace(r.Header(h.header)); v != "" {
			ext = append(ext, providers.Extension{Name: h.name, Value: v})
		}
	}
	return providers.Identity{
		ID:         id,
		Type:       typePrefix + ent + "." + typeTrigger,
		Subject:    subject,
		Extensions: ext,
	}, nil
}

// entityOf tells what a body is about. The body does not name the
// subscription's entity type (Shipment, ReverseShipment, ReturnRequest,
// Order), so it is told from the shape: Order webhooks are an envelope with
// oldImage/newImage; a ReturnRequest object has a return_request_id and no
// shipment_id; a Shipment's own entity_type is FORWARD or REVERSE, REVERSE
// being a ReverseShipment. Anything else is taken for a shipment, so that a
// malformed one is dead-lettered by Map rather than silently acked.
//
// It walks the top-level keys once (a missing key costs gjson a full scan,
// and four are usually missing) and also hands back post_shipping_info.
func entityOf(body []byte) (entity string, postShippingInfo gjson.Result) {
	var envelope, returnRequest, shipmentID, reverse bool
	gotEntityType, gotPSI := false, false
	gjson.Parse(string(body)).ForEach(func(key, value gjson.Result) bool {
		switch key.Str {
		case "newImage", "oldImage":
			envelope = true
		case "return_request_id":
			returnRequest = true
		case "shipment_id":
			shipmentID = true
		case "entity_type":
			if !gotEntityType { // the first occurrence, as gjson reads everywhere
				gotEntityType = true
				reverse = strings.EqualFold(strings.TrimSpace(value.Str), "REVERSE")
			}
		case "post_shipping_info":
			if !gotPSI {
				gotPSI = true
				postShippingInfo = value
			}
		}
		return true
	})
	switch {
	case envelope:
		return entityOrder, postShippingInfo
	case returnRequest && !shipmentID:
		return entityReturnRequest, postShippingInfo
	case reverse:
		return entityReverseShipment, postShippingInfo
	}
	return entityShipment, postShippingInfo
}

// sanitize lower-cases s, turns every byte outside [a-z0-9_] into '_',
// trims '_' from both ends and bounds the length.
func sanitize(s string) string {
	if s == "" {
		return ""
	}
	b := make([]byte, 0, min(len(s), maxTriggerLen))
	for i := 0; i < len(s) && len(b) < maxTriggerLen; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_':
		default:
			c = '_'
		}
		b = append(b, c)
	}
	return strings.Trim(string(b), "_")
}
