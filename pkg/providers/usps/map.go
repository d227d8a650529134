package usps

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Map turns a poll response into one event per USPS tracking event, oldest
// first. It fails with providers.ErrUnmappable for an error body (with
// USPS's code), a response without events (a SUMMARY response has text
// lines only: poll with expand=DETAIL), a response whose tracking number is
// unknown, or an event whose time cannot be read.
func (Provider) Map(raw providers.Raw) ([]tracking.Event, error) {
	var r response
	if err := json.Unmarshal(raw.Data, &r); err != nil {
		return nil, unmappable(raw, "body: %v", err)
	}
	if e, ok := r.apiError(); ok {
		return nil, unmappable(raw, "USPS error %q: %s", string(e.Code), strings.TrimSpace(string(e.Message)))
	}
	number := tracking.NormalizeTrackingNumber(string(r.TrackingNumber))
	if number == "" {
		number = tracking.NormalizeTrackingNumber(raw.Subject)
	}
	if number == "" {
		return nil, unmappable(raw, "no trackingNumber in the body or the subject")
	}
	base := tracking.Event{
		Carrier:           carrier,
		TrackingNumber:    number,
		Source:            sourceName,
		RawEventID:        raw.ID,
		EstimatedDelivery: estimatedDelivery(r),
	}

	var out []tracking.Event
	var err error
	if len(r.TrackingEvents) > 0 {
		out, err = detailEvents(base, r.TrackingEvents)
	} else {
		out, err = summaryEvents(base, r.TrackSummary, r.TrackDetail)
	}
	if err != nil {
		return nil, unmappable(raw, "%v", err)
	}
	if len(out) == 0 {
		if s := string(r.EventSummaries); s != "" && s != "null" {
			return nil, unmappable(raw, "SUMMARY response has no event fields (poll with expand=DETAIL)")
		}
		return nil, unmappable(raw, "no tracking events")
	}
	// Oldest first reads naturally in goldens and logs; the normalizer
	// orders by occurred_at anyway.
	sort.SliceStable(out, func(i, j int) bool { return out[i].OccurredAt.Before(out[j].OccurredAt) })
	return out, nil
}

func unmappable(raw providers.Raw, format string, args ...any) error {
	return fmt.Errorf("%w: usps event %s: %s", providers.ErrUnmappable, raw.ID, fmt.Sprintf(format, args...))
}

// detailEvents maps trackingEvents[] of a DETAIL response.
func detailEvents(base tracking.Event, list events) ([]tracking.Event, error) {
	out := make([]tracking.Event, 0, len(list))
	for i, rawEv := range list {
		var ev event
		if err := json.Unmarshal(rawEv, &ev); err != nil {
			return nil, fmt.Errorf("trackingEvents[%d]: %v", i, err)
		}
		where := tracking.Location{
			City: string(ev.EventCity), State: string(ev.EventState),
			PostalCode: string(ev.EventZIP), Country: tracking.CountryCode(string(ev.EventCountry)),
		}
		at, err := detailMoment(ev, where)
		if err != nil {
			return nil, fmt.Errorf("trackingEvents[%d]: %w", i, err)
		}
		out = append(out, newEvent(base, string(ev.EventCode), string(ev.EventType), where, at))
	}
	return out, nil
}

// detailMoment places a DETAIL event. GMTTimestamp is the exact instant and
// orders the event; eventTimestamp is the local wall clock, kept as the
// local text (the two can differ in their seconds: the instant wins).
// Without GMTTimestamp, GMTOffset places the wall clock; without either,
// the zone is inferred from the event's ZIP, state or country.
func detailMoment(ev event, where tracking.Location) (tracking.Moment, error) {
	local, gmt, offset := string(ev.EventTimestamp), string(ev.GMTTimestamp), string(ev.GMTOffset)
	if gmt != "" {
		at, err := tracking.ParseMoment(gmt, tracking.Location{})
		if err == nil && at.ZoneSource != tracking.ZoneFromOffset {
			// GMTTimestamp is UTC by definition even when USPS leaves
			// the Z off.
			at, err = tracking.ParseMoment(gmt+"Z", tracking.Location{})
		}
		if err != nil {
			return tracking.Moment{}, fmt.Errorf("GMTTimestamp: %w", err)
		}
		if local == "" {
			local = gmt
		}
		return tracking.PlaceLocal(local, at.At, offset), nil
	}
	if local == "" {
		return tracking.Moment{}, errors.New("no eventTimestamp or GMTTimestamp")
	}
	if off, ok := normOffset(offset); ok {
		// eventTimestamp is documented as local: a trailing Z on it is a
		// serializer's habit, not UTC, when GMTOffset says otherwise.
		wall := strings.TrimSuffix(strings.TrimSuffix(local, "Z"), "z")
		if m, err := tracking.ParseMoment(wall+off, where); err == nil {
			m.Local = local
			return m, nil
		}
	}
	m, err := tracking.ParseMoment(local, where)
	if err != nil {
		return tracking.Moment{}, fmt.Errorf("eventTimestamp: %w", err)
	}
	return m, nil
}

// normOffset writes USPS's GMTOffset ("-05:00", "-5:00", "-0500", "-5")
// as "-05:00" for appending to a wall-clock time.
func normOffset(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return "", false
	}
	sign, rest := s[:1], s[1:]
	hh, mm, found := strings.Cut(rest, ":")
	if !found {
		switch len(rest) {
		case 4:
			hh, mm = rest[:2], rest[2:]
		case 1, 2:
			hh, mm = rest, "00"
		default:
			return "", false
		}
	}
	if len(hh) == 1 {
		hh = "0" + hh
	}
	if len(hh) != 2 || len(mm) != 2 || !digits(hh) || !digits(mm) || hh > "14" || mm > "59" {
		return "", false
	}
	return sign + hh + ":" + mm, true
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// summaryEvents maps the TrackSummary/TrackDetail shape: TrackSummary is
// the newest event, TrackDetail the older ones. An entry repeating the
// summary is skipped.
func summaryEvents(base tracking.Event, summary, detail events) ([]tracking.Event, error) {
	var out []tracking.Event
	seen := map[trackEvent]bool{}
	for i, rawEv := range append(append(events{}, summary...), detail...) {
		var ev trackEvent
		if err := json.Unmarshal(rawEv, &ev); err != nil {
			return nil, fmt.Errorf("TrackSummary/TrackDetail[%d]: %v", i, err)
		}
		if ev.Event == "" && ev.EventCode == "" && ev.EventDate == "" {
			continue // an empty placeholder, not a scan
		}
		if seen[ev] {
			continue
		}
		seen[ev] = true
		where := tracking.Location{
			City: string(ev.EventCity), State: string(ev.EventState),
			PostalCode: string(ev.EventZIPCode), Country: tracking.CountryCode(string(ev.EventCountry)),
		}
		at, err := tracking.ParseUSPSMoment(string(ev.EventDate), string(ev.EventTime), where)
		if err != nil {
			return nil, fmt.Errorf("event %q: %w", string(ev.Event), err)
		}
		out = append(out, newEvent(base, string(ev.EventCode), string(ev.Event), where, at))
	}
	return out, nil
}

func newEvent(base tracking.Event, code, text string, where tracking.Location, at tracking.Moment) tracking.Event {
	m := classify(code, text)
	e := base
	e.Status, e.Substatus = m.status, m.substatus
	e.CarrierStatus = code
	if code == "" {
		e.CarrierStatus = text
	}
	e.Message = text
	e.Location = where
	e.SetMoment(at)
	return e
}

// estimatedDelivery is USPS's expected delivery, else its prediction, as
// given ("2024-11-22T00:00:00" or "2024-11-22").
func estimatedDelivery(r response) string {
	for _, s := range []text{r.ExpectedDeliveryTimeStamp, r.ExpectedDeliveryDate, r.PredictedDeliveryTimeStamp, r.PredictedDeliveryDate} {
		if s != "" {
			return string(s)
		}
	}
	return ""
}
