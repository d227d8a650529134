package console

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/waybill-dev/waybill/schemas"
)

// loadOpenAPI parses schemas/openapi.yaml (the embedded copy, which is
// what the console serves).
func loadOpenAPI(t *testing.T) libopenapi.Document {
	t.Helper()
	b, err := schemas.FS.ReadFile(schemas.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(b)
	if err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return doc
}

// apiClient calls the console and checks every JSON answer of a documented
// route against the OpenAPI document: status code, content type and body
// schema.
type apiClient struct {
	t      *testing.T
	h      *harness
	client *http.Client
	// auth is applied to each request: bearer token by default.
	auth func(*http.Request)
}

func (h *harness) api(t *testing.T) *apiClient {
	t.Helper()
	v, errs := validator.NewValidator(loadOpenAPI(t))
	if len(errs) > 0 {
		t.Fatalf("openapi validator: %v", errs)
	}
	return &apiClient{
		t: t, h: h,
		client: &http.Client{Transport: &validatingTransport{t: t, v: v, base: http.DefaultTransport},
			// Redirects are answers to check, not to follow.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		auth: func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+h.Token) },
	}
}

// withAuth returns a client that authenticates with set instead.
func (c *apiClient) withAuth(set func(*http.Request)) *apiClient {
	cc := *c
	cc.auth = set
	return &cc
}

// unvalidated returns a client whose answers are not checked against the
// document: for routes the document rightly does not have.
func (c *apiClient) unvalidated() *apiClient {
	cc := *c
	cc.client = &http.Client{}
	return &cc
}

// do sends a request and returns the status and body.
func (c *apiClient) do(method, path string, body io.Reader, header http.Header) (*http.Response, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.h.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if c.auth != nil {
		c.auth(req)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp, b
}

// getJSON GETs path, wants status, and decodes the body into out (if not nil).
func (c *apiClient) getJSON(path string, status int, out any) []byte {
	c.t.Helper()
	resp, b := c.do(http.MethodGet, path, nil, nil)
	if resp.StatusCode != status {
		c.t.Fatalf("GET %s: %d %s, want %d", path, resp.StatusCode, b, status)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("GET %s: %v in %s", path, err, b)
		}
	}
	return b
}

// wantError checks an error answer: status, JSON body, parameter named.
func wantError(t *testing.T, what string, resp *http.Response, body []byte, status int, parameter string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: status %d (%s), want %d", what, resp.StatusCode, body, status)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", what, ct)
	}
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %s is not an error", what, body)
		return
	}
	if e.Parameter != parameter {
		t.Errorf("%s: parameter %q, want %q (%s)", what, e.Parameter, parameter, e.Error)
	}
}

// validatingTransport validates every response of a documented API route
// against the OpenAPI document (live-event streams only by status and
// content type: their body never ends).
type validatingTransport struct {
	t    *testing.T
	v    validator.Validator
	base http.RoundTripper
}

func (vt *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := vt.base.RoundTrip(req)
	if err != nil || !strings.HasPrefix(req.URL.Path, apiPrefix+"/") {
		return resp, err
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	check := *resp
	check.Body = io.NopCloser(bytes.NewReader(b))
	if ok, errs := vt.v.ValidateHttpResponse(req, &check); !ok {
		for _, e := range errs {
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += "\n\t" + se.FieldPath + " (" + se.KeywordLocation + "): " + se.Reason
			}
			vt.t.Errorf("%s %s -> %d does not match openapi.yaml: %s\nbody: %.400s", req.Method, req.URL.Path, resp.StatusCode, msg, b)
		}
	}
	return resp, nil
}

// repoFile reads a file of the repository by its path from the root.
func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
