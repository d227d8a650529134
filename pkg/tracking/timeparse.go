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
// send RFC 3339 with Z and fractions; USPS v3 sends local time with no
// offset). They are matched after canonicalTime has upper-cased the text,
// made the date/time separator a 'T' and removed spaces and a "UTC"/"GMT"
// word, so one layout covers "2023-07-20 15:00:15 -0500" and
// "2023-07-20t15:00:15-05:00". Parsing accepts a fraction of a second
// after the seconds ("13:24:00.128774", also with a comma) whether or not
// the layout shows one.
var (
	zonedLayouts = []string{
		"2006-01-02T15:04:05Z07:00", // RFC 3339 (Go's fast path), Z or +05:30
		"2006-01-02T15:04:05Z0700",  // +0530
		"2006-01-02T15:04:05Z07",    // +05
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04Z0700",
		"2006-01-02T15:04Z07",
	}
	localLayouts = []string{"2006-01-02T15:04:05", "2006-01-02T15:04"}
	dateLayouts  = []string{"2006-01-02", "20060102"}

	uspsDateLayouts = []string{
		"January 2, 2006", "Jan 2, 2006", "January 2 2006", "Jan 2 2006",
		"1/2/2006", "2006-01-02",
	}
	uspsClock12 = []string{"3:04 PM", "3:04:05 PM", "3 PM"}
	uspsClock24 = []string{"15:04", "15:04:05"}
)

// minYear and maxYear bound what a carrier can plausibly mean: year 0 or
// 9999 is a broken feed or a "no date" sentinel (0001-01-01 from .NET or
// Go zero values), not a parcel, and would poison "latest wins". The bound
// applies to the UTC instant.
const (
	minYear = 1990
	maxYear = 2200
)

// ParseMoment reads a carrier timestamp. Surrounding and repeated spaces
// are ignored, and case does not matter.
//
// A time with an offset, Z or "UTC" is exact (zone source "offset"; Zone is
// the offset as "+05:30", or "UTC" for a zero offset). A time without one
// is the carrier's local wall clock at the event's location: its zone comes
// from InferZone (ZIP, state, country, then UTC) and Inferred says it was
// not given. A bare date ("2023-07-24" or "20230724") has day precision and
// is placed at local midnight.
//
// A local time that a DST change makes ambiguous is read with the offset in
// force before the change: in the fall-back hour that repeats (01:30 in New
// York on the first Sunday of November) it is the first, earlier instant
// (05:30Z, EDT); in the spring-forward gap that never happens (02:30 on the
// second Sunday of March) it is the clock not yet moved forward (07:30Z,
// i.e. 03:30 EDT), so a scan never moves before the scans that preceded it
// on the same clock. Go's time.Date leaves that choice unspecified (it
// differs between zones east and west of UTC); placeWall fixes it.
//
// Errors wrap ErrBadTime: empty text, no known format, or a year outside
// 1990-2200 in UTC.
func ParseMoment(text string, where Location) (Moment, error) {
	local := strings.TrimSpace(text)
	if local == "" {
		return Moment{}, fmt.Errorf("%w: empty", ErrBadTime)
	}
	s := canonicalTime(local)
	if len(s) > 10 && s[10] == 'T' {
		if strings.ContainsAny(s[11:], "Z+-") {
			for _, layout := range zonedLayouts {
				if t, err := time.Parse(layout, s); err == nil {
					_, off := t.Zone()
					return checkYear(Moment{
						At: t.UTC(), Precision: PrecisionSecond, Local: local,
						Zone: offsetName(off), ZoneSource: ZoneFromOffset,
					})
				}
			}
		} else {
			for _, layout := range localLayouts {
				if t, err := time.Parse(layout, s); err == nil {
					return placeLocal(t, PrecisionSecond, local, where)
				}
			}
		}
	} else {
		for _, layout := range dateLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				return placeLocal(t, PrecisionDay, local, where)
			}
		}
	}
	return Moment{}, fmt.Errorf("%w: %q", ErrBadTime, local)
}

// ParseUSPSMoment reads the USPS TrackDetail pair EventDate "October 20, 2025"
// and EventTime "8:00 am". The date may also be "Oct 20, 2025", "10/20/2025"
// or "2025-10-20"; the time "8:00 am", "8:00 a.m.", "8:00AM", "08:00:15 pm"
// or "20:00". "12:00 am" is midnight and "12:00 pm" noon. An empty time
// gives day precision at local midnight. USPS gives no zone: it is inferred
// from the event's location as in ParseMoment, with the same DST rule.
//
// Errors wrap ErrBadTime: no date, an unreadable date or time, or a year
// outside 1990-2200.
func ParseUSPSMoment(date, clock string, where Location) (Moment, error) {
	date, clock = strings.TrimSpace(date), strings.TrimSpace(clock)
	if date == "" {
		return Moment{}, fmt.Errorf("%w: USPS event without EventDate", ErrBadTime)
	}
	local := date
	if clock != "" {
		local = date + " " + clock
	}
	day, ok := parseUSPSDate(date)
	if !ok {
		return Moment{}, fmt.Errorf("%w: USPS date %q", ErrBadTime, date)
	}
	if clock == "" {
		return placeLocal(day, PrecisionDay, local, where)
	}
	c, ok := parseUSPSClock(clock)
	if !ok {
		return Moment{}, fmt.Errorf("%w: USPS date %q time %q", ErrBadTime, date, clock)
	}
	wall := time.Date(day.Year(), day.Month(), day.Day(), c.Hour(), c.Minute(), c.Second(), 0, time.UTC)
	return placeLocal(wall, PrecisionSecond, local, where)
}

// PlaceLocal combines a carrier's local wall-clock text with an exact
// instant the carrier also gave (USPS eventTimestamp + GMTTimestamp): the
// instant orders the event, the local text is kept for display and the
// zone names its offset. The zone is utcOffset when it reads ("-05:00",
// "-5:00" as USPS writes it, "-0500", "-5", "UTC-5", "Z"), else the offset
// the local text carries, else the difference between the local text and
// the instant rounded to a quarter hour (USPS's two fields can differ in
// their seconds), else "UTC". A zero offset is named "UTC".
//
// at must be a real instant: parse the provider's UTC field with
// ParseMoment, which rejects zero and out-of-range years, before calling.
func PlaceLocal(local string, at time.Time, utcOffset string) Moment {
	local = strings.TrimSpace(local)
	m := Moment{
		At: at.UTC(), Precision: PrecisionSecond, Local: local,
		Zone: "UTC", ZoneSource: ZoneFromOffset,
	}
	if off, ok := parseOffset(utcOffset); ok {
		m.Zone = offsetName(off)
	} else if off, ok := localOffset(local, at); ok {
		m.Zone = offsetName(off)
	}
	return m
}

// placeLocal puts a wall-clock reading (wall's fields, read as if in UTC)
// in the zone inferred from where.
func placeLocal(wall time.Time, p Precision, local string, where Location) (Moment, error) {
	loc, zone, src := InferZone(where)
	return checkYear(Moment{
		At: placeWall(wall, loc).UTC(), Precision: p, Local: local,
		Zone: zone, ZoneSource: src, Inferred: true,
	})
}

// placeWall returns the instant at which clocks in loc show wall's date and
// time of day (wall's own location is ignored). Where a DST change makes
// that ambiguous it uses the offset in force before the change: the earlier
// instant in a repeated hour, the not-yet-advanced clock in a skipped one.
// The offsets before and after a change are sampled a day either side of
// the reading, which is wider than any UTC offset, so one change in that
// window is always seen.
func placeWall(wall time.Time, loc *time.Location) time.Time {
	y, mo, d := wall.Date()
	h, mi, s := wall.Clock()
	ns := wall.Nanosecond()
	t := time.Date(y, mo, d, h, mi, s, ns, loc)
	if loc == time.UTC {
		return t
	}
	w := time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	_, before := w.Add(-24 * time.Hour).In(loc).Zone()
	_, after := w.Add(24 * time.Hour).In(loc).Zone()
	if before == after {
		return t // no change nearby: time.Date is exact
	}
	first := w.Add(-time.Duration(before) * time.Second) // read with the old offset
	if _, off := first.In(loc).Zone(); off == before {
		return first.In(loc) // before the change, or the first of a repeated hour
	}
	second := w.Add(-time.Duration(after) * time.Second)
	if _, off := second.In(loc).Zone(); off == after {
		return second.In(loc) // after the change
	}
	return first.In(loc) // in the gap: the clock not yet moved forward
}

// canonicalTime upper-cases s, collapses its spaces, makes the date/time
// separator a 'T', drops the spaces after it ("15:00:15 -0500") and turns
// a trailing "UTC"/"GMT" into "Z" (or drops it before an offset:
// "GMT-05:00").
func canonicalTime(s string) string {
	s = strings.Join(strings.Fields(strings.ToUpper(s)), " ")
	if len(s) <= 10 || (s[10] != ' ' && s[10] != 'T') {
		return s
	}
	tail := strings.ReplaceAll(s[11:], " ", "")
	for _, word := range []string{"UTC", "GMT"} {
		if i := strings.LastIndex(tail, word); i >= 0 {
			if rest := tail[i+len(word):]; rest == "" {
				tail = tail[:i] + "Z"
			} else if rest[0] == '+' || rest[0] == '-' {
				tail = tail[:i] + rest
			}
			break
		}
	}
	return s[:10] + "T" + tail
}

// parseUSPSDate reads EventDate. Periods are dropped ("Oct. 20") and
// "Sept" read as "Sep"; a comma may lack its space ("October 20,2025").
func parseUSPSDate(s string) (time.Time, bool) {
	s = strings.ReplaceAll(strings.ReplaceAll(s, ".", " "), ",", ", ")
	f := strings.Fields(s)
	if len(f) > 0 && strings.EqualFold(f[0], "sept") {
		f[0] = "Sep"
	}
	s = strings.Join(f, " ")
	s = strings.ReplaceAll(s, " ,", ",")
	for _, layout := range uspsDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseUSPSClock reads EventTime: "8:00 am", "8:00 a.m.", "8:00AM",
// "08:00:15 PM", "8 pm" or 24-hour "20:00".
func parseUSPSClock(s string) (time.Time, bool) {
	s = strings.Join(strings.Fields(strings.ToUpper(strings.ReplaceAll(s, ".", ""))), " ")
	layouts := uspsClock24
	if strings.HasSuffix(s, "AM") || strings.HasSuffix(s, "PM") {
		if n := len(s); n > 2 && s[n-3] != ' ' {
			s = s[:n-2] + " " + s[n-2:]
		}
		layouts = uspsClock12
	}
	for _, layout := range layouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseOffset reads a UTC offset: "-05:00", "-5:00", "-0500", "-05", "-5",
// "+05:30", "UTC-5", "GMT+05:30", or "Z"/"UTC"/"GMT" for zero. Hours run to
// 14 (Kiribati), minutes to 59.
func parseOffset(s string) (int, bool) {
	s = strings.ToUpper(strings.Join(strings.Fields(s), ""))
	for _, p := range []string{"UTC", "GMT"} {
		if rest, ok := strings.CutPrefix(s, p); ok {
			if rest == "" {
				return 0, true
			}
			s = rest
			break
		}
	}
	switch s {
	case "Z", "0", "00:00", "+00:00", "-00:00":
		return 0, true
	}
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign, s := s[0], s[1:]
	var hh, mm string
	switch i := strings.IndexByte(s, ':'); {
	case i >= 0:
		hh, mm = s[:i], s[i+1:]
		if len(mm) != 2 {
			return 0, false
		}
	case len(s) == 4:
		hh, mm = s[:2], s[2:]
	default:
		hh = s
	}
	if len(hh) == 0 || len(hh) > 2 {
		return 0, false
	}
	h, ok := digits(hh)
	if !ok || h > 14 {
		return 0, false
	}
	m := 0
	if mm != "" {
		if m, ok = digits(mm); !ok || m > 59 {
			return 0, false
		}
	}
	off := h*3600 + m*60
	if sign == '-' {
		off = -off
	}
	return off, true
}

// localOffset is the UTC offset the local text shows for instant at: its
// own offset if it has one, else local minus at rounded to a quarter hour
// when within two minutes of one and no more than 14 hours.
func localOffset(local string, at time.Time) (int, bool) {
	s := canonicalTime(local)
	if len(s) <= 10 || s[10] != 'T' {
		return 0, false
	}
	if strings.ContainsAny(s[11:], "Z+-") {
		for _, layout := range zonedLayouts {
			if t, err := time.Parse(layout, s); err == nil {
				_, off := t.Zone()
				return off, true
			}
		}
		return 0, false
	}
	for _, layout := range localLayouts {
		t, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		diff := t.Sub(at.UTC())
		q := diff.Round(15 * time.Minute)
		if r := diff - q; r < -2*time.Minute || r > 2*time.Minute || q < -14*time.Hour || q > 14*time.Hour {
			return 0, false
		}
		return int(q / time.Second), true
	}
	return 0, false
}

func checkYear(m Moment) (Moment, error) {
	if y := m.At.Year(); y < minYear || y > maxYear {
		return Moment{}, fmt.Errorf("%w: year %d out of range %d-%d", ErrBadTime, y, minYear, maxYear)
	}
	return m, nil
}

// offsetName renders a UTC offset in seconds as "UTC" or "+05:30". A zero
// offset is named "UTC" like the zone InferZone falls back to, whether the
// carrier wrote "Z" or "+00:00".
func offsetName(off int) string {
	if off == 0 {
		return "UTC"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off%3600/60)
}
