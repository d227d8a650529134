package tracking

import "time"

// Precision says how much of occurred_at the carrier actually gave.
type Precision string

const (
	PrecisionDay    Precision = "day"    // a date only: the instant is local midnight
	PrecisionSecond Precision = "second" // a time of day (minutes or finer)
)

// ZoneSource says where the zone an instant was placed in came from, from
// most to least trustworthy.
type ZoneSource string

const (
	ZoneFromOffset  ZoneSource = "offset"  // the carrier gave an offset or a UTC time
	ZoneFromZIP     ZoneSource = "zip"     // inferred from the event's postal code
	ZoneFromState   ZoneSource = "state"   // inferred from the event's state
	ZoneFromCountry ZoneSource = "country" // inferred from the event's country
	ZoneFromUTC     ZoneSource = "utc"     // nothing known: read as UTC
)

// Moment is a carrier timestamp placed on the time line, with the original
// local text kept so a wrong inference can always be seen and corrected.
type Moment struct {
	At         time.Time
	Precision  Precision
	Local      string     // the carrier's own wall-clock text, as given
	Zone       string     // IANA zone name or fixed offset such as "-05:00"
	ZoneSource ZoneSource // how Zone was chosen
	Inferred   bool       // Zone was not given by the carrier: inferred from the location, or UTC assumed
}
