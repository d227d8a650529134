package providers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"
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

// CanonicalJSON re-encodes a JSON document with object keys sorted (the
// last of duplicate keys kept), strings re-escaped one way and no
// insignificant white space, so two deliveries of one payload that differ
// only in key order, escaping or formatting hash alike. Numbers keep their
// text. The output is byte for byte what encoding/json produces decoding
// into interface{} (UseNumber) and encoding without HTML escaping; it is
// computed in one pass over the bytes because Tenovi's id is derived on
// ingress's hot path.
//
// Documents nested deeper than MaxCanonicalDepth are refused (ErrInvalid):
// each level re-scans everything below it, so the cost grows with depth
// times size, and a 1 MiB body of nested arrays would take minutes.
func CanonicalJSON(body []byte) ([]byte, error) {
	if depth(body) > MaxCanonicalDepth { // first: validating deep nesting is slow too
		return nil, fmt.Errorf("%w: JSON nested deeper than %d levels", ErrInvalid, MaxCanonicalDepth)
	}
	if !gjson.ValidBytes(body) {
		return nil, fmt.Errorf("%w: not valid JSON", ErrInvalid)
	}
	return appendCanonical(make([]byte, 0, len(body)), gjson.ParseBytes(body)), nil
}

// MaxCanonicalDepth bounds the nesting CanonicalJSON accepts: far deeper
// than any provider's payload, shallow enough that the worst 1 MiB body
// canonicalizes in well under a second.
const MaxCanonicalDepth = 64

// depth is the deepest nesting of arrays and objects in JSON, counted in
// one pass (brackets inside strings do not count).
func depth(body []byte) int {
	d, deepest, inString := 0, 0, false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			if d++; d > deepest {
				deepest = d
			}
		case c == ']' || c == '}':
			d--
		}
	}
	return deepest
}

type member struct {
	key string
	val gjson.Result
}

func appendCanonical(b []byte, r gjson.Result) []byte {
	switch {
	case r.IsObject():
		var members []member
		r.ForEach(func(k, v gjson.Result) bool {
			key := validKey(k.Str)
			for i := range members { // objects are small: a scan beats a map
				if members[i].key == key {
					members[i].val = v // the last duplicate wins, as in encoding/json
					return true
				}
			}
			members = append(members, member{key, v})
			return true
		})
		sort.Slice(members, func(i, j int) bool { return members[i].key < members[j].key })
		b = append(b, '{')
		for i, m := range members {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, m.key)
			b = append(b, ':')
			b = appendCanonical(b, m.val)
		}
		return append(b, '}')
	case r.IsArray():
		b = append(b, '[')
		first := true
		r.ForEach(func(_, v gjson.Result) bool {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendCanonical(b, v)
			return true
		})
		return append(b, ']')
	case r.Type == gjson.String:
		return appendJSONString(b, r.Str)
	default: // numbers keep their literal text; true, false, null
		return append(b, r.Raw...)
	}
}

// validKey is an object key as decoding sees it: each byte that is not
// valid UTF-8 becomes U+FFFD, so two keys that differ only in invalid bytes
// are one key (the last wins) and sort as decoded.
func validKey(k string) string {
	if utf8.ValidString(k) {
		return k
	}
	var b strings.Builder
	for i := 0; i < len(k); {
		r, size := utf8.DecodeRuneInString(k[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(k[i : i+size])
		}
		i += size
	}
	return b.String()
}

// appendJSONString quotes s as encoding/json does with HTML escaping off.
func appendJSONString(dst []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			// Decoding replaces an invalid byte with U+FFFD itself, which
			// encoding then writes as is: so must we.
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
