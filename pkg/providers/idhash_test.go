package providers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
)

// reference is the plain definition CanonicalJSON must match byte for byte.
func reference(body []byte) ([]byte, bool) {
	if !json.Valid(body) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, false
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), true
}

var canonicalSeeds = []string{
	`{"status":"Shipped","hwi_device_id":"d1","tracking_link":null}`,
	"{\n \"b\" : [1, 2.50, -3e10, {\"z\":true, \"a\":false}], \"a\": \"x\"}",
	`{"dup":1,"dup":2,"a":{"k":"\u00e9\n\t\"\\ \u2028 <&>","j":"\u0007"}}`,
	`["x", [], {}, "", 12345678901234567890123]`,
	`{"s":"\ud83d\ude00 emoji","bad":"\ud800"}`,
	`"just a string"`, `null`, `7`,
}

func TestCanonicalJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range canonicalSeeds {
		want, ok := reference([]byte(s))
		if !ok {
			t.Fatalf("reference rejects %s", s)
		}
		got, err := providers.CanonicalJSON([]byte(s))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("CanonicalJSON(%s)\n got %s (%v)\nwant %s", s, got, err, want)
		}
	}
	if _, err := providers.CanonicalJSON([]byte(`{"a":`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		want, ok := reference(body)
		got, err := providers.CanonicalJSON(body)
		if !ok {
			return // encoding/json's own limits (e.g. nesting) are not ours to match
		}
		if errors.Is(err, providers.ErrInvalid) && nesting(body) > providers.MaxCanonicalDepth {
			return // refused by design: see MaxCanonicalDepth
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("CanonicalJSON(%q)\n got %s (%v)\nwant %s", body, got, err, want)
		}
	})
}

// nesting is the deepest nesting of a valid JSON document, read with
// encoding/json's tokenizer (independent of the scan CanonicalJSON uses).
func nesting(body []byte) int {
	dec := json.NewDecoder(bytes.NewReader(body))
	d, deepest := 0, 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return deepest
		}
		switch tok {
		case json.Delim('['), json.Delim('{'):
			if d++; d > deepest {
				deepest = d
			}
		case json.Delim(']'), json.Delim('}'):
			d--
		}
	}
}

// Deep nesting is refused, quickly, past MaxCanonicalDepth and accepted up
// to it, strings holding brackets notwithstanding (docs/bad-input.md).
func TestCanonicalJSONDepth(t *testing.T) {
	nest := func(n int, inner string) []byte {
		return []byte(strings.Repeat(`{"a":[`, n/2) + inner + strings.Repeat(`]}`, n/2))
	}
	if _, err := providers.CanonicalJSON(nest(providers.MaxCanonicalDepth, `"[[[{{{"`)); err != nil {
		t.Errorf("depth %d refused: %v", providers.MaxCanonicalDepth, err)
	}
	if _, err := providers.CanonicalJSON(nest(providers.MaxCanonicalDepth+2, `"]]]}}}"`)); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("depth %d: %v, want ErrInvalid", providers.MaxCanonicalDepth+2, err)
	}
	// 1 MiB of nesting: before the bound this took minutes (quadratic).
	deep := []byte(`{"hwi_device_id":"d","x":` + strings.Repeat("[", 1<<19) + strings.Repeat("]", 1<<19) + `}`)
	start := time.Now()
	if _, err := providers.CanonicalJSON(deep); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("1 MiB of nesting: %v, want ErrInvalid", err)
	}
	t.Logf("1 MiB of nesting refused in %v", time.Since(start))
}

func BenchmarkCanonicalJSON(b *testing.B) {
	body := []byte(`{"hwi_device_id":"12345678-abcd-1234-abcd-1234567890ab","patient_id":"patient-external-id-001","hardware_uuid":"aabbcc001122","sensor_code":"10","device_name":"Tenovi BPM - L","status":"Shipped","tracking_link":"https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223512345670"}`)
	for b.Loop() {
		providers.CanonicalJSON(body)
	}
}

func BenchmarkCanonicalJSONReference(b *testing.B) {
	body := []byte(`{"hwi_device_id":"12345678-abcd-1234-abcd-1234567890ab","patient_id":"patient-external-id-001","hardware_uuid":"aabbcc001122","sensor_code":"10","device_name":"Tenovi BPM - L","status":"Shipped","tracking_link":"https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223512345670"}`)
	for b.Loop() {
		reference(body)
	}
}
