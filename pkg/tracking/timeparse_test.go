package tracking_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Locations of the seed documents and of the DST cases.
var (
	belleairFL = tracking.Location{City: "Belleair", State: "FL", PostalCode: "33756-1925", Country: "United States"}
	portsmouth = tracking.Location{City: "PORTSMOUTH", State: "NH", PostalCode: "03801"}
	nhOnly     = tracking.Location{City: "PORTSMOUTH", State: "NH"}
	newYork    = tracking.Location{City: "NEW YORK", State: "NY", PostalCode: "10001", Country: "US"}
	germany    = tracking.Location{Country: "DEU"}
	sydney     = tracking.Location{State: "NSW", Country: "Australia"}
	chile      = tracking.Location{Country: "Chile"}
	cuba       = tracking.Location{Country: "CU"}
	dubai      = tracking.Location{City: "Dubai", Country: "UAE"}
	nowhere    = tracking.Location{}
)

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return at.UTC()
}

type momentCase struct {
	name     string
	text     string // ParseMoment text, or USPS date
	clock    string // USPS time
	where    tracking.Location
	at       string // expected instant, RFC 3339 UTC
	prec     tracking.Precision
	zone     string
	src      tracking.ZoneSource
	inferred bool
}

func checkMoment(t *testing.T, tt momentCase, m tracking.Moment, err error, local string) {
	t.Helper()
	if err != nil {
		t.Fatalf("error %v", err)
	}
	want := tracking.Moment{
		At: utc(t, tt.at), Precision: tt.prec, Local: local,
		Zone: tt.zone, ZoneSource: tt.src, Inferred: tt.inferred,
	}
	if !m.At.Equal(want.At) || m.At.Location() != time.UTC {
		t.Errorf("At = %v, want %v (in UTC)", m.At, want.At)
	}
	m.At = want.At
	if m != want {
		t.Errorf("got  %+v\nwant %+v", m, want)
	}
}

func TestParseMoment(t *testing.T) {
	const (
		sec = tracking.PrecisionSecond
		day = tracking.PrecisionDay
		off = tracking.ZoneFromOffset
	)
	tests := []momentCase{
		// Wineshipping (AfterShip): offset, bare date, local time.
		{"wineshipping checkpoint", "2023-07-20T15:00:15-05:00", "", belleairFL, "2023-07-20T20:00:15Z", sec, "-05:00", off, false},
		{"wineshipping EDT", "2023-07-21T14:59:00-04:00", "", nowhere, "2023-07-21T18:59:00Z", sec, "-04:00", off, false},
		{"wineshipping created_at", "2023-07-20T20:00:16+00:00", "", belleairFL, "2023-07-20T20:00:16Z", sec, "UTC", off, false},
		{"wineshipping date", "2023-07-24", "", belleairFL, "2023-07-24T04:00:00Z", day, "America/New_York", tracking.ZoneFromZIP, true},
		{"wineshipping local", "2023-07-20T15:00:15", "", belleairFL, "2023-07-20T19:00:15Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"wineshipping local, Pensacola", "2023-07-20T15:00:15", "", tracking.Location{PostalCode: "32501", State: "FL"}, "2023-07-20T20:00:15Z", sec, "America/Chicago", tracking.ZoneFromZIP, true},
		{"wineshipping local, state only", "2023-07-20T15:00:15", "", tracking.Location{State: "FL"}, "2023-07-20T19:00:15Z", sec, "America/New_York", tracking.ZoneFromState, true},
		{"wineshipping local, US only", "2023-07-20T15:00:15", "", tracking.Location{Country: "USA"}, "2023-07-20T20:00:15Z", sec, "America/Chicago", tracking.ZoneFromCountry, true},
		{"wineshipping compact ship date", "20230720", "", nowhere, "2023-07-20T00:00:00Z", day, "UTC", tracking.ZoneFromUTC, true},
		{"local, nowhere", "2023-07-20T15:00:15", "", nowhere, "2023-07-20T15:00:15Z", sec, "UTC", tracking.ZoneFromUTC, true},

		// Carriyo and SwiftPOD: RFC 3339 with Z and fractions.
		{"carriyo", "2026-05-08T14:28:14Z", "", dubai, "2026-05-08T14:28:14Z", sec, "UTC", off, false},
		{"swiftpod micros", "2022-07-08T13:24:00.128774Z", "", nowhere, "2022-07-08T13:24:00.128774Z", sec, "UTC", off, false},
		{"swiftpod +00:00", "2022-07-21T10:53:46.000000+00:00", "", nowhere, "2022-07-21T10:53:46Z", sec, "UTC", off, false},

		// USPS v3 eventTimestamp (local) and GMTTimestamp.
		{"usps v3 eventTimestamp", "2024-01-15T10:30:00", "", newYork, "2024-01-15T15:30:00Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"usps v3 GMTTimestamp", "2024-01-15T15:30:00Z", "", newYork, "2024-01-15T15:30:00Z", sec, "UTC", off, false},
		{"usps v3 GMTTimestamp millis", "2024-04-04T14:03:12.041Z", "", newYork, "2024-04-04T14:03:12.041Z", sec, "UTC", off, false},

		// Other spellings of the same formats.
		{"space separator and offset", "2023-07-20 15:00:15 -05:00", "", nowhere, "2023-07-20T20:00:15Z", sec, "-05:00", off, false},
		{"offset without colon", "2023-07-20T15:00:15+0530", "", nowhere, "2023-07-20T09:30:15Z", sec, "+05:30", off, false},
		{"hour offset", "2023-07-20T15:00:15+04", "", nowhere, "2023-07-20T11:00:15Z", sec, "+04:00", off, false},
		{"no seconds", "2023-07-20T15:00-05:00", "", nowhere, "2023-07-20T20:00:00Z", sec, "-05:00", off, false},
		{"no seconds Z", "2023-07-20T15:00Z", "", nowhere, "2023-07-20T15:00:00Z", sec, "UTC", off, false},
		{"lower case", "2023-07-20t15:00:15z", "", nowhere, "2023-07-20T15:00:15Z", sec, "UTC", off, false},
		{"UTC word", "2023-07-20 15:00:15 UTC", "", nowhere, "2023-07-20T15:00:15Z", sec, "UTC", off, false},
		{"GMT offset", "2023-07-20 15:00:15 GMT+04:00", "", nowhere, "2023-07-20T11:00:15Z", sec, "+04:00", off, false},
		{"comma fraction", "2023-07-20T15:00:15,5Z", "", nowhere, "2023-07-20T15:00:15.5Z", sec, "UTC", off, false},
		{"nanoseconds", "2023-07-20T15:00:15.123456789-05:00", "", nowhere, "2023-07-20T20:00:15.123456789Z", sec, "-05:00", off, false},
		{"whitespace", " \t2026-05-08T14:28:14Z\n", "", nowhere, "2026-05-08T14:28:14Z", sec, "UTC", off, false},
		{"inner whitespace", "2023-07-20   15:00:15", "", belleairFL, "2023-07-20T19:00:15Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"local no seconds", "2023-07-20T15:00", "", belleairFL, "2023-07-20T19:00:00Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"local fraction", "2023-07-20T15:00:15.25", "", belleairFL, "2023-07-20T19:00:15.25Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"date with spaces", "  2023-07-24 ", "", dubai, "2023-07-23T20:00:00Z", day, "Asia/Dubai", tracking.ZoneFromCountry, true},

		// Year bounds are inclusive.
		{"first year", "1990-01-01T00:00:00Z", "", nowhere, "1990-01-01T00:00:00Z", sec, "UTC", off, false},
		{"last year", "2200-12-31T23:59:59Z", "", nowhere, "2200-12-31T23:59:59Z", sec, "UTC", off, false},

		// DST: a local time in the spring-forward gap reads with the offset
		// before the change (the clock not yet moved forward)...
		{"NY gap", "2025-03-09T02:30:00", "", newYork, "2025-03-09T07:30:00Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"NY before gap", "2025-03-09T01:59:59", "", newYork, "2025-03-09T06:59:59Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"NY after gap", "2025-03-09T03:00:00", "", newYork, "2025-03-09T07:00:00Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"Berlin gap", "2025-03-30T02:30:00", "", germany, "2025-03-30T01:30:00Z", sec, "Europe/Berlin", tracking.ZoneFromCountry, true},
		{"Sydney gap", "2025-10-05T02:30:00", "", sydney, "2025-10-04T16:30:00Z", sec, "Australia/Sydney", tracking.ZoneFromState, true},
		// ...and in the repeated fall-back hour as its first occurrence,
		// east and west of UTC alike (Go's time.Date differs between them).
		{"NY overlap", "2025-11-02T01:30:00", "", newYork, "2025-11-02T05:30:00Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"NY before overlap", "2025-11-02T00:59:59", "", newYork, "2025-11-02T04:59:59Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"NY after overlap", "2025-11-02T02:00:00", "", newYork, "2025-11-02T07:00:00Z", sec, "America/New_York", tracking.ZoneFromZIP, true},
		{"Berlin overlap", "2025-10-26T02:30:00", "", germany, "2025-10-26T00:30:00Z", sec, "Europe/Berlin", tracking.ZoneFromCountry, true},
		{"Sydney overlap", "2025-04-06T02:30:00", "", sydney, "2025-04-05T15:30:00Z", sec, "Australia/Sydney", tracking.ZoneFromState, true},
		// A date whose midnight is skipped stays on its own day (Go's
		// time.Date would put it at 23:00 the day before).
		{"Santiago midnight gap", "2025-09-07", "", chile, "2025-09-07T04:00:00Z", day, "America/Santiago", tracking.ZoneFromCountry, true},
		{"Havana midnight gap", "2025-03-09T00:30:00", "", cuba, "2025-03-09T05:30:00Z", sec, "America/Havana", tracking.ZoneFromCountry, true},
		{"Santiago midnight overlap", "2025-04-06", "", chile, "2025-04-06T04:00:00Z", day, "America/Santiago", tracking.ZoneFromCountry, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tracking.ParseMoment(tt.text, tt.where)
			checkMoment(t, tt, m, err, strings.TrimSpace(tt.text))
		})
	}
}

func TestParseMomentErrors(t *testing.T) {
	for _, text := range []string{
		"", "   ", "not a time", "15:00", "2023", "2023-07", "2023-7-20",
		"2023-13-01", "2023-02-30", "2023-07-20T25:00:00Z", "2023-07-20T15:60:00Z",
		"2023-07-20T15:00:60Z", "2023-07-20T", "2023-07-20T15:00:15+99:00",
		"2023-07-20T15:00:15 EST", "2023-07-20T15:00:15Z junk", "1690038623",
		"2023-07-20T15:00:15-05:00:00",
		// Year bounds: sentinels and broken feeds.
		"0000-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01", "00000101",
		"0000-01-01T00:00:00", "9999-12-31T23:59:59Z", "9999-12-31", "9999-12-31T23:59:59",
		"1989-12-31T23:59:59Z", "2201-01-01T00:00:00Z", "1990-01-01T00:00:00+01:00",
	} {
		m, err := tracking.ParseMoment(text, belleairFL)
		if !errors.Is(err, tracking.ErrBadTime) {
			t.Errorf("ParseMoment(%q) = %+v, %v; want an error wrapping ErrBadTime", text, m, err)
		}
		if m != (tracking.Moment{}) {
			t.Errorf("ParseMoment(%q) returned %+v with its error", text, m)
		}
	}
}

func TestParseUSPSMoment(t *testing.T) {
	const (
		sec = tracking.PrecisionSecond
		day = tracking.PrecisionDay
		zip = tracking.ZoneFromZIP
	)
	tests := []momentCase{
		// The Tenovi seed: Portsmouth NH, October 2025 (EDT, UTC-4).
		{"summary", "October 20, 2025", "8:00 am", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"detail", "October 20, 2025", "6:14 am", nhOnly, "2025-10-20T10:14:00Z", sec, "America/New_York", tracking.ZoneFromState, true},
		{"late evening is the next UTC day", "October 19, 2025", "11:52 pm", nhOnly, "2025-10-20T03:52:00Z", sec, "America/New_York", tracking.ZoneFromState, true},
		{"midnight", "October 20, 2025", "12:00 am", portsmouth, "2025-10-20T04:00:00Z", sec, "America/New_York", zip, true},
		{"noon", "October 20, 2025", "12:00 pm", portsmouth, "2025-10-20T16:00:00Z", sec, "America/New_York", zip, true},
		{"12:30 am", "October 20, 2025", "12:30 am", portsmouth, "2025-10-20T04:30:00Z", sec, "America/New_York", zip, true},
		{"12:59 pm", "October 20, 2025", "12:59 pm", portsmouth, "2025-10-20T16:59:00Z", sec, "America/New_York", zip, true},
		{"1:00 pm", "October 20, 2025", "1:00 pm", portsmouth, "2025-10-20T17:00:00Z", sec, "America/New_York", zip, true},
		{"date only", "October 20, 2025", "", portsmouth, "2025-10-20T04:00:00Z", day, "America/New_York", zip, true},
		{"winter is EST", "January 15, 2024", "10:30 am", portsmouth, "2024-01-15T15:30:00Z", sec, "America/New_York", zip, true},
		{"El Paso", "January 15, 2024", "10:30 am", tracking.Location{PostalCode: "79901", State: "TX"}, "2024-01-15T17:30:00Z", sec, "America/Denver", zip, true},
		{"nowhere", "October 20, 2025", "8:00 am", nowhere, "2025-10-20T08:00:00Z", sec, "UTC", tracking.ZoneFromUTC, true},

		// Spellings.
		{"upper case", "OCTOBER 20, 2025", "8:00 AM", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"no space before am", "October 20, 2025", "8:00am", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"a.m.", "October 20, 2025", "8:00 a.m.", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"p.m.", "October 20, 2025", "8:00 P.M.", portsmouth, "2025-10-21T00:00:00Z", sec, "America/New_York", zip, true},
		{"padded hour", "October 20, 2025", "08:05 pm", portsmouth, "2025-10-21T00:05:00Z", sec, "America/New_York", zip, true},
		{"seconds", "October 20, 2025", "8:00:15 am", portsmouth, "2025-10-20T12:00:15Z", sec, "America/New_York", zip, true},
		{"hour only", "October 20, 2025", "8 pm", portsmouth, "2025-10-21T00:00:00Z", sec, "America/New_York", zip, true},
		{"24-hour", "October 20, 2025", "20:00", portsmouth, "2025-10-21T00:00:00Z", sec, "America/New_York", zip, true},
		{"whitespace", "  October  20,2025 ", "  8:00   am ", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"abbreviated month", "Oct 20, 2025", "8:00 am", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"abbreviated with period", "Oct. 20, 2025", "8:00 am", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"Sept", "Sept 5, 2025", "8:00 am", portsmouth, "2025-09-05T12:00:00Z", sec, "America/New_York", zip, true},
		{"no comma", "October 20 2025", "8:00 am", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},
		{"slashes (TrackSummary)", "06/17/2022", "6:10 am", tracking.Location{PostalCode: "22032"}, "2022-06-17T10:10:00Z", sec, "America/New_York", zip, true},
		{"ISO date", "2025-10-20", "8:00 am", portsmouth, "2025-10-20T12:00:00Z", sec, "America/New_York", zip, true},

		// DST, as in ParseMoment.
		{"gap", "March 9, 2025", "2:30 am", portsmouth, "2025-03-09T07:30:00Z", sec, "America/New_York", zip, true},
		{"overlap", "November 2, 2025", "1:30 am", portsmouth, "2025-11-02T05:30:00Z", sec, "America/New_York", zip, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := tracking.ParseUSPSMoment(tt.text, tt.clock, tt.where)
			local := strings.TrimSpace(tt.text)
			if c := strings.TrimSpace(tt.clock); c != "" {
				local += " " + c
			}
			checkMoment(t, tt, m, err, local)
		})
	}
}

func TestParseUSPSMomentErrors(t *testing.T) {
	for _, tt := range []struct{ date, clock string }{
		{"", "8:00 am"}, {"  ", ""}, {"October 32, 2025", "8:00 am"}, {"Octember 20, 2025", ""},
		{"February 29, 2025", ""}, {"20/10/2025", ""}, {"October 20, 2025", "13:00 pm"},
		{"October 20, 2025", "25:00"}, {"October 20, 2025", "noon"}, {"October 20, 2025", "8:61 am"},
		{"October 20, 2025", "am"}, {"October 20, 2025", "8:00 xm"},
		{"January 1, 0000", "8:00 am"}, {"December 31, 9999", ""}, {"January 1, 0001", ""},
		{"December 31, 1989", "6:00 pm"}, // 23:00Z: the bound is on the UTC instant
	} {
		m, err := tracking.ParseUSPSMoment(tt.date, tt.clock, portsmouth)
		if !errors.Is(err, tracking.ErrBadTime) {
			t.Errorf("ParseUSPSMoment(%q, %q) = %+v, %v; want an error wrapping ErrBadTime", tt.date, tt.clock, m, err)
		}
	}
}

func TestPlaceLocal(t *testing.T) {
	gmt := "2024-01-15T15:30:00Z"
	tests := []struct {
		name, local, at, offset, zone string
	}{
		{"usps v3", "2024-01-15T10:30:00", gmt, "-05:00", "-05:00"},
		{"usps single-digit hour", "2024-01-15T10:30:00", gmt, "-5:00", "-05:00"},
		{"no colon", "2024-01-15T10:30:00", gmt, "-0500", "-05:00"},
		{"hours only", "2024-01-15T10:30:00", gmt, "-5", "-05:00"},
		{"UTC prefix", "2024-01-15T10:30:00", gmt, "UTC-05:00", "-05:00"},
		{"half hour", "2024-01-15T21:00:00", gmt, "+5:30", "+05:30"},
		{"zero", "2024-01-15T15:30:00", gmt, "+00:00", "UTC"},
		{"Z", "2024-01-15T15:30:00", gmt, "Z", "UTC"},
		{"spaces", " 2024-01-15T10:30:00 ", gmt, " -05:00 ", "-05:00"},
		// No usable offset: derived from the local text and the instant,
		// which USPS may give with different seconds.
		{"derived", "2024-01-15T10:30:00", gmt, "", "-05:00"},
		{"derived, seconds differ", "2024-01-15T10:30:00", "2024-01-15T15:30:41Z", "", "-05:00"},
		{"derived, Nepal", "2024-01-15T21:15:00", gmt, "", "+05:45"},
		{"derived from local's own offset", "2024-01-15T10:30:00-05:00", gmt, "garbage", "-05:00"},
		{"derived, other day", "2024-01-16T01:30:00", gmt, "", "+10:00"},
		{"unreadable offset and local", "10:30 am", gmt, "EST", "UTC"},
		{"not a quarter hour", "2024-01-15T10:37:00", gmt, "", "UTC"},
		{"too far", "2024-01-17T10:30:00", gmt, "", "UTC"},
		{"offset out of range", "2024-01-15T10:30:00", gmt, "+15:00", "-05:00"},
		{"nothing", "", gmt, "", "UTC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := utc(t, tt.at).In(time.FixedZone("somewhere", 3600)) // any location: At comes back UTC
			m := tracking.PlaceLocal(tt.local, at, tt.offset)
			want := tracking.Moment{
				At: at.UTC(), Precision: tracking.PrecisionSecond, Local: strings.TrimSpace(tt.local),
				Zone: tt.zone, ZoneSource: tracking.ZoneFromOffset,
			}
			if m.At.Location() != time.UTC {
				t.Errorf("At %v not in UTC", m.At)
			}
			if m != want {
				t.Errorf("PlaceLocal(%q, %s, %q)\n got  %+v\n want %+v", tt.local, tt.at, tt.offset, m, want)
			}
		})
	}
}

// A USPS v3 event read both ways agrees: the local eventTimestamp placed
// by ZIP gives the GMTTimestamp instant.
func TestUSPSv3Agrees(t *testing.T) {
	gmt, err := tracking.ParseMoment("2024-01-15T15:30:00Z", newYork)
	if err != nil {
		t.Fatal(err)
	}
	local, err := tracking.ParseMoment("2024-01-15T10:30:00", newYork)
	if err != nil {
		t.Fatal(err)
	}
	if !gmt.At.Equal(local.At) {
		t.Errorf("GMTTimestamp %v, eventTimestamp placed at %v", gmt.At, local.At)
	}
	placed := tracking.PlaceLocal("2024-01-15T10:30:00", gmt.At, "-05:00")
	if !placed.At.Equal(gmt.At) || placed.Inferred || placed.ZoneSource != tracking.ZoneFromOffset {
		t.Errorf("PlaceLocal = %+v", placed)
	}
}

func checkFuzzMoment(t *testing.T, m tracking.Moment, err error, local string) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, tracking.ErrBadTime) {
			t.Fatalf("error %v does not wrap ErrBadTime", err)
		}
		if m != (tracking.Moment{}) {
			t.Fatalf("Moment %+v returned with error %v", m, err)
		}
		return
	}
	if y := m.At.Year(); y < tracking.MinYear || y > tracking.MaxYear {
		t.Fatalf("year %d out of bounds: %+v", y, m)
	}
	if m.At.Location() != time.UTC {
		t.Fatalf("At not in UTC: %+v", m)
	}
	if m.Precision != tracking.PrecisionDay && m.Precision != tracking.PrecisionSecond {
		t.Fatalf("precision %q", m.Precision)
	}
	switch m.ZoneSource {
	case tracking.ZoneFromOffset, tracking.ZoneFromZIP, tracking.ZoneFromState, tracking.ZoneFromCountry, tracking.ZoneFromUTC:
	default:
		t.Fatalf("zone source %q", m.ZoneSource)
	}
	if m.Zone == "" || m.Local != local || m.Inferred != (m.ZoneSource != tracking.ZoneFromOffset) {
		t.Fatalf("inconsistent %+v for local %q", m, local)
	}
	if m.Precision == tracking.PrecisionDay && m.ZoneSource == tracking.ZoneFromOffset {
		t.Fatalf("a date with an offset: %+v", m)
	}
}

func FuzzParseMoment(f *testing.F) {
	for _, s := range []string{
		"2023-07-20T15:00:15-05:00", "2023-07-24", "2023-07-20T15:00:15", "20230720",
		"2026-05-08T14:28:14Z", "2022-07-08T13:24:00.128774Z", "2022-07-21T10:53:46.000000+00:00",
		"2024-01-15T10:30:00", "2024-01-15T15:30:00Z", "2025-03-09T02:30:00", "2025-11-02T01:30:00",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "2023-07-20 15:00:15 GMT+04:00",
		" 2023-07-20t15:00z ", "2200-12-31T23:59:59", "1990-01-01",
	} {
		f.Add(s, "33756-1925", "FL", "US")
		f.Add(s, "", "", "")
	}
	f.Add("2025-09-07", "", "", "CL")
	f.Add("2025-04-06T02:30:00", "", "NSW", "AU")
	f.Fuzz(func(t *testing.T, text, zip, state, country string) {
		where := tracking.Location{PostalCode: zip, State: state, Country: country}
		m, err := tracking.ParseMoment(text, where)
		checkFuzzMoment(t, m, err, strings.TrimSpace(text))
	})
}

func FuzzParseUSPSMoment(f *testing.F) {
	for _, dc := range [][2]string{
		{"October 20, 2025", "8:00 am"}, {"October 20, 2025", "6:14 am"}, {"October 19, 2025", "11:52 pm"},
		{"October 20, 2025", ""}, {"October 20, 2025", "12:00 am"}, {"October 20, 2025", "12:00 pm"},
		{"06/17/2022", "6:10 am"}, {"Sept 5, 2025", "8:00 a.m."}, {"2025-10-20", "20:00"},
		{"January 1, 0000", "8:00 am"}, {"December 31, 9999", "11:59 pm"}, {"March 9, 2025", "2:30 am"},
	} {
		f.Add(dc[0], dc[1], "03801", "NH", "")
	}
	f.Fuzz(func(t *testing.T, date, clock, zip, state, country string) {
		where := tracking.Location{PostalCode: zip, State: state, Country: country}
		m, err := tracking.ParseUSPSMoment(date, clock, where)
		local := strings.TrimSpace(date)
		if c := strings.TrimSpace(clock); c != "" {
			local += " " + c
		}
		checkFuzzMoment(t, m, err, local)
	})
}

func BenchmarkParseMoment(b *testing.B) {
	for _, bb := range []struct {
		name, text string
		where      tracking.Location
	}{
		{"rfc3339", "2022-07-08T13:24:00.128774Z", nowhere},
		{"offset", "2023-07-20T15:00:15-05:00", nowhere},
		{"local-zip", "2023-07-20T15:00:15", belleairFL},
		{"date-zip", "2023-07-24", belleairFL},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tracking.ParseMoment(bb.text, bb.where); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("usps", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := tracking.ParseUSPSMoment("October 20, 2025", "8:00 am", portsmouth); err != nil {
				b.Fatal(err)
			}
		}
	})
}
