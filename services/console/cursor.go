package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// errBadCursor is any cursor the console did not issue for the same query:
// malformed, modified, or signed for other filters.
var errBadCursor = errors.New("cursor was not issued for this query (modified, truncated, or from other filters)")

// cursorMACSize is how much of the HMAC a cursor keeps: 128 bits is far
// beyond guessing, and keeps URLs short.
const cursorMACSize = 16

// A cursor is base64url(JSON position) "." base64url(HMAC). The HMAC covers
// the kind of list and its filters besides the position, so a cursor only
// works for the query that produced it, and any change is detected.
func (k keys) signCursor(kind string, filters []string, pos any) (string, error) {
	payload, err := json.Marshal(pos)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(payload) + "." +
		base64.RawURLEncoding.EncodeToString(k.cursorMAC(kind, filters, payload)), nil
}

// openCursor checks a cursor and decodes its position into pos.
func (k keys) openCursor(kind string, filters []string, cursor string, pos any) error {
	p, m, ok := strings.Cut(cursor, ".")
	if !ok {
		return errBadCursor
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p)
	mac, err2 := base64.RawURLEncoding.DecodeString(m)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, k.cursorMAC(kind, filters, payload)) {
		return errBadCursor
	}
	if err := json.Unmarshal(payload, pos); err != nil {
		return errBadCursor
	}
	return nil
}

func (k keys) cursorMAC(kind string, filters []string, payload []byte) []byte {
	m := hmac.New(sha256.New, k.cursor)
	// Length-prefixed parts: ("a","bc") and ("ab","c") sign differently.
	for _, part := range append([]string{kind}, filters...) {
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(part)>>24), byte(len(part)>>16), byte(len(part)>>8), byte(len(part))
		m.Write(n[:])
		m.Write([]byte(part))
	}
	m.Write(payload)
	return m.Sum(nil)[:cursorMACSize]
}
