package schematest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/schematest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// validEvent is a fully populated normalized event: every optional field set.
func validEvent(t testing.TB) *tracking.Event {
	t.Helper()
	e := &tracking.Event{
		Carrier: "USPS", TrackingNumber: "9400 1000 0000 0000 0000 00",
		Status: tracking.Exception, Substatus: "weather_delay",
		CarrierStatus: "07", Message: "Delayed due to weather",
		Location:          tracking.Location{City: "Memphis", State: "TN", PostalCode: "38118", Country: "US"},
		Source:            "usps",
		RawEventID:        "r-1",
		References:        map[string]string{"order_id": "O-1", "device_id": "D-9"},
		EstimatedDelivery: "2026-01-05",
		Late:              true,
	}
	e.SetMoment(tracking.Moment{
		At:        time.Date(2026, 1, 2, 9, 30, 0, 0, time.FixedZone("CST", -6*3600)),
		Precision: tracking.PrecisionSecond, Local: "January 2, 2026 9:30 am",
		Zone: "America/Chicago", ZoneSource: tracking.ZoneFromZIP, Inferred: true,
	})
	e.Normalize()
	return e
}

// eventMap is e's JSON as a map, to be broken one field at a time.
func eventMap(t testing.TB, e *tracking.Event) map[string]any {
	t.Helper()
	data, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestValidEvents(t *testing.T) {
	full := validEvent(t)
	schematest.ValidateEvent(t, full)

	// The least an event can be: every omitempty field left out, location empty.
	minimal := &tracking.Event{
		Carrier: "ups", TrackingNumber: "1Z999", Status: tracking.Unknown,
		OccurredAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), OccurredAtPrecision: tracking.PrecisionDay,
		Source: "tenovi", RawEventID: "x",
	}
	minimal.Normalize()
	schematest.ValidateEvent(t, minimal)

	for _, s := range tracking.Statuses {
		e := validEvent(t)
		e.Status = s
		e.Normalize()
		schematest.ValidateEvent(t, e)
	}
}

func TestBrokenEventsRejected(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(m map[string]any)
		want   string // a fragment of the violation
	}{
		{"status outside the taxonomy", func(m map[string]any) { m["status"] = "lost" }, "status"},
		{"status in the wrong case", func(m map[string]any) { m["status"] = "Delivered" }, "status"},
		{"missing carrier", func(m map[string]any) { delete(m, "carrier") }, "carrier"},
		{"missing late", func(m map[string]any) { delete(m, "late") }, "late"},
		{"missing location", func(m map[string]any) { delete(m, "location") }, "location"},
		{"extra field", func(m map[string]any) { m["received_at"] = "2026-01-02T03:04:05Z" }, "received_at"},
		{"extra location field", func(m map[string]any) {
			m["location"].(map[string]any)["street"] = "1 Main St"
		}, "street"},
		{"date-time not a date", func(m map[string]any) { m["occurred_at"] = "yesterday" }, "occurred_at"},
		{"date-time without offset", func(m map[string]any) { m["occurred_at"] = "2026-01-02T03:04:05" }, "occurred_at"},
		{"date-time month 13", func(m map[string]any) { m["occurred_at"] = "2026-13-02T03:04:05Z" }, "occurred_at"},
		{"occurred_at a number", func(m map[string]any) { m["occurred_at"] = 1767323045 }, "occurred_at"},
		{"precision", func(m map[string]any) { m["occurred_at_precision"] = "minute" }, "occurred_at_precision"},
		{"timezone source", func(m map[string]any) { m["timezone_source"] = "guess" }, "timezone_source"},
		{"late a string", func(m map[string]any) { m["late"] = "false" }, "late"},
		{"reference not a string", func(m map[string]any) {
			m["references"].(map[string]any)["order_id"] = 42
		}, "order_id"},
		{"null substatus", func(m map[string]any) { m["substatus"] = nil }, "substatus"},
		{"id not a hash", func(m map[string]any) { m["id"] = "evt-1" }, "id"},
		{"carrier upper case", func(m map[string]any) { m["carrier"] = "USPS" }, "carrier"},
		{"tracking number with a space", func(m map[string]any) { m["tracking_number"] = "9400 1000" }, "tracking_number"},
		{"empty source", func(m map[string]any) { m["source"] = "" }, "source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := eventMap(t, validEvent(t))
			tt.break_(m)
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			err = schematest.Check(schematest.ShipmentEvent, data)
			if !errors.Is(err, schematest.ErrInvalid) {
				t.Fatalf("want ErrInvalid, got %v\ndata: %s", err, data)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not name %q:\n%v", tt.want, err)
			}
		})
	}
}

func TestCheckErrorsAreClassified(t *testing.T) {
	if err := schematest.Check("no-such-schema.v1.json", []byte(`{}`)); err == nil || errors.Is(err, schematest.ErrInvalid) {
		t.Errorf("missing schema: got %v, want an error that is not ErrInvalid", err)
	}
	if err := schematest.Check(schematest.ShipmentEvent, []byte(`{"id": `)); err == nil || errors.Is(err, schematest.ErrInvalid) {
		t.Errorf("not JSON: got %v, want an error that is not ErrInvalid", err)
	}
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors, fatals []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatal(args ...any) { r.fatals = append(r.fatals, fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

func TestValidateReportsReadably(t *testing.T) {
	m := eventMap(t, validEvent(t))
	m["status"] = "lost"
	delete(m, "carrier")
	data, _ := json.Marshal(m)

	r := &recorder{TB: t}
	schematest.Validate(r, schematest.ShipmentEvent, data)
	if len(r.errors) != 1 || len(r.fatals) != 0 {
		t.Fatalf("errors %q, fatals %q; want one error", r.errors, r.fatals)
	}
	msg := r.errors[0]
	for _, want := range []string{schematest.ShipmentEvent, "carrier", "status", `"lost"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("report does not mention %s:\n%s", want, msg)
		}
	}

	r = &recorder{TB: t}
	schematest.Validate(r, "no-such-schema.v1.json", data)
	if len(r.fatals) != 1 {
		t.Errorf("a missing schema must stop the test: errors %q, fatals %q", r.errors, r.fatals)
	}
}

// The schemas are hand-written; these checks keep them equal to the Go
// types they describe, field by field, so a rename or a new field in either
// fails here first.
func TestSchemasMatchGoTypes(t *testing.T) {
	event := loadSchema(t, schematest.ShipmentEvent)
	compareFields(t, "shipment-event", event, reflect.TypeFor[tracking.Event]())
	location := event.Properties["location"]
	compareFields(t, "shipment-event location", location, reflect.TypeFor[tracking.Location]())
	compareEnum(t, "occurred_at_precision", event.Properties["occurred_at_precision"].Enum,
		[]string{string(tracking.PrecisionDay), string(tracking.PrecisionSecond)})
	compareEnum(t, "timezone_source", event.Properties["timezone_source"].Enum, []string{
		string(tracking.ZoneFromOffset), string(tracking.ZoneFromZIP), string(tracking.ZoneFromState),
		string(tracking.ZoneFromCountry), string(tracking.ZoneFromUTC),
	})

	stalled := loadSchema(t, schematest.ShipmentStalled)
	compareFields(t, "shipment-stalled", stalled, reflect.TypeFor[tracking.Stalled]())

	var statuses []string
	for _, s := range tracking.Statuses {
		statuses = append(statuses, string(s))
	}
	compareEnum(t, "shipment-event status", event.Defs["status"].Enum, statuses)
	compareEnum(t, "shipment-stalled status", stalled.Defs["status"].Enum, statuses)
}

func TestSchemaFilesWellFormed(t *testing.T) {
	dir, err := schematest.Dir()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no schemas in %s (%v)", dir, err)
	}
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) {
			if _, err := schematest.Schema(name); err != nil {
				t.Fatal(err)
			}
			s := loadSchema(t, name)
			if want := "https://waybill.dev/schemas/" + name; s.ID != want {
				t.Errorf("$id %q, want %q", s.ID, want)
			}
			if s.Schema != "https://json-schema.org/draft/2020-12/schema" {
				t.Errorf("$schema %q, want draft 2020-12", s.Schema)
			}
			if s.Title == "" || s.Description == "" {
				t.Error("missing title or description")
			}
			if string(s.AdditionalProperties) != "false" {
				t.Error("additionalProperties must be false at the top level")
			}
			for prop, ps := range s.Properties {
				desc := ps.Description
				if ref, ok := strings.CutPrefix(ps.Ref, "#/$defs/"); ok {
					desc = s.Defs[ref].Description
				}
				if desc == "" {
					t.Errorf("property %s has no description", prop)
				}
			}
		})
	}
}

// schemaDoc is the part of a schema file the checks above read.
type schemaDoc struct {
	Schema               string               `json:"$schema"`
	ID                   string               `json:"$id"`
	Ref                  string               `json:"$ref"`
	Title                string               `json:"title"`
	Description          string               `json:"description"`
	Required             []string             `json:"required"`
	AdditionalProperties json.RawMessage      `json:"additionalProperties"`
	Properties           map[string]schemaDoc `json:"properties"`
	Defs                 map[string]schemaDoc `json:"$defs"`
	Enum                 []string             `json:"enum"`
}

func loadSchema(t *testing.T, file string) schemaDoc {
	t.Helper()
	dir, err := schematest.Dir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var s schemaDoc
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return s
}

// compareFields checks that s has one property per JSON field of typ and
// requires exactly the fields encoding/json always writes (no omitempty).
func compareFields(t *testing.T, what string, s schemaDoc, typ reflect.Type) {
	t.Helper()
	var fields, required []string
	for f := range typ.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		fields = append(fields, name)
		if !strings.Contains(","+opts+",", ",omitempty,") {
			required = append(required, name)
		}
	}
	var props []string
	for p := range s.Properties {
		props = append(props, p)
	}
	slices.Sort(fields)
	slices.Sort(props)
	slices.Sort(required)
	req := slices.Sorted(slices.Values(s.Required))
	if !slices.Equal(fields, props) {
		t.Errorf("%s: schema properties %v, Go %s fields %v", what, props, typ.Name(), fields)
	}
	if !slices.Equal(required, req) {
		t.Errorf("%s: schema requires %v, Go %s always writes %v", what, req, typ.Name(), required)
	}
}

func compareEnum(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s enum %v, want %v (in this order)", what, got, want)
	}
}
