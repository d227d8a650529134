package tracking_test

import (
	"strings"
	"testing"
	"unicode"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// FuzzSubject checks the contract's subject rule for any carrier and
// tracking number a provider could send: normalization is idempotent (a
// shipment key read back from a stored event and normalized again is the
// same key), the normalized tracking number has no white space and is
// upper case, and the SHIPMENTS subject has exactly four tokens, none
// empty, none a wildcard, the tracking token one [A-Z0-9_-] byte per byte
// of the number.
func FuzzSubject(f *testing.F) {
	for _, n := range []string{
		"1Z59E877A871526000", "1z59 e877 a871526000", "1Z*99", "1Z>99", "1Z.99", "*", ">", "..", " 1z *>. 9 ",
		"1Z\t*\u00a0>99", "DHL-9123-7700-1234", "9400 1001 0936 1129 2783 57", "\xff\xfe", "caf\xe9", "ǅǆǈ ß ﬃ",
		"\u2028x\u3000y", "", "a\x00b",
	} {
		f.Add("UPS", n, "in_transit")
	}
	for _, c := range []string{"usps", "FedEx Ground", "DHL Express", "Royal Mail", "royal-mail", "-", "a_b", "ON*TRAC", "ups.", "\xff"} {
		f.Add(c, "1Z999", "delivered")
	}
	f.Fuzz(func(t *testing.T, carrier, number, status string) {
		e := tracking.Event{Carrier: carrier, TrackingNumber: number, Status: tracking.Status(status)}
		e.Normalize()
		again := e
		again.Normalize()
		if again.Carrier != e.Carrier || again.TrackingNumber != e.TrackingNumber || again.ShipmentKey != e.ShipmentKey || again.ID != e.ID {
			t.Fatalf("normalization not idempotent: %q/%q then %q/%q", e.Carrier, e.TrackingNumber, again.Carrier, again.TrackingNumber)
		}
		if strings.IndexFunc(e.TrackingNumber, unicode.IsSpace) >= 0 {
			t.Fatalf("tracking number %q keeps white space", e.TrackingNumber)
		}
		for i := 0; i < len(e.Carrier); i++ {
			if c := e.Carrier[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				t.Fatalf("carrier code %q", e.Carrier)
			}
		}
		if !e.Status.Valid() {
			return // Validate refuses it: no subject is built
		}
		subject := e.Subject()
		tokens := strings.Split(subject, ".")
		if len(tokens) != 4 || tokens[0] != "shipments" || tokens[3] != status {
			t.Fatalf("subject %q", subject)
		}
		if strings.ContainsAny(subject, "*> \t\r\n") {
			t.Fatalf("subject %q holds a wildcard or white space", subject)
		}
		for _, tok := range tokens[1:3] {
			if tok == "" {
				t.Fatalf("empty token in %q", subject)
			}
		}
		if tok := tokens[2]; e.TrackingNumber != "" && len(tok) != len(e.TrackingNumber) {
			t.Fatalf("tracking token %q for %q", tok, e.TrackingNumber)
		}
		for i := 0; i < len(tokens[2]); i++ {
			if c := tokens[2][i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("tracking token %q (from %q)", tokens[2], number)
			}
		}
	})
}
