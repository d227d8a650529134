package wineshipping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// webhook is the part of an AfterShip tracking webhook waybill reads. The
// tracking object also carries the recipient's name, e-mails, phone numbers
// and street address (customer_name, emails, smses, subscribed_*,
// destination_raw_location): they are deliberately not decoded, so they can
// never reach an event.
type webhook struct {
	Msg *trackingMsg `json:"msg"`
}

type trackingMsg struct {
	TrackingNumber text         `json:"tracking_number"`
	Slug           text         `json:"slug"`
	Tag            text         `json:"tag"`
	Subtag         text         `json:"subtag"`
	SubtagMessage  text         `json:"subtag_message"`
	CreatedAt      text         `json:"created_at"`
	UpdatedAt      text         `json:"updated_at"`
	OrderID        text         `json:"order_id"`
	OrderNumber    text         `json:"order_number"`
	Checkpoints    []checkpoint `json:"checkpoints"`
	// CustomFields stays raw so that a repeated key replaces the earlier
	// object instead of merging into it: see customFields.
	CustomFields     json.RawMessage `json:"custom_fields"`
	ExpectedDelivery text            `json:"expected_delivery"`
	LatestEstimate   *struct {
		Datetime text `json:"datetime"`
	} `json:"latest_estimated_delivery"`
	AfterShipEstimate *struct {
		Date text `json:"estimated_delivery_date"`
	} `json:"aftership_estimated_delivery_date"`
}

type checkpoint struct {
	CheckpointTime text `json:"checkpoint_time"`
	Slug           text `json:"slug"`
	Tag            text `json:"tag"`
	Subtag         text `json:"subtag"`
	RawTag         text `json:"raw_tag"`
	Message        text `json:"message"`
	City           text `json:"city"`
	State          text `json:"state"`
	Zip            text `json:"zip"`
	CountryISO3    text `json:"country_iso3"`
}

// Map turns one stored webhook into one event per checkpoint of
// msg.checkpoints. A tracking with no checkpoints yet (Pending, or Expired
// after 30 days without news) yields one event from the tracking-level tag
// so the shipment still appears; an Expired tag that no checkpoint carries
// is added the same way, since AfterShip sets Expired on the tracking, never
// on a scan.
//
// It returns an error wrapping providers.ErrUnmappable when the body is not
// an AfterShip tracking, lacks a tracking number or carrier slug, or has a
// timestamp no known format reads.
func (Provider) Map(raw providers.Raw) ([]tracking.Event, error) {
	var w webhook
	if err := json.Unmarshal(raw.Data, &w); err != nil {
		return nil, fmt.Errorf("%w: wineshipping %s: %v", providers.ErrUnmappable, raw.ID, err)
	}
	m := w.Msg
	if m == nil {
		return nil, fmt.Errorf("%w: wineshipping %s: no msg object", providers.ErrUnmappable, raw.ID)
	}
	number := m.TrackingNumber.trim()
	if tracking.NormalizeTrackingNumber(number) == "" {
		return nil, fmt.Errorf("%w: wineshipping %s: no msg.tracking_number", providers.ErrUnmappable, raw.ID)
	}
	refs, err := references(m)
	if err != nil {
		return nil, fmt.Errorf("%w: wineshipping %s: %v", providers.ErrUnmappable, raw.ID, err)
	}
	base := tracking.Event{
		TrackingNumber:    number,
		Source:            Name,
		RawEventID:        raw.ID,
		References:        refs,
		EstimatedDelivery: estimatedDelivery(m),
	}

	events := make([]tracking.Event, 0, len(m.Checkpoints)+1)
	expiredSeen := false
	for i, cp := range m.Checkpoints {
		ev := base
		ev.References = cloneRefs(refs)
		// The tracking's slug names the carrier the tracking number belongs
		// to, and the shipment key is built from it: a checkpoint reported
		// under another slug (a hand-over) must not split one parcel into
		// two shipments. The checkpoint's slug is only the fallback.
		ev.Carrier = firstOf(m.Slug.trim(), cp.Slug.trim())
		if tracking.NormalizeCarrier(ev.Carrier) == "" {
			return nil, fmt.Errorf("%w: wineshipping %s: checkpoints[%d]: no carrier (msg.slug or checkpoint slug)", providers.ErrUnmappable, raw.ID, i)
		}
		tag, subtag := cp.Tag.trim(), cp.Subtag.trim()
		ev.Status = Status(tag, subtag)
		expiredSeen = expiredSeen || ev.Status == tracking.Expired
		ev.Substatus = subtag
		// carrier_status keeps the carrier's own event code (UPS "KB", "OT")
		// when AfterShip passes it on: it is the most precise audit trail
		// and tells apart scans AfterShip files under one subtag. The
		// subtag is the fallback, and is kept in substatus either way.
		ev.CarrierStatus = firstOf(cp.RawTag.trim(), subtag, tag)
		ev.Message = cp.Message.trim()
		ev.Location = tracking.Location{
			City:       cp.City.trim(),
			State:      cp.State.trim(),
			PostalCode: cp.Zip.trim(),
			Country:    tracking.CountryCode(cp.CountryISO3.trim()),
		}
		at, err := tracking.ParseMoment(cp.CheckpointTime.trim(), ev.Location)
		if err != nil {
			return nil, fmt.Errorf("%w: wineshipping %s: checkpoints[%d].checkpoint_time: %v", providers.ErrUnmappable, raw.ID, i, err)
		}
		ev.SetMoment(at)
		events = append(events, ev)
	}

	tag := m.Tag.trim()
	if len(m.Checkpoints) == 0 || (Status(tag, m.Subtag.trim()) == tracking.Expired && !expiredSeen) {
		ev, err := trackingLevel(base, m)
		if err != nil {
			return nil, fmt.Errorf("%w: wineshipping %s: %v", providers.ErrUnmappable, raw.ID, err)
		}
		events = append(events, ev)
	}
	return events, nil
}

// trackingLevel is the event for the tracking's own tag, placed at
// updated_at (when AfterShip last changed it), else created_at. It has no
// location: the only places on the tracking are the customer's address.
func trackingLevel(base tracking.Event, m *trackingMsg) (tracking.Event, error) {
	ev := base
	ev.Carrier = m.Slug.trim()
	if tracking.NormalizeCarrier(ev.Carrier) == "" {
		return ev, errors.New("no msg.slug")
	}
	tag, subtag := m.Tag.trim(), m.Subtag.trim()
	ev.Status = Status(tag, subtag)
	ev.Substatus = subtag
	ev.CarrierStatus = firstOf(subtag, tag)
	ev.Message = m.SubtagMessage.trim()
	field, when := "msg.updated_at", m.UpdatedAt.trim()
	if when == "" {
		field, when = "msg.created_at", m.CreatedAt.trim()
	}
	if when == "" {
		return ev, errors.New("no checkpoints and no msg.updated_at or msg.created_at to date the tracking's tag")
	}
	at, err := tracking.ParseMoment(when, tracking.Location{})
	if err != nil {
		return ev, fmt.Errorf("%s: %v", field, err)
	}
	ev.SetMoment(at)
	return ev, nil
}

// references collects the merchant's identifiers for the shipment: order_id
// and order_number, and Wineshipping's tref from custom_fields.
func references(m *trackingMsg) (map[string]string, error) {
	refs := map[string]string{}
	if v := m.OrderID.trim(); v != "" {
		refs["order_id"] = v
	}
	if v := m.OrderNumber.trim(); v != "" {
		refs["order_number"] = v
	}
	cf, err := customFields(m.CustomFields)
	if err != nil {
		return nil, err
	}
	if v := cf.Tref.trim(); v != "" {
		refs["tref"] = v
	}
	if len(refs) == 0 {
		return nil, nil
	}
	return refs, nil
}

type customFieldsObj struct {
	Tref text `json:"tref"`
}

// customFields reads msg.custom_fields. Wineshipping's own sample repeats
// the custom_fields key in one object. JSON leaves duplicates undefined;
// waybill takes the last one whole, as JavaScript's JSON.parse does (the
// sender's platform). encoding/json alone would merge a repeated object
// key by key, so the field is captured raw (json.RawMessage keeps the last
// occurrence) and decoded here. Ingress's gjson reads would see the first.
func customFields(raw json.RawMessage) (customFieldsObj, error) {
	var cf customFieldsObj
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) || raw[0] != '{' {
		return cf, nil // absent or not an object: no tref, not worth a dead letter
	}
	if err := json.Unmarshal(raw, &cf); err != nil {
		return cf, fmt.Errorf("msg.custom_fields: %v", err)
	}
	return cf, nil
}

// estimatedDelivery prefers the carrier's latest estimate, then AfterShip's
// expected_delivery, then AfterShip's own prediction. The text is kept as
// given ("2023-07-24").
func estimatedDelivery(m *trackingMsg) string {
	var latest, predicted string
	if m.LatestEstimate != nil {
		latest = m.LatestEstimate.Datetime.trim()
	}
	if m.AfterShipEstimate != nil {
		predicted = m.AfterShipEstimate.Date.trim()
	}
	return firstOf(latest, m.ExpectedDelivery.trim(), predicted)
}

func cloneRefs(r map[string]string) map[string]string {
	if r == nil {
		return nil
	}
	c := make(map[string]string, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// text decodes a JSON string, number, boolean or null into a string.
// AfterShip and the carriers behind it are loose with types (a ZIP or an
// order number may come as a number); null means absent. Objects and arrays
// are an error: the payload is not the shape this mapping knows.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(s)
	case b[0] == '{' || b[0] == '[':
		return errors.New("want a string, got an object or array")
	default: // number or boolean: keep its literal text (no float rounding)
		*t = text(b)
	}
	return nil
}

func (t text) trim() string { return strings.TrimSpace(string(t)) }
