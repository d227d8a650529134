// Package providers holds the contract every tracking source implements and
// the registry the rest of waybill iterates: ingress routes, the
// normalizer's dispatch, the docs tables and the conformance suite
// (providertest). All knowledge of one provider lives in its own package
// pkg/providers/<name>, which registers itself in init; the binaries import
// pkg/providers/all to get every one.
package providers

import (
	"errors"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Sentinel errors that classify what a provider could not do. Callers use
// errors.Is; providers wrap them with the detail ("%w: no event_id").
var (
	// ErrInvalid: the webhook lacks what identifies it (not JSON, no event
	// id). Ingress answers 400 and dead-letters the body.
	ErrInvalid = errors.New("invalid webhook")
	// ErrUnmappable: a stored raw message cannot be turned into events
	// (unsupported shape, unreadable timestamp). The normalizer
	// dead-letters it with the reason.
	ErrUnmappable = errors.New("unmappable payload")
	// ErrNotShipment: a well-formed message that is about something other
	// than a parcel (an order or stock change). It is acked and counted,
	// never dead-lettered.
	ErrNotShipment = errors.New("not a shipment event")
)

// Info describes a provider for the registry's users.
type Info struct {
	// Name is the source name: the webhook path segment, the raw.<source>
	// subject token and the WAYBILL_AUTH_<SOURCE> suffix (upper-cased).
	Name string
	// Webhook is true when ingress serves POST /webhooks/<Name>. USPS is
	// not a webhook: the poller publishes it.
	Webhook bool
	// DevAuth is the auth scheme `waybill run` configures for development,
	// with the secret left off ("hmac-sha256:aftership-hmac-sha256:"), in the
	// shape the provider's own documents describe.
	DevAuth string
	// Granular is false for sources that report only coarse milestones
	// (Tenovi "Shipped"): their USPS shipments are polled for detail.
	Granular bool
}

// Request is what ingress hands a provider to identify a webhook.
type Request struct {
	Body []byte
	// Header returns a request header's value ("" when absent).
	Header func(name string) string
}

// Extension is a CloudEvents extension attribute taken from the webhook
// (Carriyo's trigger, webhook-id, last-retry). Names are lower-case letters
// and digits only, per the CloudEvents spec.
type Extension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Identity is what ingress needs to store a webhook as a CloudEvent.
type Identity struct {
	// ID is the provider's event id, stable across the provider's retries
	// of one event.
	ID string `json:"id"`
	// Type is the CloudEvent type naming the provider event
	// ("com.carriyo.shipment.delivered").
	Type string `json:"type"`
	// Subject is the tracking number where the payload has one.
	Subject    string      `json:"subject,omitempty"`
	Extensions []Extension `json:"extensions,omitempty"`
}

// Raw is a stored raw message as the normalizer hands it to Map.
type Raw struct {
	Source     string
	ID         string
	Type       string
	Subject    string
	Time       time.Time // when ingress received it
	Extensions map[string]string
	Data       []byte
}

// Provider is one tracking source. Implementations are stateless values and
// safe for concurrent use.
type Provider interface {
	Info() Info
	// Identify derives the event's identity from a webhook whose body is
	// already known to be valid JSON. It is on ingress's hot path: read
	// only the fields it needs. Errors wrap ErrInvalid.
	Identify(Request) (Identity, error)
	// Map turns one stored raw message into zero or more normalized
	// events, one per carrier checkpoint. Providers fill the domain fields
	// and leave ID and ShipmentKey to Event.Normalize. Errors wrap
	// ErrUnmappable or ErrNotShipment.
	Map(Raw) ([]tracking.Event, error)
}
