package tracking

// Hooks for the black-box tests in package tracking_test.

// MinYear and MaxYear are the bounds ParseMoment enforces.
const (
	MinYear = minYear
	MaxYear = maxYear
)

// ZIPTableStats parses the embedded ZIP table afresh (bypassing the
// package's sync.Once) and reports its size.
func ZIPTableStats() (rows int, zones []string, err error) {
	t, err := parseZIPTable(zipZonesCSV)
	if err != nil {
		return 0, nil, err
	}
	return t.rows, t.zones, nil
}

// ParseZIPTable parses csv the way the embedded table is parsed; the
// benchmark measures it (and keeps the opaque table to weigh it) and the
// tests feed it malformed input.
func ParseZIPTable(csv string) (table any, err error) {
	return parseZIPTable(csv)
}

// EmbeddedZIPCSV is the embedded table's text.
func EmbeddedZIPCSV() string { return zipZonesCSV }

// TableZoneNames lists every zone name the fallback tables use.
func TableZoneNames() []string {
	var names []string
	for _, r := range regions {
		for _, z := range r.zones {
			names = append(names, z)
		}
	}
	for _, z := range countryZones {
		names = append(names, z)
	}
	for _, z := range caPostalZones {
		if z != "" {
			names = append(names, z)
		}
	}
	return append(names, "America/Iqaluit", "America/Cambridge_Bay", "America/Rankin_Inlet")
}

// CountryZone is the fallback zone of an alpha-2 country ("" if none).
func CountryZone(alpha2 string) string { return countryZones[alpha2] }

// Alpha3Codes lists every alpha-3 code CountryCode knows, with its alpha-2.
func Alpha3Codes() map[string]string { return alpha3 }
