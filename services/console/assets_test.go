package console

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAssetsAndOps: the web console is served without authentication,
// client-side routes get index.html, every answer carries the security
// headers, and the operational endpoints answer.
func TestAssetsAndOps(t *testing.T) {
	h := newHarness(t)
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := http.Get(h.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	_, index := get("/")
	if !strings.Contains(strings.ToLower(index), "<html") {
		t.Fatalf("/ is not the page: %.200s", index)
	}
	for _, path := range []string{"/", "/index.html", "/shipments", "/shipments/ups/1Z999AA10123456784", "/deadletters/12", "/live"} {
		resp, body := get(path)
		if resp.StatusCode != http.StatusOK || body != index || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
	}
	if resp, _ := get("/missing.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing asset: %d", resp.StatusCode)
	}
	resp, err := http.Post(h.URL+"/", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", resp.StatusCode)
	}
	// API answers carry the same headers and are never cached.
	r, _ := h.api(t).do(http.MethodGet, "/api/v1/stats", nil, nil)
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("API headers %v", r.Header)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if resp, body := get(path); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	if resp, body := get("/metrics"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "waybill_console_requests_total") {
		t.Errorf("/metrics: %d", resp.StatusCode)
	}
}
