// Package schematest checks JSON against the schemas in the repository's
// top-level schemas/ directory: the published contract of every CloudEvent
// data waybill writes (normalized events on SHIPMENTS, alerts on ALERTS).
// Tests of the code that produces those payloads call Validate, so a field
// renamed in Go but not in the schema, or the reverse, fails a test instead
// of a subscriber.
package schematest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Schema files in schemas/.
const (
	ShipmentEvent   = "shipment-event.v1.json"
	ShipmentStalled = "shipment-stalled.v1.json"
)

// ErrInvalid classifies data that does not satisfy its schema, as opposed
// to a schema that cannot be found or compiled.
var ErrInvalid = errors.New("schematest: data does not match schema")

var (
	rootOnce sync.Once
	root     string
	rootErr  error

	mu       sync.Mutex // guards compiled; the compiler is not safe for concurrent use
	compiled = map[string]*jsonschema.Schema{}
)

// Validate fails t unless data (one JSON document) satisfies
// schemas/<schemaFile>. Data that does not match is reported with t.Errorf,
// naming every violated keyword and where in data it is, so a table of
// payloads is checked in full; a schema that cannot be found or compiled
// stops the test with t.Fatalf.
func Validate(t testing.TB, schemaFile string, data []byte) {
	t.Helper()
	err := Check(schemaFile, data)
	switch {
	case err == nil:
	case errors.Is(err, ErrInvalid):
		t.Errorf("%v\ndata: %s", err, excerpt(data))
	default:
		t.Fatal(err)
	}
}

// ValidateEvent marshals e the way the normalizer publishes it and
// validates the JSON against shipment-event.v1.json.
func ValidateEvent(t testing.TB, e *tracking.Event) {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("schematest: marshal event %s: %v", e.ID, err)
	}
	Validate(t, ShipmentEvent, data)
}

// Check reports whether data satisfies schemas/<schemaFile>. A mismatch
// wraps ErrInvalid; any other error means the data could not be parsed as
// JSON, the schema could not be found or did not compile.
func Check(schemaFile string, data []byte) error {
	sch, err := Schema(schemaFile)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("schematest: data is not JSON: %w", err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("%w %s:\n%v", ErrInvalid, schemaFile, err)
	}
	return nil
}

// Schema compiles schemas/<schemaFile> with format assertions on (so
// date-time is checked, which draft 2020-12 leaves optional), once per file
// per test binary.
func Schema(schemaFile string) (*jsonschema.Schema, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if sch, ok := compiled[schemaFile]; ok {
		return sch, nil
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	sch, err := c.Compile(filepath.Join(dir, filepath.FromSlash(schemaFile)))
	if err != nil {
		return nil, fmt.Errorf("schematest: compile schemas/%s: %w", schemaFile, err)
	}
	compiled[schemaFile] = sch
	return sch, nil
}

// Dir is the repository's schemas/ directory, found by walking up from the
// working directory (a package directory under go test) to the directory
// holding go.work.
func Dir() (string, error) {
	r, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(r, "schemas"), nil
}

// RepoRoot is the directory holding go.work, at or above the working
// directory.
func RepoRoot() (string, error) {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			rootErr = fmt.Errorf("schematest: %w", err)
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				rootErr = errors.New("schematest: no go.work at or above the working directory")
				return
			}
			dir = parent
		}
	})
	return root, rootErr
}

// excerpt bounds the data quoted in a failure: a large payload would bury
// the violations.
func excerpt(data []byte) string {
	const limit = 2048
	if len(data) > limit {
		return string(data[:limit]) + "…"
	}
	return string(data)
}
