package swiftpod

import (
	"bytes"
	"encoding/json"
)

// notification is a SwiftPOD webhook body, decoded in two steps: the event
// decides whether the order data is read at all (stock notifications carry
// a catalog item there, not an order).
type notification struct {
	Event json.RawMessage `json:"event"`
	Data  json.RawMessage `json:"data"`
}

type event struct {
	Name      text `json:"name"`
	Timestamp text `json:"timestamp"`
	// Tracking is present on shipment_notify only: the parcel this
	// notification is about.
	Tracking *shipment `json:"tracking"`
}

type order struct {
	OrderID   text       `json:"order_id"`
	Trackings []shipment `json:"trackings"`
	// address, line_items and the rest are deliberately not decoded:
	// address holds the buyer's name, phone and street (personal data).
}

// shipment is both event.tracking and a data.trackings[] entry. SwiftPOD
// names the same facts differently in the two: tracking_status and
// carrier_code in the event, status and carrier in the order data.
type shipment struct {
	TrackingNumber text   `json:"tracking_number"`
	TrackingStatus text   `json:"tracking_status"`
	Status         text   `json:"status"`
	CarrierCode    text   `json:"carrier_code"`
	Carrier        text   `json:"carrier"`
	TrackingURL    text   `json:"tracking_url"`
	CreatedAt      text   `json:"created_at"`
	ShippedItems   []item `json:"shipped_items"`
}

type item struct {
	OrderItemID text `json:"order_item_id"`
}

func (s shipment) status() string {
	if s.TrackingStatus != "" {
		return string(s.TrackingStatus)
	}
	return string(s.Status)
}

func (s shipment) carrier() string {
	if s.CarrierCode != "" {
		return string(s.CarrierCode)
	}
	return string(s.Carrier)
}

// text is a string field decoded leniently: SwiftPOD's ids are strings in
// the documents, but an id sent as a number (order ids often are) keeps its
// digits instead of failing the whole notification; null reads as "".
// Objects and arrays where text is expected read as "" too: one odd field
// must not dead-letter the parcels next to it.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null" || b[0] == '{' || b[0] == '[':
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(bytes.TrimSpace([]byte(s)))
	default: // number or boolean: keep its JSON text
		*t = text(b)
	}
	return nil
}
