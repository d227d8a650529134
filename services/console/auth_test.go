package console

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// routePath is a request path for a route pattern, its wildcards filled.
func routePath(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	r := strings.NewReplacer("{carrier}", "ups", "{tracking}", "1Z1", "{seq}", "1")
	return method, r.Replace(path)
}

// TestEveryRouteNeedsAuth: without credentials, with a wrong bearer token,
// a forged, foreign or expired session cookie, every API route but the
// login answers 401 with a JSON error.
func TestEveryRouteNeedsAuth(t *testing.T) {
	h := newHarness(t)
	other := deriveKeys("another-console-token-0123456789")
	mine := deriveKeys(h.Token)
	cases := []struct {
		name string
		set  func(*http.Request)
	}{
		{"no credentials", func(*http.Request) {}},
		{"wrong bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+h.Token+"x") }},
		{"token prefix", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+h.Token[:16]) }},
		{"basic scheme", func(r *http.Request) { r.SetBasicAuth("admin", h.Token) }},
		{"forged cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: "garbage"}) }},
		{"cookie of another token", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: other.newSession(time.Now().Add(time.Hour))})
		}},
		{"expired cookie", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: mine.newSession(time.Now().Add(-time.Second))})
		}},
		{"wrong bearer beside a good cookie", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer nope")
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: mine.newSession(time.Now().Add(time.Hour))})
		}},
	}
	api := h.api(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			anon := api.withAuth(c.set)
			for _, rt := range (&server{}).routes() {
				if rt.public {
					continue
				}
				method, path := routePath(rt.pattern)
				// Same-origin, so only authentication can refuse them.
				resp, body := anon.do(method, path, nil, http.Header{"Origin": {h.URL}})
				wantError(t, rt.pattern, resp, body, http.StatusUnauthorized, "")
			}
			resp, body := anon.unvalidated().do(http.MethodGet, "/api/v1/nothing-here", nil, nil)
			wantError(t, "unknown API route", resp, body, http.StatusUnauthorized, "")
		})
	}
	// Authenticated, an unknown API route is a JSON 404.
	resp, body := api.unvalidated().do(http.MethodGet, "/api/v1/nothing-here", nil, nil)
	wantError(t, "unknown API route", resp, body, http.StatusNotFound, "")
}

func sessionFrom(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", SessionCookie, resp.Header["Set-Cookie"])
	return nil
}

func TestSessionLoginAndLogout(t *testing.T) {
	h := newHarness(t)
	anon := h.api(t).withAuth(func(*http.Request) {})
	jsonHdr := http.Header{"Content-Type": {"application/json"}}

	resp, body := anon.do(http.MethodPost, "/api/v1/session", strings.NewReader(`{"token":"wrong-token-wrong-token"}`), jsonHdr)
	wantError(t, "wrong token", resp, body, http.StatusUnauthorized, "token")
	if len(resp.Cookies()) != 0 {
		t.Error("a wrong token got a cookie")
	}
	resp, body = anon.do(http.MethodPost, "/api/v1/session", strings.NewReader(`{"tok`), jsonHdr)
	wantError(t, "bad JSON", resp, body, http.StatusBadRequest, "token")

	resp, _ = anon.do(http.MethodPost, "/api/v1/session", strings.NewReader(`{"token":"`+h.Token+`"}`), jsonHdr)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("login %d", resp.StatusCode)
	}
	c := sessionFrom(t, resp)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure || c.MaxAge <= 0 {
		t.Errorf("cookie %+v", c)
	}
	if strings.Contains(c.Value, h.Token) {
		t.Error("the cookie holds the token")
	}
	withCookie := anon.withAuth(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value}) })
	withCookie.getJSON("/api/v1/shipments", http.StatusOK, nil)
	withCookie.getJSON("/api/v1/stats", http.StatusOK, nil)

	// A form login behind a TLS-terminating proxy gets a Secure cookie.
	form := url.Values{"token": {h.Token}}.Encode()
	resp, _ = anon.do(http.MethodPost, "/api/v1/session", strings.NewReader(form), http.Header{
		"Content-Type": {"application/x-www-form-urlencoded"}, "X-Forwarded-Proto": {"https"}, "Origin": {h.URL},
	})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("form login %d", resp.StatusCode)
	}
	if c := sessionFrom(t, resp); !c.Secure {
		t.Errorf("cookie over https not Secure: %+v", c)
	}

	// Another replica with the same token accepts the cookie: it is stateless.
	if !deriveKeys(h.Token).sessionOK(c.Value, time.Now()) {
		t.Error("another replica rejects the session")
	}

	resp, _ = withCookie.do(http.MethodDelete, "/api/v1/session", nil, http.Header{"Origin": {h.URL}})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout %d", resp.StatusCode)
	}
	if c := sessionFrom(t, resp); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout cookie %+v does not clear the session", c)
	}

	// Logging in from another site is refused.
	resp, body = anon.do(http.MethodPost, "/api/v1/session", strings.NewReader(`{"token":"`+h.Token+`"}`),
		http.Header{"Content-Type": {"application/json"}, "Origin": {"https://evil.example"}})
	wantError(t, "cross-origin login", resp, body, http.StatusForbidden, "Origin")
}

func TestSessionExpiry(t *testing.T) {
	k := deriveKeys("0123456789abcdef0123")
	now := time.Now()
	v := k.newSession(now.Add(time.Minute))
	if !k.sessionOK(v, now) {
		t.Error("fresh session rejected")
	}
	if k.sessionOK(v, now.Add(time.Minute)) {
		t.Error("expired session accepted")
	}
	// Extending the expiry in the cookie breaks its signature.
	b := []byte(v)
	b[3] ^= 1
	if k.sessionOK(string(b), now) {
		t.Error("modified session accepted")
	}
}

// TestOriginCheck: a redrive (state-changing) with the session cookie needs
// an Origin naming the console's host; without Origin only the bearer
// token is accepted; a foreign Origin is refused whatever the credentials.
func TestOriginCheck(t *testing.T) {
	h := newHarness(t)
	api := h.api(t)
	cookie := deriveKeys(h.Token).newSession(time.Now().Add(time.Hour))
	byCookie := api.withAuth(func(r *http.Request) { r.AddCookie(&http.Cookie{Name: SessionCookie, Value: cookie}) })
	byBearer := api

	tests := []struct {
		name   string
		client *apiClient
		header http.Header
		want   int
	}{
		{"cookie without Origin", byCookie, nil, http.StatusForbidden},
		{"cookie with foreign Origin", byCookie, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"cookie with look-alike Origin", byCookie, http.Header{"Origin": {h.URL + ".evil.example"}}, http.StatusForbidden},
		{"cookie with null Origin", byCookie, http.Header{"Origin": {"null"}}, http.StatusForbidden},
		{"cookie, no Origin, cross-site fetch", byCookie, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"bearer with foreign Origin", byBearer, http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"cookie with same Origin", byCookie, http.Header{"Origin": {h.URL}}, http.StatusAccepted},
		{"bearer without Origin", byBearer, nil, http.StatusAccepted},
		{"bearer with same Origin", byBearer, http.Header{"Origin": {h.URL}}, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := h.seedDeadletter(t, "ingress", "carriyo", []byte(`{"n":1}`), "bad")
			resp, body := tt.client.do(http.MethodPost, "/api/v1/deadletters/"+itoa(seq)+"/redrive", nil, tt.header)
			if tt.want == http.StatusForbidden {
				wantError(t, tt.name, resp, body, http.StatusForbidden, "Origin")
				// Refused means untouched.
				byBearer.getJSON("/api/v1/deadletters/"+itoa(seq), http.StatusOK, nil)
				return
			}
			if resp.StatusCode != tt.want {
				t.Errorf("%d %s, want %d", resp.StatusCode, body, tt.want)
			}
		})
	}
}
