package tracking

import "strings"

// carrierAliases folds the spellings providers use for one carrier into its
// code. Providers send "USPS", "ups", "FedEx", "FEX-GRND", "DHL Express"...
var carrierAliases = map[string]string{
	"usps":                      "usps",
	"unitedstatespostalservice": "usps",
	"ups":                       "ups",
	"upsground":                 "ups",
	"fedex":                     "fedex",
	"fdx":                       "fedex",
	"fex":                       "fedex",
	"fexgrnd":                   "fedex",
	"fedexground":               "fedex",
	"dhl":                       "dhl",
	"dhlexpress":                "dhl",
	"dhlecommerce":              "dhl",
	"ontrac":                    "ontrac",
	"lasership":                 "lasership",
	"aramex":                    "aramex",
	"royalmail":                 "royal-mail",
	"canadapost":                "canada-post",
}

// NormalizeCarrier turns a provider's carrier name into waybill's lower-case
// carrier code. Unknown names are kept, lower-cased, with anything outside
// [a-z0-9-] removed, so a new carrier still gets a stable subject token.
func NormalizeCarrier(name string) string {
	var folded strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			folded.WriteRune(r)
		}
	}
	if code, ok := carrierAliases[folded.String()]; ok {
		return code
	}
	var code strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-':
			code.WriteRune(r)
		case r == ' ' || r == '_':
			code.WriteByte('-')
		}
	}
	return strings.Trim(code.String(), "-")
}

// NormalizeTrackingNumber upper-cases a tracking number and removes spaces:
// "1z59 e877 a871526000" and "1Z59E877A871526000" are one parcel.
func NormalizeTrackingNumber(n string) string {
	// Each invalid byte becomes U+FFFD first (as ToUpper makes it anyway),
	// so removing white space cannot join two of them into a valid white
	// space character ("\xc2 \xa0" -> U+00A0) that a second normalization
	// would remove: normalizing a normalized number changes nothing.
	n = strings.Map(func(r rune) rune { return r }, n)
	return strings.ToUpper(strings.Join(strings.Fields(n), ""))
}

// SubjectToken makes a NATS subject token of a normalized tracking number or
// carrier code: anything outside [A-Za-z0-9-] (including the wildcards '*',
// '>' and the separator '.') becomes '_', and an empty value becomes "_".
func SubjectToken(s string) string {
	if s == "" {
		return "_"
	}
	b := []byte(s)
	for i, c := range b {
		if !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ShipmentKey is "<carrier>:<tracking>", the identity of a shipment.
func ShipmentKey(carrier, trackingNumber string) string {
	return carrier + ":" + trackingNumber
}

// Subject is the SHIPMENTS subject of an event:
// shipments.<carrier>.<tracking>.<status>.
func Subject(carrier, trackingNumber string, s Status) string {
	return "shipments." + SubjectToken(carrier) + "." + SubjectToken(trackingNumber) + "." + string(s)
}
