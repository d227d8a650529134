package jsonvalid_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/jsonvalid"
)

var cases = []string{
	``, ` `, `{}`, `[]`, ` {} `, "\t\r\n[]\n", `{}x`, `{} {}`, `1 2`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`,
	`{"a":1,}`, `{"a":1 "b":2}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `[true false]`, `{"a":[1,{"b":null}],"c":"d"}`,
	`0`, `-0`, `01`, `-01`, `-`, `+1`, `1.`, `.5`, `1.5`, `1e`, `1e+`, `1E+5`, `1e-05`, `0.0e-0`, `-1.5E10`, `1.e5`,
	`123456789012345678901234567890`, `0x10`, `Infinity`, `NaN`, `1_000`,
	`true`, `false`, `null`, `tru`, `nul`, `truex`, `nulll`, `True`, `[nul]`,
	`""`, `"abc"`, `"a`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\u00e9"`, `"\u00E9"`, `"\u00zz"`, `"\u12"`, `"\x"`, `"\'"`,
	`"\ud800"`, "\"a\x00\"", "\"a\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"tab\there\"", "\ufeff{}",
	`"0123456789abcdef0123456789abcdef"`, `"0123456\"89abcdef"`, `"01234567\\"`, `"0123456789abcdef0123456789abcde`,
	"{\n        \"key\": \"value\",\n        \"n\": [1, 2, 3]\n}", "[                \t1]", "[1                ",
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000),
	strings.Repeat("[", 200) + strings.Repeat("]", 199), `[}`, `{]`, `[[]]]`,
	strings.Repeat(`[{"a":`, 100) + "1" + strings.Repeat("}]", 99) + "}}", // object/array bit 64 levels apart
	strings.Repeat(`[{"a":`, 100) + "1" + strings.Repeat("}]", 100),
}

// want is encoding/json's verdict, for documents within its nesting limit
// of 10000 (deeper ones are in deepCases).
func want(data []byte) bool { return json.Valid(data) }

// tooDeep reports whether encoding/json refuses data for its nesting alone
// being over its limit, where jsonvalid has none.
func tooDeep(data []byte) bool {
	var v json.RawMessage
	err := json.Unmarshal(data, &v)
	return err != nil && strings.Contains(err.Error(), "exceeded max depth")
}

// deepCases are documents deeper than encoding/json's limit, and whether
// they are JSON.
var deepCases = map[string]bool{
	strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000):                              true,
	strings.Repeat(`{"a":[`, 20_000) + "null" + strings.Repeat("]}", 20_000):                 true,
	strings.Repeat(`{"a":[`, 20_000) + "null" + strings.Repeat("]}", 19_999) + "]]":          false,
	strings.Repeat("[", 100_000) + strings.Repeat("]", 99_999):                               false,
	"[" + strings.Repeat(`{"a":`, 50_000) + "1" + strings.Repeat("}", 50_000) + "," + "]":    false,
	"[" + strings.Repeat(`{"a":`, 50_000) + "1" + strings.Repeat("}", 50_000) + "," + "2]":   true,
	"[" + strings.Repeat(`{"a":`, 50_000) + "1" + strings.Repeat("}", 50_000) + ",\"\x01\"]": false,
}

func TestDeepNesting(t *testing.T) {
	for doc, ok := range deepCases {
		if got := jsonvalid.Valid([]byte(doc)); got != ok {
			t.Errorf("Valid(%.40q... %d bytes) = %v, want %v", doc, len(doc), got, ok)
		}
		if g := gjson.Valid(doc); g != ok { // what ingress used before: same verdict
			t.Errorf("gjson.Valid(%.40q... %d bytes) = %v, want %v", doc, len(doc), g, ok)
		}
	}
}

func TestValidMatchesEncodingJSON(t *testing.T) {
	for _, c := range cases {
		if got, want := jsonvalid.Valid([]byte(c)), want([]byte(c)); got != want {
			t.Errorf("Valid(%.60q) = %v, encoding/json says %v", c, got, want)
		}
	}
	for _, body := range seeds(t) {
		if !jsonvalid.Valid(body) {
			t.Errorf("seed payload rejected: %.60q", body)
		}
		// Cut short anywhere, a document is invalid (or, for a bare number,
		// valid exactly when encoding/json says so).
		step := 1 + len(body)/2000 // every cut of the small seeds, every few bytes of Wineshipping's 10 KB
		for i := 0; i < len(body); i += step {
			if got, want := jsonvalid.Valid(body[:i]), json.Valid(body[:i]); got != want {
				t.Fatalf("Valid(prefix %d) = %v, encoding/json says %v", i, got, want)
			}
		}
	}
}

// Each byte of a string at each offset from an 8-byte boundary: the SWAR
// scan must find the first special byte wherever it falls.
func TestStringBytesAtEveryOffset(t *testing.T) {
	for pad := 0; pad < 17; pad++ {
		for c := 0; c < 256; c++ {
			for _, tail := range []string{`"`, `n"`, `u0041"`, `x`} {
				doc := []byte(`"` + strings.Repeat("a", pad) + string(rune(0)) + tail)
				doc[1+pad] = byte(c)
				if got, want := jsonvalid.Valid(doc), json.Valid(doc); got != want {
					t.Fatalf("Valid(%q) = %v, encoding/json says %v", doc, got, want)
				}
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, c := range cases {
		if len(c) < 1000 {
			f.Add([]byte(c))
		}
	}
	for _, body := range seeds(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if tooDeep(data) {
			return // the oracle refuses it for depth alone: TestDeepNesting covers such input
		}
		if got, want := jsonvalid.Valid(data), want(data); got != want {
			t.Fatalf("Valid(%.200q) = %v, encoding/json says %v", data, got, want)
		}
	})
}

func seeds(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../providers/*/testdata/seed-*.json")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no seed payloads: %v", err)
	}
	var out [][]byte
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") || strings.HasSuffix(f, ".headers.json") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// threadCPU is the calling thread's CPU time in ns.
func threadCPU() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkValid compares the validators on the seed payloads (about 15 KB
// in all; MB/s is over that).
func BenchmarkValid(b *testing.B) {
	bodies := seeds(b)
	size := 0
	for _, body := range bodies {
		size += len(body)
	}
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{
		{"jsonvalid", jsonvalid.Valid},
		{"gjson", gjson.ValidBytes},
		{"encoding-json", json.Valid},
	} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(size))
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			for b.Loop() {
				for _, body := range bodies {
					if !v.valid(body) {
						b.Fatal("invalid")
					}
				}
			}
			// CPU time holds still on a machine shared with other work,
			// where ns/op does not.
			b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
