// Package jsonvalid checks that a document is JSON (RFC 8259) without
// decoding it: one pass, no allocation below 1024 levels of nesting,
// strings and indentation skipped eight bytes at a time. It accepts exactly
// what encoding/json.Valid accepts (a fuzz target holds it to that),
// including its leniency on invalid UTF-8 inside strings, which decoders
// replace with U+FFFD rather than reject, with one exception: nesting is
// not limited (encoding/json stops at 10000 levels), as with the
// gjson.ValidBytes it replaces, so that what ingress accepts did not
// change. It is ingress's gate for "not JSON" on every webhook, where
// gjson's byte-at-a-time scan took an eighth of the request's CPU.
package jsonvalid

import (
	"math/bits"
	"unsafe"
)

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special flags, in each byte's high bit, the bytes of x that end a run of
// plain string content: a quote, a backslash or a control character. Only
// the lowest flag is exact (a borrow can flag bytes above it), which is the
// one the caller uses.
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	b := x ^ (ones * '\\')
	return ((x - ones*0x20) | (q - ones) | (b - ones)) & ^x & highs
}

// Valid reports whether data is one JSON value, optionally surrounded by
// white space.
func Valid(data []byte) bool {
	// stack holds one bit per open container, 1 for an object.
	var stackBuf [16]uint64
	stack := stackBuf[:]
	depth := 0
	inObject := false // the innermost open container is an object
	i := skipSpace(data, 0)
	n := len(data)

value: // a value starts at data[i]
	if i >= n {
		return false
	}
	switch c := data[i]; c {
	case '{':
		i = skipSpace(data, i+1)
		if i < n && data[i] == '}' {
			i++
			goto next
		}
		if depth>>6 == len(stack) {
			stack = append(stack, 0)
		}
		stack[depth>>6] |= 1 << (depth & 63)
		depth++
		inObject = true
		goto key
	case '[':
		i = skipSpace(data, i+1)
		if i < n && data[i] == ']' {
			i++
			goto next
		}
		if depth>>6 == len(stack) {
			stack = append(stack, 0)
		}
		stack[depth>>6] &^= 1 << (depth & 63)
		depth++
		inObject = false
		goto value
	case '"':
		if i = skipString(data, i+1); i < 0 {
			return false
		}
	case 't':
		if n-i < 4 || data[i+1] != 'r' || data[i+2] != 'u' || data[i+3] != 'e' {
			return false
		}
		i += 4
	case 'f':
		if n-i < 5 || data[i+1] != 'a' || data[i+2] != 'l' || data[i+3] != 's' || data[i+4] != 'e' {
			return false
		}
		i += 5
	case 'n':
		if n-i < 4 || data[i+1] != 'u' || data[i+2] != 'l' || data[i+3] != 'l' {
			return false
		}
		i += 4
	default:
		if i = skipNumber(data, i); i < 0 {
			return false
		}
	}

next: // a value ended just before data[i]
	i = skipSpace(data, i)
	if i >= n {
		return depth == 0
	}
	if depth == 0 {
		return false // more after the document
	}
	switch data[i] {
	case ',':
		i = skipSpace(data, i+1)
		if inObject {
			goto key
		}
		goto value
	case '}':
		if !inObject {
			return false
		}
	case ']':
		if inObject {
			return false
		}
	default:
		return false
	}
	depth--
	i++
	inObject = depth > 0 && stack[(depth-1)>>6]&(1<<((depth-1)&63)) != 0
	goto next

key: // an object member starts at data[i]
	if i >= n || data[i] != '"' {
		return false
	}
	if i = skipString(data, i+1); i < 0 {
		return false
	}
	i = skipSpace(data, i)
	if i >= n || data[i] != ':' {
		return false
	}
	i = skipSpace(data, i+1)
	goto value
}

// load reads data[i:i+8] as a little-endian word; the caller has checked
// that i+8 <= len(data). binary.LittleEndian.Uint64(data[i:]) costs a
// slice and its bounds checks on every word of the hot loops.
func load(data []byte, i int) uint64 {
	x := *(*uint64)(unsafe.Pointer(&data[i]))
	if bigEndian {
		x = bits.ReverseBytes64(x)
	}
	return x
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(data []byte, i int) int {
	if i < len(data) && data[i] > ' ' {
		return i // most tokens follow the last directly
	}
	return skipSpaceRun(data, i)
}

// skipSpaceRun is skipSpace's slow path, kept out of line so that the
// fast path inlines.
//
//go:noinline
func skipSpaceRun(data []byte, i int) int {
	if i+1 < len(data) && data[i+1] > ' ' { // one byte: ": ", or a line break before an unindented key
		if isSpace(data[i]) {
			return i + 1
		}
		return i
	}
	for {
		for i+8 <= len(data) {
			// The first byte that is not a space: indentation in one step.
			if x := load(data, i) ^ ones*' '; x != 0 {
				i += bits.TrailingZeros64(x) >> 3
				break
			}
			i += 8
		}
		if i >= len(data) || !isSpace(data[i]) {
			return i
		}
		i++
	}
}

// isSpace reports whether c is JSON white space: space, tab, LF, CR.
func isSpace(c byte) bool {
	const mask = 1<<' ' | 1<<'\t' | 1<<'\n' | 1<<'\r'
	return c <= ' ' && mask&(uint64(1)<<c) != 0
}

// skipString returns the index just past the closing quote of the string
// whose content starts at i, or -1 if it is not a valid JSON string.
func skipString(data []byte, i int) int {
	for {
		for i+8 <= len(data) {
			m := special(load(data, i))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto found
			}
			i += 8
		}
		for i < len(data) {
			if c := data[i]; c < 0x20 || c == '"' || c == '\\' {
				goto found
			}
			i++
		}
		return -1
	found:
		switch c := data[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		}
		// A backslash.
		if i+1 >= len(data) {
			return -1
		}
		switch data[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(data) || !isHex(data[i+2]) || !isHex(data[i+3]) || !isHex(data[i+4]) || !isHex(data[i+5]) {
				return -1
			}
			i += 6
		default:
			return -1
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber returns the index just past the number starting at i, or -1
// if none does: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func skipNumber(data []byte, i int) int {
	n := len(data)
	if data[i] == '-' {
		i++
		if i >= n {
			return -1
		}
	}
	switch c := data[i]; {
	case c == '0':
		i++
	case '1' <= c && c <= '9':
		i++
		for i < n && isDigit(data[i]) {
			i++
		}
	default:
		return -1
	}
	if i < n && data[i] == '.' {
		i++
		if i >= n || !isDigit(data[i]) {
			return -1
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	if i < n && (data[i] == 'e' || data[i] == 'E') {
		i++
		if i < n && (data[i] == '+' || data[i] == '-') {
			i++
		}
		if i >= n || !isDigit(data[i]) {
			return -1
		}
		for i < n && isDigit(data[i]) {
			i++
		}
	}
	return i
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
