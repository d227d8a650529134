package tracking

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrBadTime classifies a carrier timestamp no known format reads.
var ErrBadTime = errors.New("tracking: unreadable carrier time")

// Formats carriers use (Wineshipping's note: "YYYY-MM-DD",
// "YYYY-MM-DDTHH:MM:SS", "YYYY-MM-DDTHH:MM:SS+TIMEZONE"; Carriyo and SwiftPOD
// send RFC 3339 with Z and fractions; USPS v3 sends local time with no offset).
var (
	zonedLayouts = []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05Z0700", // +0500 without the colon
		"2006-01-02 15:04:05Z07:00",
		"2006-01-02T15:04Z07:00",
	}
	localLayouts = []string{
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04",
		"2006-01-02 15:04",
	}
	dateLayouts = []string{"2006-01-02", "20060102"}
)

// minYear and maxYear bound what a carrier can plausibly mean: year 0 or
// 9999 is a broken feed, not a parcel, and would poison "latest wins".
const (
	minYear = 1990
	maxYear = 2200
)

// ParseMoment reads a carrier timestamp. A time with an offset or Z is exact
// (zone source "offset"). A time without one is the carrier's local wall
// clock at the event's location: its zone is inferred from the location
// (ZIP, then state, then country, then UTC) and the result says so. A bare
// date has day precision and is placed at local midnight.
func ParseMoment(text string, where Location) (Moment, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return Moment{}, fmt.Errorf("%w: empty", ErrBadTime)
	}
	for _, layout := range zonedLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			_, off := t.Zone()
			return checkYear(Moment{
				At: t.UTC(), Precision: PrecisionSecond, Local: s,
				Zone: offsetName(off), ZoneSource: ZoneFromOffset,
			})
		}
	}
	loc, zone, src := InferZone(where)
	for _, layout := range localLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return checkYear(Moment{
				At: t.UTC(), Precision: PrecisionSecond, Local: s,
				Zone: zone, ZoneSource: src, Inferred: src != ZoneFromUTC,
			})
		}
	}
	for _, layout := range dateLayouts {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return checkYear(Moment{
				At: t.UTC(), Precision: PrecisionDay, Local: s,
				Zone: zone, ZoneSource: src, Inferred: src != ZoneFromUTC,
			})
		}
	}
	return Moment{}, fmt.Errorf("%w: %q", ErrBadTime, s)
}

// ParseUSPSMoment reads the USPS TrackDetail pair EventDate "October 20, 2025"
// and EventTime "8:00 am" (either may be empty time: then day precision). USPS
// gives no zone; it is inferred from the event's location.
func ParseUSPSMoment(date, clock string, where Location) (Moment, error) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(clock)
	if date == "" {
		return Moment{}, fmt.Errorf("%w: USPS event without EventDate", ErrBadTime)
	}
	loc, zone, src := InferZone(where)
	local := date
	if clock != "" {
		local = date + " " + clock
	}
	m := Moment{Local: local, Zone: zone, ZoneSource: src, Inferred: src != ZoneFromUTC}
	if clock == "" {
		t, err := time.ParseInLocation("January 2, 2006", date, loc)
		if err != nil {
			return Moment{}, fmt.Errorf("%w: USPS date %q", ErrBadTime, date)
		}
		m.At, m.Precision = t.UTC(), PrecisionDay
		return checkYear(m)
	}
	clock = strings.ToUpper(strings.ReplaceAll(clock, ".", ""))
	for _, layout := range []string{"January 2, 2006 3:04 PM", "January 2, 2006 3:04PM", "January 2, 2006 15:04"} {
		if t, err := time.ParseInLocation(layout, date+" "+clock, loc); err == nil {
			m.At, m.Precision = t.UTC(), PrecisionSecond
			return checkYear(m)
		}
	}
	return Moment{}, fmt.Errorf("%w: USPS date %q time %q", ErrBadTime, date, clock)
}

// PlaceLocal combines a carrier's local wall-clock text with an exact UTC
// instant the carrier also gave (USPS eventTimestamp + GMTTimestamp): the
// instant orders the event, the local text and its offset are kept for
// display. utcOffset, when given ("-05:00"), names the zone.
func PlaceLocal(local string, at time.Time, utcOffset string) Moment {
	zone := strings.TrimSpace(utcOffset)
	if zone == "" {
		zone = "UTC"
	}
	return Moment{
		At: at.UTC(), Precision: PrecisionSecond, Local: strings.TrimSpace(local),
		Zone: zone, ZoneSource: ZoneFromOffset,
	}
}

func checkYear(m Moment) (Moment, error) {
	if y := m.At.Year(); y < minYear || y > maxYear {
		return Moment{}, fmt.Errorf("%w: year %d out of range %d-%d", ErrBadTime, y, minYear, maxYear)
	}
	return m, nil
}

// offsetName renders a UTC offset in seconds as "Z" or "+05:30".
func offsetName(off int) string {
	if off == 0 {
		return "Z"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}
