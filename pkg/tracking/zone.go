package tracking

import (
	"strings"
	"sync"
	"time"

	// The tz database is compiled in (about 450 KB) because the services
	// run in minimal images (distroless, scratch) that have no
	// /usr/share/zoneinfo: there time.LoadLocation fails and every
	// offset-less carrier time would silently be read as UTC, a day off
	// at worst. Importing it here, in the package that needs it, means no
	// main package can forget it (Go's advice to leave this to main
	// assumes a library can do without zones; this one cannot).
	// LoadLocation still prefers $ZONEINFO and the OS database when they
	// exist, so a newer OS tzdata wins on hosts that have one.
	_ "time/tzdata"
)

// InferZone picks the zone a carrier's offset-less local time was most
// likely written in, from the event's location, in this order:
//
//  1. the US ZIP code (Location.PostalCode: "33756", "33756-1925" or
//     "337561925") in the embedded ZIP table, else the most common zone
//     of its three-digit prefix, for a ZIP newer than the table
//     (ZoneFromZIP). Only when Country is empty or the US or one of the
//     territories and states that use US ZIPs (PR, VI, GU, AS, MP, UM, FM,
//     MH, PW); an empty Country is read as the US unless the state is a
//     Canadian province or a Mexican or Australian state. A Canadian
//     postal code (Country "CA") gives its province's zone the same way;
//  2. the state or province (Location.State: a code or a name, "TX" or
//     "Texas"), its majority zone: US, Canadian, Mexican and Australian
//     ones (ZoneFromState);
//  3. the country, its single or most populous zone; America/Chicago for
//     the US (see countryZones) (ZoneFromCountry);
//  4. UTC (ZoneFromUTC).
//
// name is the IANA zone name; loc is cached, so calling InferZone per event
// is cheap. It is safe for concurrent use.
func InferZone(where Location) (loc *time.Location, name string, src ZoneSource) {
	country := CountryCode(where.Country)
	state := foldName(where.State)
	if country == "" && state != "" {
		country = stateCountry(state)
	}
	if usesUSZIP(country) {
		if zip, ok := parseZIP(where.PostalCode, country != ""); ok {
			if name, _ := zipZone(zip); name != "" {
				if loc := loadZone(name); loc != nil {
					return loc, name, ZoneFromZIP
				}
			}
		}
	}
	if country == "CA" {
		if name := caPostalZone(where.PostalCode); name != "" {
			if loc := loadZone(name); loc != nil {
				return loc, name, ZoneFromZIP
			}
		}
	}
	if name := stateZone(state, country); name != "" {
		if loc := loadZone(name); loc != nil {
			return loc, name, ZoneFromState
		}
	}
	if name := countryZones[country]; name != "" {
		if loc := loadZone(name); loc != nil {
			return loc, name, ZoneFromCountry
		}
	}
	return time.UTC, "UTC", ZoneFromUTC
}

// zoneCache holds the *time.Location of every zone name asked for (nil for
// one that failed to load). time.LoadLocation reads and parses the zone
// file on every call; the names come only from this package's tables, so
// the cache is bounded (a few hundred entries).
var zoneCache sync.Map // string -> *time.Location

func loadZone(name string) *time.Location {
	if v, ok := zoneCache.Load(name); ok {
		return v.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	v, _ := zoneCache.LoadOrStore(name, loc)
	return v.(*time.Location)
}

// usesUSZIP reports whether addresses in country (alpha-2, "" for unknown)
// have US ZIP codes.
func usesUSZIP(country string) bool {
	switch country {
	case "", "US", "PR", "VI", "GU", "AS", "MP", "UM", "FM", "MH", "PW":
		return true
	}
	return false
}

// parseZIP reads a US ZIP code: "33756", ZIP+4 "33756-1925" or "33756 1925",
// or nine digits "337561925". When the country is a US one (given, or
// implied by a US state), three or four digits are read as a ZIP that lost its leading zeros in a
// spreadsheet ("3801" for Portsmouth NH's 03801, "601" for Adjuntas PR's
// 00601); with no country they could as well be a foreign postcode.
func parseZIP(s string, explicitUS bool) (int, bool) {
	s = strings.TrimSpace(s)
	switch {
	case len(s) == 10 && (s[5] == '-' || s[5] == ' '):
		if _, ok := digits(s[6:]); !ok {
			return 0, false
		}
		s = s[:5]
	case len(s) == 9:
		if _, ok := digits(s); !ok {
			return 0, false
		}
		s = s[:5]
	case len(s) == 3 || len(s) == 4:
		if !explicitUS {
			return 0, false
		}
	case len(s) != 5:
		return 0, false
	}
	return digits(s)
}

// caPostalZone places a Canadian postal code ("M5V 3L9") by its first
// letter, the province; Nunavut's X0A/X0B/X0C (Eastern, Mountain, Central
// regions) are split from the Northwest Territories' other "X" codes.
func caPostalZone(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) < 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < '0' || s[1] > '9' || s[2] < 'A' || s[2] > 'Z' {
		return ""
	}
	switch s[:3] {
	case "X0A":
		return "America/Iqaluit"
	case "X0B":
		return "America/Cambridge_Bay"
	case "X0C":
		return "America/Rankin_Inlet"
	}
	return caPostalZones[s[0]-'A']
}

// regions are the state and province tables, in the order an event with no
// country is matched against them: the US first, so "WA" is Washington.
var regions = []struct {
	country string
	zones   map[string]string
}{
	{"US", usStates},
	{"CA", caProvinces},
	{"MX", mxStates},
	{"AU", auStates},
}

// stateCountry names the country whose table knows state ("" if none).
func stateCountry(state string) string {
	for _, r := range regions {
		if regionZone(r.zones, r.country, state) != "" {
			return r.country
		}
	}
	return ""
}

// stateZone is the zone of a folded state name in country's table. The US
// table also serves the territories, which carriers send either as a state
// of the US or as a country of their own.
func stateZone(state, country string) string {
	if state == "" {
		return ""
	}
	if usesUSZIP(country) {
		country = "US"
	}
	for _, r := range regions {
		if r.country == country {
			return regionZone(r.zones, r.country, state)
		}
	}
	return ""
}

// regionZone looks state up, also without an ISO 3166-2 country prefix
// ("US-TX" folds to "US TX").
func regionZone(zones map[string]string, country, state string) string {
	if name, ok := zones[state]; ok {
		return name
	}
	if rest, ok := strings.CutPrefix(state, country+" "); ok {
		return zones[rest]
	}
	return ""
}
