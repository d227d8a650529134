package providertest_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers/providertest"
)

const sample = ` {"a": {"b": [1, "two", null, {"c": true}]}, "a": "dup", "t": "2024-01-15T10:30:00Z", "u": "October 20, 2025", "n": "1Z999AA10123456784"}`

func TestWrongTypesReplaceOneValue(t *testing.T) {
	vs := providertest.WrongTypes([]byte(sample))
	paths := map[string]int{}
	for _, v := range vs {
		if !json.Valid(v.Body) {
			t.Fatalf("%s: not JSON: %s", v.Name, v.Body)
		}
		paths[v.Path]++
		// Everything before the replaced value is kept byte for byte.
		r := gjson.GetBytes([]byte(sample), v.Path)
		if !bytes.HasPrefix(v.Body, []byte(sample[:r.Index])) {
			t.Errorf("%s: prefix changed: %s", v.Name, v.Body)
		}
	}
	// Every value below the root, the repeated key's both occurrences
	// included, gets the five other types.
	want := []string{"a", "a.b", "a.b.0", "a.b.1", "a.b.2", "a.b.3", "a.b.3.c", "t", "u", "n"}
	for _, p := range want {
		if paths[p] < 5 {
			t.Errorf("path %s: %d variants", p, paths[p])
		}
	}
	if paths["a"] != 10 {
		t.Errorf("repeated key a: %d variants, want 10 (5 per occurrence)", paths["a"])
	}
}

func TestCorpusKinds(t *testing.T) {
	kinds := map[string]int{}
	for _, v := range providertest.BadInputs([]byte(sample), "1Z999AA10123456784", 50) {
		kinds[v.Kind]++
		switch v.Kind {
		case providertest.KindTruncated:
			if json.Valid(v.Body) {
				t.Errorf("%s is valid JSON", v.Name)
			}
		case providertest.KindYear:
			if !strings.Contains(string(v.Body), "0000") && !strings.Contains(string(v.Body), "9999") {
				t.Errorf("%s: %s", v.Name, v.Body)
			}
		case providertest.KindWildcard:
			if !json.Valid(v.Body) || strings.Contains(string(v.Body), "1Z999AA10123456784") {
				t.Errorf("%s: %s", v.Name, v.Body)
			}
		}
	}
	if kinds[providertest.KindYear] != 4 { // two timestamps, two years each
		t.Errorf("year variants: %d", kinds[providertest.KindYear])
	}
	for _, k := range []string{providertest.KindTruncated, providertest.KindWrongType, providertest.KindNested, providertest.KindUTF8, providertest.KindWildcard} {
		if kinds[k] == 0 {
			t.Errorf("no %s variants", k)
		}
	}
}
