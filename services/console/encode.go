package console

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/waybill-dev/waybill/pkg/lookup"
)

// The shipment answers are encoded by hand: they are what the console
// serves most, and encoding/json's reflection, its MarshalJSON call and
// allocation for every timestamp, were a large part of a lookup's CPU. The
// functions below write exactly what encoding/json writes for
// shipmentDetail and shipmentList (json.NewEncoder(w).Encode, HTML
// escaping on); TestShipmentEncodersMatchEncodingJSON holds them to it,
// field by field, so a field added to lookup.Shipment or lookup.Event fails
// it until it is added here.

// appendShipmentDetail appends d and a newline.
func appendShipmentDetail(b []byte, d *shipmentDetail) ([]byte, error) {
	b = append(b, `{"shipment":`...)
	b, err := appendShipment(b, &d.Shipment)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"events":`...)
	if b, err = appendArray(b, d.Events, appendEvent); err != nil {
		return nil, err
	}
	return append(b, "}\n"...), nil
}

// appendArray appends items as a JSON array, null when nil, as
// encoding/json does.
func appendArray[T any](b []byte, items []T, appendItem func([]byte, *T) ([]byte, error)) ([]byte, error) {
	if items == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendItem(b, &items[i]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendShipmentList appends l and a newline.
func appendShipmentList(b []byte, l *shipmentList) ([]byte, error) {
	b, err := appendArray(append(b, `{"shipments":`...), l.Shipments, appendShipment)
	if err != nil {
		return nil, err
	}
	if l.NextCursor != "" {
		b = append(b, `,"next_cursor":`...)
		b = appendString(b, l.NextCursor)
	}
	return append(b, "}\n"...), nil
}

func appendShipment(b []byte, s *lookup.Shipment) ([]byte, error) {
	var err error
	b = appendField(b, `{"shipment_key":`, s.ShipmentKey)
	b = appendField(b, `,"carrier":`, s.Carrier)
	b = appendField(b, `,"tracking_number":`, s.TrackingNumber)
	b = appendField(b, `,"status":`, string(s.Status))
	if b, err = appendTime(append(b, `,"status_at":`...), s.StatusAt); err != nil {
		return nil, err
	}
	b = appendField(b, `,"last_event_id":`, s.LastEventID)
	if s.DeliveredAt != nil {
		if b, err = appendTime(append(b, `,"delivered_at":`...), *s.DeliveredAt); err != nil {
			return nil, err
		}
	}
	if s.EstimatedDelivery != "" {
		b = appendField(b, `,"estimated_delivery":`, s.EstimatedDelivery)
	}
	b = appendMap(append(b, `,"references":`...), s.References)
	b = strconv.AppendInt(append(b, `,"event_count":`...), int64(s.EventCount), 10)
	if b, err = appendTime(append(b, `,"first_seen_at":`...), s.FirstSeenAt); err != nil {
		return nil, err
	}
	if s.StalledAt != nil {
		if b, err = appendTime(append(b, `,"stalled_at":`...), *s.StalledAt); err != nil {
			return nil, err
		}
	}
	if b, err = appendTime(append(b, `,"updated_at":`...), s.UpdatedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendEvent(b []byte, e *lookup.Event) ([]byte, error) {
	var err error
	b = appendField(b, `{"id":`, e.ID)
	b = appendField(b, `,"status":`, string(e.Status))
	b = appendNonEmpty(b, `,"substatus":`, e.Substatus)
	b = appendNonEmpty(b, `,"carrier_status":`, e.CarrierStatus)
	b = appendNonEmpty(b, `,"message":`, e.Message)
	if b, err = appendTime(append(b, `,"occurred_at":`...), e.OccurredAt); err != nil {
		return nil, err
	}
	b = appendField(b, `,"occurred_at_precision":`, string(e.OccurredAtPrecision))
	b = appendNonEmpty(b, `,"local_time":`, e.LocalTime)
	b = appendNonEmpty(b, `,"timezone":`, e.Timezone)
	b = appendNonEmpty(b, `,"timezone_source":`, string(e.TimezoneSource))
	b = strconv.AppendBool(append(b, `,"timezone_inferred":`...), e.TimezoneInferred)
	// tracking.Location: every field omitempty, so the first one written
	// opens without a comma.
	b = append(b, `,"location":{`...)
	n := len(b)
	for _, f := range [...]struct{ name, value string }{
		{`"city":`, e.Location.City}, {`"state":`, e.Location.State},
		{`"postal_code":`, e.Location.PostalCode}, {`"country":`, e.Location.Country},
	} {
		if f.value == "" {
			continue
		}
		if len(b) > n {
			b = append(b, ',')
		}
		b = appendField(b, f.name, f.value)
	}
	b = append(b, '}')
	b = appendField(b, `,"source":`, e.Source)
	b = appendNonEmpty(b, `,"raw_event_id":`, e.RawEventID)
	b = appendMap(append(b, `,"references":`...), e.References)
	b = appendNonEmpty(b, `,"estimated_delivery":`, e.EstimatedDelivery)
	b = strconv.AppendBool(append(b, `,"late":`...), e.Late)
	if b, err = appendTime(append(b, `,"received_at":`...), e.ReceivedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

func appendField(b []byte, name, value string) []byte {
	return appendString(append(b, name...), value)
}

func appendNonEmpty(b []byte, name, value string) []byte {
	if value == "" {
		return b
	}
	return appendField(b, name, value)
}

// appendTime writes t as time.Time.MarshalJSON does; a year it refuses
// (outside 0..9999) goes to it for its error.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		j, err := t.MarshalJSON()
		return append(b, j...), err
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendMap writes m with its keys sorted, as encoding/json does.
func appendMap(b []byte, m map[string]string) []byte {
	if m == nil {
		return append(b, "null"...)
	}
	keys := make([]string, 0, 8) // on the stack for the few references a shipment has
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = appendString(append(b, ':'), m[k])
	}
	return append(b, '}')
}

// appendString writes s as a JSON string. Printable ASCII other than the
// characters encoding/json escapes (", \ and, for HTML, <, > and &) is
// written as it is; anything else, rare in tracking data, goes through
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			j, _ := json.Marshal(s) // a string always encodes
			return append(b, j...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
