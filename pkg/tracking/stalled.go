package tracking

import (
	"encoding/json"
	"fmt"
	"time"
)

// StalledType is the CloudEvent type of a stalled-shipment alert on ALERTS.
const StalledType = "dev.waybill.shipment.stalled.v1"

// Stalled says a shipment in a non-terminal status has had no event for
// StalledAfter: the data of a dev.waybill.shipment.stalled.v1 CloudEvent
// (schemas/shipment-stalled.v1.json), published by the projector.
type Stalled struct {
	ShipmentKey    string `json:"shipment_key"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	Status         Status `json:"status"`
	// LastEventAt is the carrier time of the event that set Status (the
	// projection's status_at), not when waybill received it: a carrier that
	// reports late does not hide a parcel that stopped moving.
	LastEventAt time.Time `json:"last_event_at"`
	LastEventID string    `json:"last_event_id"`
	// StalledAfter is encoded as a Go duration string ("72h0m0s"), not
	// time.Duration's nanosecond count, so a person or another language can
	// read it.
	StalledAfter time.Duration     `json:"stalled_after"`
	DetectedAt   time.Time         `json:"detected_at"`
	References   map[string]string `json:"references,omitempty"`
}

// Subject is the ALERTS subject the alert is published on:
// alerts.stalled.<carrier>.<tracking>.
func (s *Stalled) Subject() string {
	return "alerts.stalled." + SubjectToken(s.Carrier) + "." + SubjectToken(s.TrackingNumber)
}

// stalledJSON is Stalled's wire form: the same fields, with the duration as
// a string.
type stalledJSON struct {
	ShipmentKey    string            `json:"shipment_key"`
	Carrier        string            `json:"carrier"`
	TrackingNumber string            `json:"tracking_number"`
	Status         Status            `json:"status"`
	LastEventAt    time.Time         `json:"last_event_at"`
	LastEventID    string            `json:"last_event_id"`
	StalledAfter   string            `json:"stalled_after"`
	DetectedAt     time.Time         `json:"detected_at"`
	References     map[string]string `json:"references,omitempty"`
}

// MarshalJSON writes StalledAfter as a duration string and both instants
// in UTC.
func (s Stalled) MarshalJSON() ([]byte, error) {
	return json.Marshal(stalledJSON{
		ShipmentKey: s.ShipmentKey, Carrier: s.Carrier, TrackingNumber: s.TrackingNumber,
		Status: s.Status, LastEventAt: s.LastEventAt.UTC(), LastEventID: s.LastEventID,
		StalledAfter: s.StalledAfter.String(), DetectedAt: s.DetectedAt.UTC(),
		References: s.References,
	})
}

// UnmarshalJSON reads the form MarshalJSON writes; stalled_after is any
// string time.ParseDuration accepts.
func (s *Stalled) UnmarshalJSON(data []byte) error {
	var w stalledJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	d, err := time.ParseDuration(w.StalledAfter)
	if err != nil {
		return fmt.Errorf("tracking: stalled_after: %w", err)
	}
	*s = Stalled{
		ShipmentKey: w.ShipmentKey, Carrier: w.Carrier, TrackingNumber: w.TrackingNumber,
		Status: w.Status, LastEventAt: w.LastEventAt, LastEventID: w.LastEventID,
		StalledAfter: d, DetectedAt: w.DetectedAt, References: w.References,
	}
	return nil
}
