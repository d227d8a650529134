package providers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// HashID derives an event id for sources that send none (Tenovi, USPS):
// sha256 over the parts, NUL-separated, hex of the first 16 bytes.
func HashID(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// CanonicalJSON re-encodes a JSON document with object keys sorted and no
// insignificant white space, so two deliveries of one payload that differ
// only in key order or formatting hash alike. Numbers keep their text.
func CanonicalJSON(body []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // map keys are sorted by encoding/json
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
