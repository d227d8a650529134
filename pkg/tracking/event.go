package tracking

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// EventType is the CloudEvent type of a normalized event on SHIPMENTS.
const EventType = "dev.waybill.shipment.event.v1"

// Location is where a checkpoint happened, as far as the carrier says.
// Street addresses are never kept: they are personal data.
type Location struct {
	City       string `json:"city,omitempty"`
	State      string `json:"state,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Event is one normalized carrier checkpoint: the data of a
// dev.waybill.shipment.event.v1 CloudEvent (schemas/shipment-event.v1.json).
type Event struct {
	ID             string `json:"id"`
	ShipmentKey    string `json:"shipment_key"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Status         Status `json:"status"`
	Substatus      string `json:"substatus,omitempty"`
	// CarrierStatus is the provider's own code (AfterShip subtag or raw tag,
	// Carriyo status, USPS event code or text), kept so a mapping can be
	// audited and fixed later.
	CarrierStatus string `json:"carrier_status"`
	Message       string `json:"message,omitempty"`

	OccurredAt          time.Time  `json:"occurred_at"`
	OccurredAtPrecision Precision  `json:"occurred_at_precision"`
	TimezoneInferred    bool       `json:"timezone_inferred"`
	LocalTime           string     `json:"local_time,omitempty"`
	Timezone            string     `json:"timezone,omitempty"`
	TimezoneSource      ZoneSource `json:"timezone_source,omitempty"`

	Location          Location          `json:"location"`
	Source            string            `json:"source"`
	RawEventID        string            `json:"raw_event_id"`
	References        map[string]string `json:"references,omitempty"`
	EstimatedDelivery string            `json:"estimated_delivery,omitempty"`
	Late              bool              `json:"late"`
}

// SetMoment places the event at a parsed carrier time.
func (e *Event) SetMoment(m Moment) {
	e.OccurredAt = m.At.UTC()
	e.OccurredAtPrecision = m.Precision
	e.LocalTime = m.Local
	e.Timezone = m.Zone
	e.TimezoneSource = m.ZoneSource
	e.TimezoneInferred = m.Inferred
}

// Normalize folds carrier and tracking number into their canonical forms and
// derives ShipmentKey and ID. Providers may leave those three empty; the
// normalizer calls Normalize on every event before ordering it.
func (e *Event) Normalize() {
	e.Carrier = NormalizeCarrier(e.Carrier)
	e.TrackingNumber = NormalizeTrackingNumber(e.TrackingNumber)
	e.ShipmentKey = ShipmentKey(e.Carrier, e.TrackingNumber)
	// Microseconds: what Postgres keeps, so the projection orders exactly
	// as Before does.
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
	e.ID = EventID(e)
}

// EventID is the deterministic id of a checkpoint: a hash of carrier,
// tracking number, status, occurred_at, carrier status and location. The
// same checkpoint repeated in later webhooks, or replayed, gets the same id,
// which is what SHIPMENTS dedups and Postgres keys on. It leaves out source,
// message and references on purpose: they vary between reports of one scan.
func EventID(e *Event) string {
	h := sha256.New()
	for _, part := range []string{
		e.Carrier, e.TrackingNumber, string(e.Status),
		e.OccurredAt.UTC().Format(time.RFC3339Nano), e.CarrierStatus,
		strings.ToUpper(e.Location.City), strings.ToUpper(e.Location.State),
		strings.ToUpper(e.Location.PostalCode), strings.ToUpper(e.Location.Country),
	} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // separator: ("ab","c") and ("a","bc") must differ
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Subject is the SHIPMENTS subject the event is published on.
func (e *Event) Subject() string { return Subject(e.Carrier, e.TrackingNumber, e.Status) }

// ErrInvalidEvent classifies an event that breaks the contract.
var ErrInvalidEvent = errors.New("tracking: invalid event")

// Bounds on the identifying fields. No carrier's tracking number or code
// comes near them; they keep every subject, KV key and index entry built
// from an event far inside NATS's 4 KiB control line and Postgres's
// 2704-byte index rows. A longer value (a provider's bug or a hostile body)
// would otherwise be unpublishable: the server drops the connection of a
// client that publishes to such a subject, and the raw message behind it
// would be redelivered forever (docs/bad-input.md).
const (
	MaxTrackingNumberLen = 128
	MaxCarrierLen        = 64
)

// Validate checks the fields every consumer relies on.
func (e *Event) Validate() error {
	switch {
	case e.Carrier == "":
		return fmt.Errorf("%w: no carrier", ErrInvalidEvent)
	case e.TrackingNumber == "":
		return fmt.Errorf("%w: no tracking number", ErrInvalidEvent)
	case len(e.Carrier) > MaxCarrierLen:
		return fmt.Errorf("%w: carrier longer than %d bytes", ErrInvalidEvent, MaxCarrierLen)
	case len(e.TrackingNumber) > MaxTrackingNumberLen:
		return fmt.Errorf("%w: tracking number longer than %d bytes", ErrInvalidEvent, MaxTrackingNumberLen)
	case !e.Status.Valid():
		return fmt.Errorf("%w: status %q outside the taxonomy", ErrInvalidEvent, e.Status)
	case e.OccurredAt.IsZero():
		return fmt.Errorf("%w: no occurred_at", ErrInvalidEvent)
	case e.OccurredAtPrecision != PrecisionDay && e.OccurredAtPrecision != PrecisionSecond:
		return fmt.Errorf("%w: occurred_at_precision %q", ErrInvalidEvent, e.OccurredAtPrecision)
	case e.Source == "":
		return fmt.Errorf("%w: no source", ErrInvalidEvent)
	}
	return nil
}

// Before orders events by carrier time, then status rank, then id: the
// order SHIPMENTS emits a shipment's events in and the projection's
// "latest wins" rule.
func Before(a, b *Event) bool {
	if !a.OccurredAt.Equal(b.OccurredAt) {
		return a.OccurredAt.Before(b.OccurredAt)
	}
	if ra, rb := a.Status.Rank(), b.Status.Rank(); ra != rb {
		return ra < rb
	}
	return a.ID < b.ID
}
