// Package providertest is the conformance suite every provider package
// passes: identity stability, golden normalization of its fixtures, event
// validity against schemas/shipment-event.v1.json, determinism, and fuzzing
// without panics. Adding a provider means
// adding fixtures under its testdata/, not inventing tests.
//
// Fixtures: testdata/<name>.json is a webhook body; testdata/<name>.headers.json
// (optional) a JSON object of request headers; testdata/<name>.golden.json the
// expected identity and events, rewritten by `go test -update`. A fixture
// whose name starts with "invalid-" must fail Identify with ErrInvalid; one
// whose name starts with "unmappable-" must fail Map with ErrUnmappable; one
// starting with "notshipment-" must fail Map with ErrNotShipment.
package providertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/schematest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// ReceivedAt is the receipt time fixtures are mapped with.
var ReceivedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Fixture is one webhook from testdata.
type Fixture struct {
	Name    string
	Body    []byte
	Headers map[string]string
}

// Request builds the providers.Request ingress would hand over.
func (f Fixture) Request() providers.Request {
	h := http.Header{}
	for k, v := range f.Headers {
		h.Set(k, v)
	}
	return providers.Request{Body: f.Body, Header: h.Get}
}

// Fixtures reads every testdata/*.json webhook body (not headers or goldens).
func Fixtures(t testing.TB) []Fixture {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []Fixture
	for _, p := range paths {
		if strings.HasSuffix(p, ".headers.json") || strings.HasSuffix(p, ".golden.json") {
			continue
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		f := Fixture{Name: name, Body: body}
		if hb, err := os.ReadFile(filepath.Join("testdata", name+".headers.json")); err == nil {
			if err := json.Unmarshal(hb, &f.Headers); err != nil {
				t.Fatalf("%s.headers.json: %v", name, err)
			}
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		t.Fatal("providertest: no fixtures in testdata/")
	}
	return out
}

// Raw builds the raw message the normalizer would map for an identified fixture.
func Raw(p providers.Provider, id providers.Identity, body []byte) providers.Raw {
	ext := map[string]string{}
	for _, e := range id.Extensions {
		ext[e.Name] = e.Value
	}
	return providers.Raw{
		Source: p.Info().Name, ID: id.ID, Type: id.Type, Subject: id.Subject,
		Time: ReceivedAt, Extensions: ext, Data: body,
	}
}

// Golden is the checked-in expectation for one fixture.
type Golden struct {
	Identity *providers.Identity `json:"identity,omitempty"`
	Events   []tracking.Event    `json:"events"`
	Error    string              `json:"error,omitempty"`
}

// Run is the conformance suite. Call it from the provider package's test.
func Run(t *testing.T, p providers.Provider) {
	t.Helper()
	info := p.Info()
	if info.Name == "" || strings.ToLower(info.Name) != info.Name {
		t.Fatalf("provider name %q must be non-empty lower case", info.Name)
	}
	if got, ok := providers.Lookup(info.Name); !ok || got.Info().Name != info.Name {
		t.Fatalf("provider %q is not registered", info.Name)
	}
	for _, f := range Fixtures(t) {
		t.Run(f.Name, func(t *testing.T) { runFixture(t, p, f) })
	}
}

func runFixture(t *testing.T, p providers.Provider, f Fixture) {
	var g Golden
	id, err := p.Identify(f.Request())
	if strings.HasPrefix(f.Name, "invalid-") {
		if !errors.Is(err, providers.ErrInvalid) {
			t.Fatalf("Identify: want ErrInvalid, got %v", err)
		}
		g.Error = err.Error()
		compareGolden(t, f.Name, g)
		return
	}
	if err != nil {
		t.Fatalf("Identify: %v", err)
	}
	if id.ID == "" || id.Type == "" {
		t.Fatalf("Identify: empty id or type: %+v", id)
	}
	for _, e := range id.Extensions {
		if !validExtensionName(e.Name) {
			t.Errorf("extension name %q: CloudEvents allows lower-case letters and digits only", e.Name)
		}
	}
	again, err := p.Identify(f.Request())
	if err != nil || !reflect.DeepEqual(id, again) {
		t.Fatalf("Identify is not stable: %+v then %+v (%v)", id, again, err)
	}
	g.Identity = &id

	events, err := p.Map(Raw(p, id, f.Body))
	switch {
	case strings.HasPrefix(f.Name, "unmappable-"):
		if !errors.Is(err, providers.ErrUnmappable) {
			t.Fatalf("Map: want ErrUnmappable, got %v", err)
		}
		g.Error = err.Error()
	case strings.HasPrefix(f.Name, "notshipment-"):
		if !errors.Is(err, providers.ErrNotShipment) {
			t.Fatalf("Map: want ErrNotShipment, got %v", err)
		}
		g.Error = err.Error()
	case err != nil:
		t.Fatalf("Map: %v", err)
	default:
		if len(events) == 0 {
			t.Fatal("Map: no events and no error (use ErrNotShipment for non-shipment messages)")
		}
		for i := range events {
			events[i].Normalize()
			if err := events[i].Validate(); err != nil {
				t.Errorf("event %d: %v", i, err)
			}
			if events[i].Source != p.Info().Name {
				t.Errorf("event %d: source %q, want %q", i, events[i].Source, p.Info().Name)
			}
			schematest.ValidateEvent(t, &events[i]) // the published contract
			if events[i].RawEventID != id.ID {
				t.Errorf("event %d: raw_event_id %q, want %q", i, events[i].RawEventID, id.ID)
			}
		}
		again, _ := p.Map(Raw(p, id, f.Body))
		for i := range again {
			again[i].Normalize()
		}
		if !reflect.DeepEqual(events, again) {
			t.Fatal("Map is not deterministic")
		}
		g.Events = events
	}
	compareGolden(t, f.Name, g)
}

func compareGolden(t *testing.T, name string, g Golden) {
	t.Helper()
	got, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", name+".golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it, then review it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", path, got)
	}
}

func validExtensionName(n string) bool {
	if n == "" || len(n) > 20 {
		return false
	}
	for _, c := range n {
		if !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// Fuzz feeds arbitrary bodies and request headers through Identify and Map,
// seeded with the fixtures (each with its own headers) and the bad-input
// corpus (docs/bad-input.md): all of it for the seed-* payloads, the
// wrong-type walk once per shape (msg.checkpoints.#.tag, not once per
// checkpoint) to keep the baseline short; years for every fixture too,
// once per shape, as their time formats differ. Neither may
// panic. A body that identifies must identify the same way twice, and map,
// the same way twice, to events that validate, carry a contract subject
// and honour the schema; or fail with a classified error. Bodies that are
// not JSON are skipped: ingress answers 400 before Identify.
func Fuzz(f *testing.F, p providers.Provider) {
	shapes := map[string]bool{}
	for _, fx := range Fixtures(f) {
		hdr := HeaderText(fx.Headers)
		f.Add(fx.Body, hdr)
		var subject string
		if id, err := p.Identify(fx.Request()); err == nil {
			subject = id.Subject
		}
		seed := strings.HasPrefix(fx.Name, "seed-")
		for _, v := range BadInputs(fx.Body, subject, 200) {
			switch {
			case v.Kind == KindWrongType && seed:
				if key := shape(v.Name); !shapes[key] {
					shapes[key] = true
					f.Add(v.Body, hdr)
				}
			case v.Kind == KindYear:
				if key := fx.Name + shape(v.Name); !shapes[key] {
					shapes[key] = true
					f.Add(v.Body, hdr)
				}
			case seed:
				f.Add(v.Body, hdr)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, headers string) {
		if !gjson.ValidBytes(body) {
			return // ingress rejects invalid JSON before Identify
		}
		req := Fixture{Body: body, Headers: ParseHeaderText(headers)}.Request()
		id, err := p.Identify(req)
		if err != nil {
			if !errors.Is(err, providers.ErrInvalid) {
				t.Fatalf("Identify error not classified: %v", err)
			}
			return
		}
		if id.ID == "" || id.Type == "" {
			t.Fatalf("Identify: empty id or type: %+v", id)
		}
		for _, e := range id.Extensions {
			if !validExtensionName(e.Name) {
				t.Fatalf("extension name %q: CloudEvents allows lower-case letters and digits only", e.Name)
			}
		}
		if again, err := p.Identify(req); err != nil || !reflect.DeepEqual(id, again) {
			t.Fatalf("Identify is not stable: %+v then %+v (%v)", id, again, err)
		}
		events, err := mapNormalized(p, id, body)
		if err != nil {
			if !errors.Is(err, providers.ErrUnmappable) && !errors.Is(err, providers.ErrNotShipment) {
				t.Fatalf("Map error not classified: %v", err)
			}
			return
		}
		if len(events) == 0 {
			t.Fatal("Map: no events and no error: the message would vanish")
		}
		for i := range events {
			if e := &events[i]; len(e.TrackingNumber) > tracking.MaxTrackingNumberLen || len(e.Carrier) > tracking.MaxCarrierLen {
				// Validate refuses it and the normalizer dead-letters the
				// message (docs/bad-input.md): providers need not check.
				if e.Validate() == nil {
					t.Fatalf("Validate accepts a %d-byte tracking number, %d-byte carrier", len(e.TrackingNumber), len(e.Carrier))
				}
				return
			}
			CheckEvent(t, p, id, &events[i])
		}
		if again, _ := mapNormalized(p, id, body); !reflect.DeepEqual(events, again) {
			t.Fatal("Map is not deterministic: event ids would not be stable")
		}
	})
}

// shape is a variant's name with array indexes as '#'.
func shape(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '.' || r == '=' || r == ' ' })
	for i, part := range parts {
		if _, err := strconv.Atoi(part); err == nil {
			parts[i] = "#"
		}
	}
	return strings.Join(parts, ".")
}

func mapNormalized(p providers.Provider, id providers.Identity, body []byte) ([]tracking.Event, error) {
	events, err := p.Map(Raw(p, id, body))
	for i := range events {
		events[i].Normalize()
	}
	return events, err
}

// CheckEvent fails t unless e, a normalized event p mapped from the webhook
// identified as id, validates, names p and id, honours the schema and has a
// SHIPMENTS subject per the contract: four tokens, none a wildcard or empty,
// the tracking token upper case [A-Z0-9-] with anything else as '_'.
func CheckEvent(t testing.TB, p providers.Provider, id providers.Identity, e *tracking.Event) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Fatalf("event invalid: %v", err)
	}
	if e.Source != p.Info().Name || e.RawEventID != id.ID {
		t.Fatalf("event source %q raw_event_id %q, want %q %q", e.Source, e.RawEventID, p.Info().Name, id.ID)
	}
	if e.ShipmentKey != e.Carrier+":"+e.TrackingNumber || e.ID == "" || e.ID != tracking.EventID(e) {
		t.Fatalf("event key %q id %q for %s:%s", e.ShipmentKey, e.ID, e.Carrier, e.TrackingNumber)
	}
	if err := CheckSubject(e); err != nil {
		t.Fatal(err)
	}
	schematest.ValidateEvent(t, e)
}

// CheckSubject reports whether e's SHIPMENTS subject honours the contract.
func CheckSubject(e *tracking.Event) error {
	subject := e.Subject()
	tokens := strings.Split(subject, ".")
	switch {
	case len(tokens) != 4 || tokens[0] != "shipments" || tokens[3] != string(e.Status):
		return fmt.Errorf("subject %q: want shipments.<carrier>.<tracking>.%s", subject, e.Status)
	case !tokenOf(tokens[1], "abcdefghijklmnopqrstuvwxyz0123456789-_"):
		return fmt.Errorf("subject %q: carrier token %q", subject, tokens[1])
	case !tokenOf(tokens[2], "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"):
		return fmt.Errorf("subject %q: tracking token %q", subject, tokens[2])
	case len(tokens[2]) != len(e.TrackingNumber):
		return fmt.Errorf("subject %q: tracking token %q is not one byte per byte of %q", subject, tokens[2], e.TrackingNumber)
	}
	return nil
}

func tokenOf(tok, alphabet string) bool {
	if tok == "" {
		return false
	}
	for i := 0; i < len(tok); i++ {
		if !strings.ContainsRune(alphabet, rune(tok[i])) {
			return false
		}
	}
	return true
}

// HeaderText writes headers as "Name: value" lines, sorted: the fuzzers'
// second argument.
func HeaderText(h map[string]string) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + ": " + h[k] + "\n")
	}
	return b.String()
}

// ParseHeaderText reads HeaderText's lines; a line without a colon is skipped.
func ParseHeaderText(s string) map[string]string {
	h := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			h[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return h
}
