package providertest

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// The bad-input corpus (docs/bad-input.md): variants of a provider's own
// payloads that a broken or hostile sender could post. They are built from
// a body alone, knowing nothing of the provider, so every provider gets
// them from its fixtures: the fuzzers take them as seeds, and the ingress
// and normalizer tests post them end to end.

// Variant is one bad input derived from a fixture body.
type Variant struct {
	// Name says what was done: "wrong-type msg.checkpoints.0.tag=null".
	Name string
	// Kind is the corpus entry it belongs to (one row of docs/bad-input.md).
	Kind string
	// Path is the gjson path of the value that was replaced ("" when the
	// variant is not about one value).
	Path string
	Body []byte
}

// Corpus kinds.
const (
	KindTruncated = "truncated"
	KindWrongType = "wrong-type"
	KindNested    = "nested"
	KindUTF8      = "invalid-utf8"
	KindYear      = "year"
	KindWildcard  = "wildcard"
)

// wrongTypes are the stand-ins of each JSON type, by gjson type name.
var wrongTypes = []struct{ name, raw string }{
	{"null", "null"}, {"bool", "true"}, {"number", "7"}, {"string", `"x"`}, {"array", "[]"}, {"object", "{}"},
}

// WrongTypes walks every value of body (object members and array
// elements at every depth, not the root) and replaces it in turn by a
// value of each other JSON type. The rest of the body is kept byte for
// byte, repeated keys and all.
func WrongTypes(body []byte) []Variant {
	var out []Variant
	Walk(body, func(path string, v gjson.Result) {
		have := typeName(v)
		for _, wt := range wrongTypes {
			if wt.name == have {
				continue
			}
			out = append(out, Variant{
				Name: fmt.Sprintf("%s %s=%s", KindWrongType, path, wt.name), Kind: KindWrongType, Path: path,
				Body: Replace(body, v, []byte(wt.raw)),
			})
		}
	})
	return out
}

// Walk calls fn for every value below the root of a valid JSON body, parents
// before children, with its gjson path (keys escaped, array indexes as
// numbers). v.Index is v's offset in body.
func Walk(body []byte, fn func(path string, v gjson.Result)) {
	var walk func(prefix string, r gjson.Result)
	walk = func(prefix string, r gjson.Result) {
		if !r.IsObject() && !r.IsArray() {
			return
		}
		i := 0
		r.ForEach(func(k, v gjson.Result) bool {
			name := strconv.Itoa(i)
			if r.IsObject() {
				name = gjson.Escape(k.Str)
			}
			i++
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			fn(path, v)
			walk(path, v)
			return true
		})
	}
	walk("", gjson.ParseBytes(body))
}

// Replace returns a copy of body with the value v (from Walk) replaced by raw.
func Replace(body []byte, v gjson.Result, raw []byte) []byte {
	if v.Index <= 0 || v.Index+len(v.Raw) > len(body) || string(body[v.Index:v.Index+len(v.Raw)]) != v.Raw {
		panic(fmt.Sprintf("providertest: value %q not found at offset %d", v.Raw, v.Index))
	}
	out := make([]byte, 0, len(body)-len(v.Raw)+len(raw))
	out = append(out, body[:v.Index]...)
	out = append(out, raw...)
	return append(out, body[v.Index+len(v.Raw):]...)
}

func typeName(v gjson.Result) string {
	switch {
	case v.Type == gjson.Null:
		return "null"
	case v.Type == gjson.True || v.Type == gjson.False:
		return "bool"
	case v.Type == gjson.Number:
		return "number"
	case v.Type == gjson.String:
		return "string"
	case v.IsArray():
		return "array"
	}
	return "object"
}

// Truncated cuts body short at a few places, the last byte of the document
// included: never valid JSON.
func Truncated(body []byte) []Variant {
	var out []Variant
	seen := map[int]bool{}
	end := len(body)
	for end > 0 && isSpace(body[end-1]) {
		end--
	}
	for _, n := range []int{1, end / 3, end / 2, end - 1} {
		for n > 0 && n < end && isSpace(body[n-1]) {
			n-- // a cut after white space is the same document as before it
		}
		if n <= 0 || n >= end || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, Variant{Name: fmt.Sprintf("%s at %d of %d bytes", KindTruncated, n, len(body)), Kind: KindTruncated, Body: body[:n:n]})
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// Nested returns body (a JSON object) with a member "zz_nested" of depth
// levels of arrays added first, and depth levels of '[' alone (unclosed,
// so not JSON).
func Nested(body []byte, depth int) []Variant {
	nest := strings.Repeat("[", depth) + strings.Repeat("]", depth)
	out := []Variant{{Name: fmt.Sprintf("%s %d unclosed [", KindNested, depth), Kind: KindNested, Body: []byte(strings.Repeat("[", depth))}}
	if b := strings.TrimLeft(string(body), " \t\r\n"); strings.HasPrefix(b, "{") {
		sep := ","
		if strings.HasPrefix(strings.TrimLeft(b[1:], " \t\r\n"), "}") {
			sep = ""
		}
		out = append(out, Variant{
			Name: fmt.Sprintf("%s %d levels in a member", KindNested, depth), Kind: KindNested,
			Body: []byte(`{"zz_nested":` + nest + sep + b[1:]),
		})
	}
	return out
}

// InvalidUTF8 breaks the encoding of body in several ways: a byte that is
// never UTF-8 inside the first string (and inside subject's occurrences,
// where subject is the tracking number), an overlong encoding, a lone
// surrogate escape (valid JSON, invalid Unicode), a UTF-8 byte-order mark
// before the document, and Latin-1 text.
func InvalidUTF8(body []byte, subject string) []Variant {
	v := func(name string, b []byte) Variant {
		return Variant{Name: KindUTF8 + " " + name, Kind: KindUTF8, Body: b}
	}
	out := []Variant{
		v("BOM", append([]byte("\xef\xbb\xbf"), body...)),
		v("NUL in the document", append(append([]byte(nil), body...), 0)),
	}
	first := true
	Walk(body, func(path string, r gjson.Result) {
		if r.Type != gjson.String || !first || len(r.Raw) < 3 {
			return
		}
		first = false
		in := func(s string) []byte { return Replace(body, r, []byte(`"`+r.Raw[1:len(r.Raw)-1]+s+`"`)) }
		out = append(out,
			v("0xff in "+path, in("\xff")),
			v("overlong / in "+path, in("\xc0\xaf")),
			v("truncated sequence in "+path, in("\xe2\x82")),
			v("Latin-1 in "+path, in("caf\xe9")),
			v("lone surrogate escape in "+path, in(`\ud800`)),
		)
	})
	if subject != "" && strings.Contains(string(body), subject) {
		mid := len(subject) / 2
		out = append(out, v("0xfe inside the tracking number", []byte(strings.ReplaceAll(string(body), subject, subject[:mid]+"\xfe"+subject[mid:]))))
	}
	return out
}

// yearRE finds a plausible year in a timestamp.
var yearRE = regexp.MustCompile(`\b(19|20)\d\d\b`)

// Years replaces the year of every string that reads as a carrier time
// (tracking.ParseMoment, or a USPS date) by 0000 and by 9999, one at a
// time.
func Years(body []byte) []Variant {
	var out []Variant
	Walk(body, func(path string, r gjson.Result) {
		if r.Type != gjson.String || !isTime(r.Str) {
			return
		}
		loc := yearRE.FindStringIndex(r.Raw)
		if loc == nil {
			return
		}
		for _, y := range []string{"0000", "9999"} {
			raw := r.Raw[:loc[0]] + y + r.Raw[loc[1]:]
			out = append(out, Variant{Name: fmt.Sprintf("%s %s in %s", KindYear, y, path), Kind: KindYear, Path: path, Body: Replace(body, r, []byte(raw))})
		}
	})
	return out
}

func isTime(s string) bool {
	if _, err := tracking.ParseMoment(s, tracking.Location{}); err == nil {
		return true
	}
	_, err := tracking.ParseUSPSMoment(s, "", tracking.Location{})
	return err == nil
}

// WildcardNumbers are tracking numbers a subject filter would misread if
// they went into a subject as they are: NATS wildcards, the token
// separator, spaces (removed by normalization) and a mix. Each keeps a
// digit so that providers that insist on one still see a number.
var WildcardNumbers = []string{"1Z*99", "1Z>99", "1Z.99", "1Z 99 00", "*", ">", "..", " 1z *>. 9 ", "1Z\t*\u00a0>99"}

// Wildcards replaces every occurrence of subject (the tracking number the
// fixture identifies as) inside the body's strings by each of
// WildcardNumbers, JSON-escaped.
func Wildcards(body []byte, subject string) []Variant {
	if len(subject) < 3 || !strings.Contains(string(body), subject) {
		return nil
	}
	var out []Variant
	for _, n := range WildcardNumbers {
		q := jsonString(n)
		out = append(out, Variant{
			Name: fmt.Sprintf("%s tracking number %q", KindWildcard, n), Kind: KindWildcard,
			Body: []byte(strings.ReplaceAll(string(body), subject, q[1:len(q)-1])),
		})
	}
	return out
}

func jsonString(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// BadInputs is the whole corpus for one fixture body whose tracking number
// is subject ("" if none), with nesting depth levels deep.
func BadInputs(body []byte, subject string, depth int) []Variant {
	var out []Variant
	out = append(out, Truncated(body)...)
	out = append(out, WrongTypes(body)...)
	out = append(out, Nested(body, depth)...)
	out = append(out, InvalidUTF8(body, subject)...)
	out = append(out, Years(body)...)
	out = append(out, Wildcards(body, subject)...)
	return out
}

// WithID gives a variant of a fixture its own event id, so that the
// id-keyed dedup on RAW (a provider's retries are stored once) does not
// collapse variants that the tests mean to store each: where the fixture's
// id (from Identify) is carried verbatim, as a JSON string in the body or
// as a header's value, id+suffix replaces it. Ids derived from the body
// (hashes) are left alone: they differ by themselves. A variant that
// destroyed the id keeps it destroyed.
func WithID(id, suffix string, body []byte, headers map[string]string) ([]byte, map[string]string) {
	if id == "" {
		return body, headers
	}
	if q := jsonString(id); strings.Contains(string(body), q) {
		body = []byte(strings.Replace(string(body), q, jsonString(id+suffix), 1))
	}
	var out map[string]string
	for k, v := range headers {
		if out == nil {
			out = make(map[string]string, len(headers))
		}
		if v == id {
			v += suffix
		}
		out[k] = v
	}
	return body, out
}
