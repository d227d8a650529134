package tracking

import "strings"

// CountryCode folds a provider's country (ISO 3166-1 alpha-2, alpha-3 or an
// English name) into the alpha-2 code Location.Country holds. Unknown values
// come back upper-cased and trimmed.
func CountryCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) == 3 {
		if a2, ok := alpha3[s]; ok {
			return a2
		}
	}
	if a2, ok := countryNames[s]; ok {
		return a2
	}
	return s
}

var alpha3 = map[string]string{"USA": "US", "CAN": "CA", "GBR": "GB", "MEX": "MX"}

var countryNames = map[string]string{"UNITED STATES": "US", "CANADA": "CA", "UNITED KINGDOM": "GB"}
