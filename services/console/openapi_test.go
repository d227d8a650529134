package console

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	validator "github.com/pb33f/libopenapi-validator"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// TestOpenAPIDocumentIsValid parses schemas/openapi.yaml as OpenAPI 3.1 and
// validates it against the OpenAPI 3.1 meta-schema.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if v := doc.GetVersion(); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi version %q, want 3.1.x", v)
	}
	if _, err := doc.BuildV3Model(); err != nil {
		t.Fatalf("build model: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("\t%s %s: %s", se.FieldPath, se.KeywordLocation, se.Reason)
			}
		}
	}
}

// TestOpenAPIDocumentsEveryRoute checks the routes the server registers
// against the document's operations, both ways.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	model, err := loadOpenAPI(t).BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for pair := model.Model.Paths.PathItems.First(); pair != nil; pair = pair.Next() {
		for op := pair.Value().GetOperations().First(); op != nil; op = op.Next() {
			documented = append(documented, strings.ToUpper(op.Key())+" "+pair.Key())
		}
	}
	var registered []string
	for _, rt := range (&server{}).routes() {
		registered = append(registered, rt.pattern)
	}
	slices.Sort(documented)
	slices.Sort(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("route %q is not in openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("openapi.yaml documents %q, which the server does not serve", d)
		}
	}
}

// TestOpenAPIStatusEnumIsTheTaxonomy keeps the document's Status enum in
// step with pkg/tracking.
func TestOpenAPIStatusEnumIsTheTaxonomy(t *testing.T) {
	model, err := loadOpenAPI(t).BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	proxy, ok := model.Model.Components.Schemas.Get("Status")
	if !ok {
		t.Fatal("no Status schema")
	}
	var got []string
	for _, n := range proxy.Schema().Enum {
		got = append(got, n.Value)
	}
	var want []string
	for _, s := range tracking.Statuses {
		want = append(want, string(s))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Status enum %v, want %v (tracking.Statuses, rank order)", got, want)
	}
}

func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t)
	resp, body := h.api(t).do(http.MethodGet, "/api/v1/openapi.yaml", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "yaml") {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if string(body) != string(repoFile(t, "schemas/openapi.yaml")) {
		t.Error("served document differs from schemas/openapi.yaml")
	}
}

// TestResponseValidationCatchesDrift proves the API tests' response check
// has teeth: an answer with an undocumented field, a wrong type or a
// missing required field is reported.
func TestResponseValidationCatchesDrift(t *testing.T) {
	v, errs := validator.NewValidator(loadOpenAPI(t))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for name, body := range map[string]string{
		"undocumented field": `{"shipments":[],"surprise":1}`,
		"wrong type":         `{"shipments":{}}`,
		"missing field":      `{"next_cursor":"x"}`,
		"bad status":         `{"shipments":[{"shipment_key":"ups:1","carrier":"ups","tracking_number":"1","status":"lost","status_at":"2026-01-01T00:00:00Z","last_event_id":"e","references":{},"event_count":1,"first_seen_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"}]}`,
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://console/api/v1/shipments", nil)
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: req}
		if ok, _ := v.ValidateHttpResponse(req, resp); ok {
			t.Errorf("%s: %s passed validation", name, body)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://console/api/v1/shipments", nil)
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"shipments":[]}`)), Request: req}
	if ok, errs := v.ValidateHttpResponse(req, resp); !ok {
		t.Errorf("a good answer failed: %v", errs)
	}
}
