package carriyo

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// shipment is the part of Carriyo's Shipment object waybill reads. The
// object also carries the customer's name, phone, e-mail and address
// (pickup, dropoff): they are deliberately not decoded, so they can never
// reach an event.
type shipment struct {
	ShipmentID text `json:"shipment_id"`
	// References holds the merchant's identifiers. Values are decoded one
	// by one so that a field Carriyo adds with another shape (a list of
	// additional references) is skipped instead of failing the shipment.
	References     map[string]json.RawMessage `json:"references"`
	CarrierAccount *struct {
		Carrier     text `json:"carrier"`
		AccountName text `json:"carrier_account_name"`
	} `json:"carrier_account"`
	PostShippingInfo *struct {
		Status            text            `json:"status"`
		TrackingNo        text            `json:"tracking_no"`
		CarrierStatusDate text            `json:"carrier_status_date"`
		KeyMilestones     map[string]text `json:"key_milestones"`
	} `json:"post_shipping_info"`
	UpdateDate text `json:"update_date"`
}

// Map turns one stored Shipment into one event for its current status
// (post_shipping_info.status at carrier_status_date) plus one event per
// key_milestones entry, each at its own time. Carriyo retries for up to 30
// hours and does not keep order, so a delivered webhook may arrive before
// out_for_delivery: every event is placed by the carrier times inside the
// body, never by arrival, and the milestones let a late or lost webhook's
// status be recovered from any later one.
//
// It returns an error wrapping providers.ErrNotShipment for ReturnRequest
// bodies and Order envelopes, and one wrapping providers.ErrUnmappable when
// a Shipment lacks its tracking number, carrier, status or a readable time.
func (Provider) Map(raw providers.Raw) ([]tracking.Event, error) {
	ent, _ := entityOf(raw.Data)
	switch ent {
	case entityOrder, entityReturnRequest:
		return nil, fmt.Errorf("%w: carriyo %s: %s webhook", providers.ErrNotShipment, raw.ID, ent)
	}
	var s shipment
	if err := json.Unmarshal(raw.Data, &s); err != nil {
		return nil, fmt.Errorf("%w: carriyo %s: %v", providers.ErrUnmappable, raw.ID, err)
	}
	psi := s.PostShippingInfo
	if psi == nil {
		return nil, fmt.Errorf("%w: carriyo %s: no post_shipping_info", providers.ErrUnmappable, raw.ID)
	}
	number := psi.TrackingNo.trim()
	if tracking.NormalizeTrackingNumber(number) == "" {
		// Drafts and failed bookings have no tracking number yet: there is
		// no parcel at a carrier to key events on.
		return nil, fmt.Errorf("%w: carriyo %s: no post_shipping_info.tracking_no", providers.ErrUnmappable, raw.ID)
	}
	// carrier is Carriyo's carrier code ("DHL"); the account name is a
	// label the merchant chose ("DHL Express UK") and only a last resort.
	var carrier string
	if s.CarrierAccount != nil {
		carrier = firstOf(s.CarrierAccount.Carrier.trim(), s.CarrierAccount.AccountName.trim())
	}
	if tracking.NormalizeCarrier(carrier) == "" {
		return nil, fmt.Errorf("%w: carriyo %s: no carrier_account.carrier", providers.ErrUnmappable, raw.ID)
	}
	base := tracking.Event{
		Carrier:        carrier,
		TrackingNumber: number,
		Source:         Name,
		RawEventID:     raw.ID,
		References:     references(&s, ent == entityReverseShipment),
	}

	var events []tracking.Event
	seen := map[string]bool{}
	add := func(code, field, when string) error {
		at, err := tracking.ParseMoment(when, tracking.Location{})
		if err != nil {
			return fmt.Errorf("%s: %v", field, err)
		}
		// The current status usually repeats as a milestone at the same
		// instant: keep one event, the first (the current status's).
		key := strings.ToLower(code) + "\x00" + at.At.UTC().Format("2006-01-02T15:04:05.999999999")
		if seen[key] {
			return nil
		}
		seen[key] = true
		ev := base
		ev.References = cloneRefs(base.References)
		ev.Status = Status(code)
		ev.Substatus = substatus(code)
		ev.CarrierStatus = code
		ev.SetMoment(at)
		events = append(events, ev)
		return nil
	}

	if status := psi.Status.trim(); status != "" {
		field, when := "post_shipping_info.carrier_status_date", psi.CarrierStatusDate.trim()
		if when == "" {
			// A status Carriyo set itself (booked, cancelled) may have no
			// carrier date: its milestone, else the shipment's last update,
			// is the best time there is.
			field, when = "post_shipping_info.key_milestones."+status, psi.KeyMilestones[status].trim()
		}
		if when == "" {
			field, when = "update_date", s.UpdateDate.trim()
		}
		if when == "" {
			return nil, fmt.Errorf("%w: carriyo %s: status %q has no post_shipping_info.carrier_status_date, key_milestones.%s or update_date", providers.ErrUnmappable, raw.ID, status, status)
		}
		if err := add(status, field, when); err != nil {
			return nil, fmt.Errorf("%w: carriyo %s: %v", providers.ErrUnmappable, raw.ID, err)
		}
	}
	names := make([]string, 0, len(psi.KeyMilestones))
	for name := range psi.KeyMilestones {
		names = append(names, name)
	}
	sort.Strings(names) // map order is random; Map must be deterministic
	for _, name := range names {
		when := psi.KeyMilestones[name].trim()
		if strings.TrimSpace(name) == "" || when == "" {
			continue // a milestone not reached yet
		}
		if err := add(strings.TrimSpace(name), "post_shipping_info.key_milestones."+name, when); err != nil {
			return nil, fmt.Errorf("%w: carriyo %s: %v", providers.ErrUnmappable, raw.ID, err)
		}
	}
	if len(events) == 0 {
		return nil, fmt.Errorf("%w: carriyo %s: no post_shipping_info.status and no key_milestones", providers.ErrUnmappable, raw.ID)
	}
	sort.SliceStable(events, func(i, j int) bool {
		a, b := &events[i], &events[j]
		if !a.OccurredAt.Equal(b.OccurredAt) {
			return a.OccurredAt.Before(b.OccurredAt)
		}
		if ra, rb := a.Status.Rank(), b.Status.Rank(); ra != rb {
			return ra < rb
		}
		return a.CarrierStatus < b.CarrierStatus
	})
	return events, nil
}

// references keeps the merchant's string references (partner_order_reference,
// partner_shipment_reference, ...) and Carriyo's shipment_id. A
// ReverseShipment is a parcel like any other, flagged return=true so that
// its delivered (back at the merchant) is not read as the customer's.
func references(s *shipment, reverse bool) map[string]string {
	refs := map[string]string{}
	for k, v := range s.References {
		var t text
		if json.Unmarshal(v, &t) != nil {
			continue
		}
		if k, v := strings.TrimSpace(k), t.trim(); k != "" && v != "" {
			refs[k] = v
		}
	}
	if v := s.ShipmentID.trim(); v != "" {
		refs["shipment_id"] = v
	}
	if reverse {
		refs["return"] = "true"
	}
	if len(refs) == 0 {
		return nil
	}
	return refs
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

// text decodes a JSON string, number, boolean or null into a string, so a
// reference sent as a number still counts and null means absent. Objects
// and arrays are an error: not the shape this mapping knows.
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
	default: // number or boolean: keep its literal text
		*t = text(b)
	}
	return nil
}

func (t text) trim() string { return strings.TrimSpace(string(t)) }
