package tracking_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestInferZone(t *testing.T) {
	us := func(zip, state string) tracking.Location {
		return tracking.Location{PostalCode: zip, State: state, Country: "US"}
	}
	tests := []struct {
		name  string
		where tracking.Location
		zone  string
		src   tracking.ZoneSource
	}{
		// Split-zone states, by ZIP.
		{"TX El Paso", us("79901", "TX"), "America/Denver", tracking.ZoneFromZIP},
		{"TX Houston", us("77001", "TX"), "America/Chicago", tracking.ZoneFromZIP},
		{"FL Pensacola panhandle", us("32501", "FL"), "America/Chicago", tracking.ZoneFromZIP},
		{"FL Belleair", us("33756", "FL"), "America/New_York", tracking.ZoneFromZIP},
		{"FL ZIP+4", us("33756-1925", "FL"), "America/New_York", tracking.ZoneFromZIP},
		{"FL ZIP+4 with a space", us("33756 1925", "FL"), "America/New_York", tracking.ZoneFromZIP},
		{"FL nine digits", us("337561925", "FL"), "America/New_York", tracking.ZoneFromZIP},
		{"FL padded", us("  32501 ", "FL"), "America/Chicago", tracking.ZoneFromZIP},
		{"IN Indianapolis", us("46201", "IN"), "America/Indiana/Indianapolis", tracking.ZoneFromZIP},
		{"IN Chicago suburbs", us("46301", "IN"), "America/Chicago", tracking.ZoneFromZIP},
		{"IN Vincennes", us("47501", "IN"), "America/Indiana/Vincennes", tracking.ZoneFromZIP},
		{"IN Evansville", us("47620", "IN"), "America/Chicago", tracking.ZoneFromZIP},
		{"AZ Phoenix", us("85001", "AZ"), "America/Phoenix", tracking.ZoneFromZIP},
		{"AZ Navajo Nation keeps DST", us("86515", "AZ"), "America/Denver", tracking.ZoneFromZIP},
		{"AK Anchorage", us("99501", "AK"), "America/Anchorage", tracking.ZoneFromZIP},
		{"AK Nome", us("99762", "AK"), "America/Nome", tracking.ZoneFromZIP},
		{"AK Juneau", us("99801", "AK"), "America/Juneau", tracking.ZoneFromZIP},
		{"HI", us("96701", "HI"), "Pacific/Honolulu", tracking.ZoneFromZIP},
		{"PR as a state", us("00901", "PR"), "America/Puerto_Rico", tracking.ZoneFromZIP},
		{"PR as a country", tracking.Location{PostalCode: "00901", Country: "PR"}, "America/Puerto_Rico", tracking.ZoneFromZIP},
		{"PR alpha-3", tracking.Location{PostalCode: "00901", Country: "PRI"}, "America/Puerto_Rico", tracking.ZoneFromZIP},
		{"VI", tracking.Location{PostalCode: "00802", Country: "VI"}, "America/St_Thomas", tracking.ZoneFromZIP},
		{"GU", tracking.Location{PostalCode: "96910", Country: "GU"}, "Pacific/Guam", tracking.ZoneFromZIP},
		{"ND Mountain corner", us("58601", "ND"), "America/Denver", tracking.ZoneFromZIP},
		{"ID north is Pacific", us("83814", "ID"), "America/Los_Angeles", tracking.ZoneFromZIP},
		{"MI Upper Peninsula Central", us("49858", "MI"), "America/Menominee", tracking.ZoneFromZIP},
		{"no country means US", tracking.Location{PostalCode: "79901"}, "America/Denver", tracking.ZoneFromZIP},
		{"country name", tracking.Location{PostalCode: "79901", Country: "United States"}, "America/Denver", tracking.ZoneFromZIP},
		{"country alpha-3", tracking.Location{PostalCode: "79901", Country: "usa"}, "America/Denver", tracking.ZoneFromZIP},
		{"NH seed lost its leading zero", us("3801", "NH"), "America/New_York", tracking.ZoneFromZIP},
		{"PR lost two zeros", tracking.Location{PostalCode: "901", Country: "PR"}, "America/Puerto_Rico", tracking.ZoneFromZIP},
		{"NH seed ZIP", tracking.Location{PostalCode: "03801", State: "NH"}, "America/New_York", tracking.ZoneFromZIP},

		// A ZIP the table lacks: its prefix's most common zone.
		{"ZIP3 El Paso 799", us("79994", "TX"), "America/Denver", tracking.ZoneFromZIP},
		{"ZIP3 West Texas 798 (Central 11, Mountain 10)", us("79899", "TX"), "America/Chicago", tracking.ZoneFromZIP},
		{"ZIP3 Pensacola 325", us("32599", ""), "America/Chicago", tracking.ZoneFromZIP},
		{"ZIP3 Phoenix 850", us("85099-1234", ""), "America/Phoenix", tracking.ZoneFromZIP},

		// No usable ZIP: the state's majority zone.
		{"state code", us("", "TX"), "America/Chicago", tracking.ZoneFromState},
		{"state lower case", us("", "tx"), "America/Chicago", tracking.ZoneFromState},
		{"state name", us("", "Florida"), "America/New_York", tracking.ZoneFromState},
		{"state ISO 3166-2", us("", "US-AZ"), "America/Phoenix", tracking.ZoneFromState},
		{"state D.C.", us("", "Washington, D.C."), "America/New_York", tracking.ZoneFromState},
		{"state Indiana", us("", "IN"), "America/Indiana/Indianapolis", tracking.ZoneFromState},
		{"state Alaska", us("", "Alaska"), "America/Anchorage", tracking.ZoneFromState},
		{"state Hawaii", us("", "HI"), "Pacific/Honolulu", tracking.ZoneFromState},
		{"state Puerto Rico", us("", "Puerto Rico"), "America/Puerto_Rico", tracking.ZoneFromState},
		{"state NH seed", tracking.Location{City: "PORTSMOUTH", State: "NH"}, "America/New_York", tracking.ZoneFromState},
		{"unreadable ZIP", us("ABCDE", "TX"), "America/Chicago", tracking.ZoneFromState},
		{"ZIP prefix with no ZIPs (APO)", us("09001", "AE"), "Europe/Berlin", tracking.ZoneFromState},
		{"APO Pacific", us("96201", "AP"), "Asia/Tokyo", tracking.ZoneFromState},
		{"four digits need a US country", tracking.Location{PostalCode: "3801", State: "NH"}, "America/New_York", tracking.ZoneFromZIP},
		{"CA province code", tracking.Location{State: "BC", Country: "CA"}, "America/Vancouver", tracking.ZoneFromState},
		{"CA province, no country", tracking.Location{State: "Québec", PostalCode: "12345"}, "America/Toronto", tracking.ZoneFromState},
		{"CA postal code", tracking.Location{PostalCode: "V6B 1A1", Country: "Canada"}, "America/Vancouver", tracking.ZoneFromZIP},
		{"CA postal code Nunavut", tracking.Location{PostalCode: "x0a 0h0", Country: "CAN"}, "America/Iqaluit", tracking.ZoneFromZIP},
		{"CA postal code NWT", tracking.Location{PostalCode: "X1A 2P7", Country: "CA"}, "America/Edmonton", tracking.ZoneFromZIP},
		{"CA bad postal code", tracking.Location{PostalCode: "123", State: "Nova Scotia", Country: "CA"}, "America/Halifax", tracking.ZoneFromState},
		{"MX state name", tracking.Location{State: "Sonora", Country: "MX"}, "America/Hermosillo", tracking.ZoneFromState},
		{"MX state accented", tracking.Location{State: "Nuevo León", Country: "Mexico"}, "America/Monterrey", tracking.ZoneFromState},
		{"MX state code", tracking.Location{State: "MX-BCN", Country: "MEX"}, "America/Tijuana", tracking.ZoneFromState},
		{"MX state, no country, ZIP ignored", tracking.Location{State: "Quintana Roo", PostalCode: "77500"}, "America/Cancun", tracking.ZoneFromState},
		{"AU state", tracking.Location{State: "WA", Country: "AU"}, "Australia/Perth", tracking.ZoneFromState},
		{"WA without a country is Washington", tracking.Location{State: "WA"}, "America/Los_Angeles", tracking.ZoneFromState},

		// Nothing below the country.
		{"US default", tracking.Location{Country: "US"}, "America/Chicago", tracking.ZoneFromCountry},
		{"US unknown state", tracking.Location{State: "ZZ", Country: "USA"}, "America/Chicago", tracking.ZoneFromCountry},
		{"UAE", tracking.Location{Country: "UAE", City: "Dubai"}, "Asia/Dubai", tracking.ZoneFromCountry},
		{"ARE", tracking.Location{Country: "ARE"}, "Asia/Dubai", tracking.ZoneFromCountry},
		{"Saudi Arabia", tracking.Location{Country: "Saudi Arabia"}, "Asia/Riyadh", tracking.ZoneFromCountry},
		{"KSA", tracking.Location{Country: "KSA"}, "Asia/Riyadh", tracking.ZoneFromCountry},
		{"GB", tracking.Location{Country: "GB", PostalCode: "SW1A 1AA"}, "Europe/London", tracking.ZoneFromCountry},
		{"DE postal code is not a ZIP", tracking.Location{Country: "DE", PostalCode: "80331"}, "Europe/Berlin", tracking.ZoneFromCountry},
		{"CA default", tracking.Location{Country: "CA"}, "America/Toronto", tracking.ZoneFromCountry},
		{"MX default", tracking.Location{Country: "MX", State: "Atlantis"}, "America/Mexico_City", tracking.ZoneFromCountry},
		{"BR", tracking.Location{Country: "Brazil"}, "America/Sao_Paulo", tracking.ZoneFromCountry},
		{"RU", tracking.Location{Country: "Russia"}, "Europe/Moscow", tracking.ZoneFromCountry},
		{"IN", tracking.Location{Country: "India"}, "Asia/Kolkata", tracking.ZoneFromCountry},
		{"CN", tracking.Location{Country: "CHN"}, "Asia/Shanghai", tracking.ZoneFromCountry},
		{"AU", tracking.Location{Country: "AU"}, "Australia/Sydney", tracking.ZoneFromCountry},

		// Nothing at all.
		{"empty", tracking.Location{}, "UTC", tracking.ZoneFromUTC},
		{"unknown country", tracking.Location{Country: "Atlantis"}, "UTC", tracking.ZoneFromUTC},
		{"Antarctica", tracking.Location{Country: "AQ"}, "UTC", tracking.ZoneFromUTC},
		{"no country, foreign postcode", tracking.Location{PostalCode: "SW1A 1AA"}, "UTC", tracking.ZoneFromUTC},
		{"no country, unknown state", tracking.Location{State: "Bavaria"}, "UTC", tracking.ZoneFromUTC},
		{"no country, 4 digits", tracking.Location{PostalCode: "2000"}, "UTC", tracking.ZoneFromUTC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, name, src := tracking.InferZone(tt.where)
			if name != tt.zone || src != tt.src {
				t.Errorf("InferZone(%+v) = %q, %q; want %q, %q", tt.where, name, src, tt.zone, tt.src)
			}
			if loc == nil || loc.String() != name {
				t.Errorf("InferZone(%+v) location %v does not match name %q", tt.where, loc, name)
			}
		})
	}
}

// Every zone a fallback table names must load, from the embedded tz
// database when the host has none.
func TestTableZonesLoad(t *testing.T) {
	seen := map[string]bool{}
	for _, z := range tracking.TableZoneNames() {
		if seen[z] {
			continue
		}
		seen[z] = true
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("zone %q does not load: %v", z, err)
		}
	}
}

// Every ISO country with people has a fallback zone; the seed markets are
// checked by name.
func TestCountryZones(t *testing.T) {
	for a3, a2 := range tracking.Alpha3Codes() {
		switch a2 {
		case "AQ", "BV", "HM": // no people, no zone
			continue
		}
		if tracking.CountryZone(a2) == "" {
			t.Errorf("no zone for %s (%s)", a2, a3)
		}
	}
	for a2, zone := range map[string]string{
		"US": "America/Chicago", "AE": "Asia/Dubai", "SA": "Asia/Riyadh", "QA": "Asia/Qatar",
		"KW": "Asia/Kuwait", "BH": "Asia/Bahrain", "OM": "Asia/Muscat", "GB": "Europe/London",
		"IE": "Europe/Dublin", "FR": "Europe/Paris", "ES": "Europe/Madrid", "PT": "Europe/Lisbon",
		"UA": "Europe/Kyiv", "TR": "Europe/Istanbul", "IL": "Asia/Jerusalem", "EG": "Africa/Cairo",
		"JP": "Asia/Tokyo", "KR": "Asia/Seoul", "SG": "Asia/Singapore", "PK": "Asia/Karachi",
		"AR": "America/Argentina/Buenos_Aires", "CL": "America/Santiago", "CO": "America/Bogota",
		"PE": "America/Lima",
	} {
		if got := tracking.CountryZone(a2); got != zone {
			t.Errorf("CountryZone(%s) = %q, want %q", a2, got, zone)
		}
	}
}

// InferZone is called from many normalizer workers at once; run with -race.
func TestInferZoneConcurrent(t *testing.T) {
	wheres := []tracking.Location{
		{PostalCode: "79901"}, {State: "TX"}, {Country: "AE"}, {}, {PostalCode: "V6B 1A1", Country: "CA"},
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				where := wheres[(g+i)%len(wheres)]
				if loc, name, _ := tracking.InferZone(where); loc.String() != name {
					panic(fmt.Sprintf("InferZone(%+v): %v vs %q", where, loc, name))
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkInferZone(b *testing.B) {
	for _, bb := range []struct {
		name  string
		where tracking.Location
	}{
		{"zip", tracking.Location{PostalCode: "33756-1925", State: "FL", Country: "US"}},
		{"state", tracking.Location{State: "Texas", Country: "United States"}},
		{"country", tracking.Location{Country: "UAE"}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tracking.InferZone(bb.where)
			}
		})
	}
}
