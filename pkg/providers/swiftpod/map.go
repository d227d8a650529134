package swiftpod

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Map turns a shipment_notify into events: event.tracking and every
// data.trackings[] entry is its own parcel. It fails with
// providers.ErrNotShipment for order and stock notifications and with
// providers.ErrUnmappable when a shipment notification names no parcel or
// carries an unreadable event.timestamp.
//
// Times. SwiftPOD gives no carrier scan time, only event.timestamp ("when
// the event occurred": when SwiftPOD learned the status and notified) and,
// per data.trackings[] entry, created_at (when the label was bought). So:
//
//   - the status a notification reports holds at event.timestamp, for
//     event.tracking and for every other data.trackings[] entry (its status
//     as of that notification);
//   - each entry's created_at is an extra info_received "label created"
//     event, stable across notifications so its id collapses;
//   - the data.trackings[] entry that event.tracking already reports gets
//     no second status event.
//
// SwiftPOD's own example is inconsistent (status "delivered", created_at
// two weeks after event.timestamp). A label-created event later than the
// notification that reports on the label would become the shipment's
// "latest" event and regress a delivered parcel to info_received, so such a
// created_at is skipped: the next consistent notification carries it.
func (Provider) Map(raw providers.Raw) ([]tracking.Event, error) {
	var n notification
	if err := json.Unmarshal(raw.Data, &n); err != nil {
		return nil, unmappable(raw, "body: %v", err)
	}
	var ev event
	if len(n.Event) > 0 {
		if err := json.Unmarshal(n.Event, &ev); err != nil {
			return nil, unmappable(raw, "event: %v", err)
		}
	}
	name := eventName(string(ev.Name))
	switch {
	case name == "order_notify" || name == "stock_notify":
		// Order status changes repeat the order's trackings, but SwiftPOD
		// sends every tracking change as its own shipment_notify: mapping
		// both would double every event.
		return nil, fmt.Errorf("%w: swiftpod %s (event %s)", providers.ErrNotShipment, name, raw.ID)
	case ev.Tracking == nil && name != "shipment_notify":
		return nil, fmt.Errorf("%w: swiftpod %s without event.tracking (event %s)", providers.ErrNotShipment, name, raw.ID)
	}

	var o order
	if len(n.Data) > 0 {
		if err := json.Unmarshal(n.Data, &o); err != nil {
			return nil, unmappable(raw, "data: %v", err)
		}
	}
	notified, err := notifiedAt(string(ev.Timestamp), raw.Time)
	if err != nil {
		return nil, unmappable(raw, "%v", err)
	}

	m := mapper{raw: raw, orderID: string(o.OrderID), at: notified}
	var out []tracking.Event
	reported := map[string]bool{}
	if t := ev.Tracking; t != nil {
		status := t.status()
		if status == "" {
			// A tracking-number notification may leave the status to the
			// order data: take the matching entry's.
			status = matchingStatus(o.Trackings, string(t.TrackingNumber))
		}
		if e, ok := m.statusEvent(*t, status); ok {
			out = append(out, e)
			reported[e.TrackingNumber] = true
		}
	}
	for _, t := range o.Trackings {
		if !reported[tracking.NormalizeTrackingNumber(string(t.TrackingNumber))] && t.status() != "" {
			if e, ok := m.statusEvent(t, t.status()); ok {
				out = append(out, e)
			}
		}
		if e, ok := m.labelEvent(t); ok {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		return nil, unmappable(raw, "no parcel with a tracking number and carrier")
	}
	return out, nil
}

func unmappable(raw providers.Raw, format string, args ...any) error {
	return fmt.Errorf("%w: swiftpod event %s: %s", providers.ErrUnmappable, raw.ID, fmt.Sprintf(format, args...))
}

// notifiedAt places event.timestamp. SwiftPOD documents it as required; if
// it is ever absent the receipt time stands in (SwiftPOD posts as it
// notifies), but a timestamp that is present and unreadable is a format
// change to see in the dead letters, not to paper over.
func notifiedAt(ts string, received time.Time) (tracking.Moment, error) {
	if ts != "" {
		m, err := tracking.ParseMoment(ts, tracking.Location{})
		if err != nil {
			return tracking.Moment{}, fmt.Errorf("event.timestamp: %w", err)
		}
		return m, nil
	}
	if received.IsZero() {
		return tracking.Moment{}, fmt.Errorf("no event.timestamp and no receipt time")
	}
	return tracking.PlaceLocal(received.UTC().Format(time.RFC3339Nano), received, "Z"), nil
}

func matchingStatus(entries []shipment, number string) string {
	key := tracking.NormalizeTrackingNumber(number)
	for _, t := range entries {
		if tracking.NormalizeTrackingNumber(string(t.TrackingNumber)) == key {
			return t.status()
		}
	}
	return ""
}

type mapper struct {
	raw     providers.Raw
	orderID string
	at      tracking.Moment
}

// statusEvent reports a parcel's status at the notification time. A
// tracking notification without any status still says a label exists:
// info_received, with no carrier status to show.
func (m mapper) statusEvent(s shipment, status string) (tracking.Event, bool) {
	e, ok := m.parcel(s)
	if !ok {
		return e, false
	}
	e.Status = tracking.InfoReceived
	if status != "" {
		e.Status = mapStatus(status)
	}
	e.CarrierStatus = status
	e.SetMoment(m.at)
	return e, true
}

// labelEvent is the info_received event of a data.trackings[] entry's
// created_at. CarrierStatus "label_created" is ours: SwiftPOD has no code
// for it, the time is all it gives.
func (m mapper) labelEvent(s shipment) (tracking.Event, bool) {
	if s.CreatedAt == "" {
		return tracking.Event{}, false
	}
	created, err := tracking.ParseMoment(string(s.CreatedAt), tracking.Location{})
	if err != nil || created.At.After(m.at.At) {
		return tracking.Event{}, false
	}
	e, ok := m.parcel(s)
	if !ok {
		return e, false
	}
	e.Status = tracking.InfoReceived
	e.CarrierStatus = "label_created"
	e.Message = "label created"
	e.SetMoment(created)
	return e, true
}

// parcel fills what every event of one parcel shares. A parcel needs a
// tracking number and a carrier (from the carrier field, else the host of
// tracking_url); without them it is skipped.
func (m mapper) parcel(s shipment) (tracking.Event, bool) {
	number := tracking.NormalizeTrackingNumber(string(s.TrackingNumber))
	carrier := tracking.NormalizeCarrier(s.carrier())
	if carrier == "" {
		carrier = hostCarrier(string(s.TrackingURL))
	}
	if number == "" || carrier == "" {
		return tracking.Event{}, false
	}
	refs := map[string]string{}
	if m.orderID != "" {
		refs["order_id"] = m.orderID
	}
	var items []string
	for _, it := range s.ShippedItems {
		if it.OrderItemID != "" {
			items = append(items, string(it.OrderItemID))
		}
	}
	if len(items) > 0 {
		refs["order_item_ids"] = strings.Join(items, ",")
	}
	if len(refs) == 0 {
		refs = nil
	}
	return tracking.Event{
		Carrier:        carrier,
		TrackingNumber: number,
		Source:         sourceName,
		RawEventID:     m.raw.ID,
		References:     refs,
	}, true
}

func hostCarrier(link string) string {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	for _, h := range carrierHosts {
		if host == h.domain || strings.HasSuffix(host, "."+h.domain) {
			return h.carrier
		}
	}
	return ""
}
