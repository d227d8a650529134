package tracking_test

import (
	"testing"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestCountryCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"US", "US"},
		{"us", "US"},
		{" us ", "US"},
		{"USA", "US"},
		{"U.S.A.", "US"},
		{"U.S.", "US"},
		{"United States", "US"},
		{"UNITED STATES OF AMERICA", "US"},
		{"united  states", "US"},
		{"GBR", "GB"},
		{"UK", "GB"},
		{"United Kingdom", "GB"},
		{"Great Britain", "GB"},
		{"England", "GB"},
		{"ARE", "AE"},
		{"UAE", "AE"},
		{"U.A.E.", "AE"},
		{"United Arab Emirates", "AE"},
		{"the United Arab Emirates", "AE"},
		{"SAU", "SA"},
		{"Saudi Arabia", "SA"},
		{"Kingdom of Saudi Arabia", "SA"},
		{"KSA", "SA"},
		{"QAT", "QA"},
		{"Qatar", "QA"},
		{"Kuwait", "KW"},
		{"Bahrain", "BH"},
		{"Oman", "OM"},
		{"Jordan", "JO"},
		{"Egypt", "EG"},
		{"CAN", "CA"},
		{"Canada", "CA"},
		{"MEX", "MX"},
		{"México", "MX"},
		{"DEU", "DE"},
		{"Germany", "DE"},
		{"Netherlands", "NL"},
		{"The Netherlands", "NL"},
		{"Holland", "NL"},
		{"Côte d'Ivoire", "CI"},
		{"COTE D’IVOIRE", "CI"},
		{"Ivory Coast", "CI"},
		{"Türkiye", "TR"},
		{"Turkey", "TR"},
		{"Åland Islands", "AX"},
		{"Curaçao", "CW"},
		{"Korea, Republic of", "KR"},
		{"South Korea", "KR"},
		{"North Korea", "KP"},
		{"Russia", "RU"},
		{"Russian Federation", "RU"},
		{"Vietnam", "VN"},
		{"Viet Nam", "VN"},
		{"Bosnia & Herzegovina", "BA"},
		{"Trinidad & Tobago", "TT"},
		{"St. Lucia", "LC"},
		{"Saint Kitts and Nevis", "KN"},
		{"St Vincent and the Grenadines", "VC"},
		{"Hong Kong", "HK"},
		{"Taiwan", "TW"},
		{"Czech Republic", "CZ"},
		{"Czechia", "CZ"},
		{"Kosovo", "XK"},
		{"XKX", "XK"},
		{"Puerto Rico", "PR"},
		{"PRI", "PR"},
		{"Virgin Islands, U.S.", "VI"},
		{"British Virgin Islands", "VG"},
		{"DR Congo", "CD"},
		{"Republic of the Congo", "CG"},
		{"India", "IN"},
		{"Japan", "JP"},
		{"China", "CN"},
		{"ZZ", "ZZ"},             // unknown alpha-2 kept
		{"Atlantis", "ATLANTIS"}, // unknown name: upper-cased, trimmed
		{" Narnia  Land ", "NARNIA  LAND"},
		{"ZZZ", "ZZZ"},
	}
	for _, tt := range tests {
		if got := tracking.CountryCode(tt.in); got != tt.want {
			t.Errorf("CountryCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Every alpha-3 code maps to a two-letter code that maps to itself.
func TestCountryCodeAlpha3(t *testing.T) {
	codes := tracking.Alpha3Codes()
	if len(codes) < 249 {
		t.Errorf("%d alpha-3 codes, want all 249 ISO 3166-1 ones", len(codes))
	}
	seen := map[string]string{}
	for a3, a2 := range codes {
		if got := tracking.CountryCode(a3); got != a2 {
			t.Errorf("CountryCode(%q) = %q, want %q", a3, got, a2)
		}
		if got := tracking.CountryCode(a2); got != a2 {
			t.Errorf("CountryCode(%q) = %q, want itself", a2, got)
		}
		if other, dup := seen[a2]; dup {
			t.Errorf("%s and %s both map to %s", a3, other, a2)
		}
		seen[a2] = a3
	}
}

func BenchmarkCountryCode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		tracking.CountryCode("United Arab Emirates")
	}
}
