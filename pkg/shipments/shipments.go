// Package shipments is the wire format of the SHIPMENTS stream: a
// normalized tracking.Event as the data of a dev.waybill.shipment.event.v1
// CloudEvent in binary mode. The normalizer writes it; the projector, the
// USPS poller, the console and subscribers read it.
package shipments

import (
	"encoding/json"
	"fmt"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Source is the CloudEvent source of normalized events.
const Source = "/waybill/normalizer"

// Message encodes e for subject (its SHIPMENTS subject, or a CANDIDATES
// subject inside the normalizer) with Nats-Msg-Id = the event id, so a
// checkpoint published twice is stored once.
func Message(subject string, e *tracking.Event) (*nats.Msg, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("shipments: encode %s: %w", e.ID, err)
	}
	ce := event.New(cloudevent.SpecVersion)
	ce.SetID(e.ID)
	ce.SetSource(Source)
	ce.SetType(tracking.EventType)
	ce.SetSubject(e.ShipmentKey)
	ce.SetTime(e.OccurredAt)
	ce.SetDataContentType(cloudevent.ContentTypeJSON)
	ce.DataEncoded = data
	msg, err := cloudevent.ToMsg(subject, ce)
	if err != nil {
		return nil, err
	}
	msg.Header.Set(nats.MsgIdHdr, e.ID)
	return msg, nil
}

// Decode reads a normalized event from a SHIPMENTS (or CANDIDATES) message.
func Decode(h nats.Header, data []byte) (tracking.Event, error) {
	var e tracking.Event
	if t := h.Get("ce-type"); t != "" && t != tracking.EventType {
		return e, fmt.Errorf("shipments: ce-type %q, want %s", t, tracking.EventType)
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("shipments: decode: %w", err)
	}
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("shipments: %w", err)
	}
	return e, nil
}
