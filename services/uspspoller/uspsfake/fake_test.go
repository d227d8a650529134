package uspsfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

type client struct {
	t   *testing.T
	url string
}

func start(t *testing.T, opts ...uspsfake.Option) (*uspsfake.Server, *client) {
	t.Helper()
	s := uspsfake.New(opts...)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, &client{t: t, url: srv.URL}
}

func (c *client) token(form url.Values) (int, map[string]any) {
	c.t.Helper()
	resp, err := http.PostForm(c.url+"/oauth2/v3/token", form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c *client) goodToken() string {
	c.t.Helper()
	code, out := c.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"fake-client"}, "client_secret": {"fake-secret"}})
	if code != 200 {
		c.t.Fatalf("token %d %v", code, out)
	}
	return out["access_token"].(string)
}

func (c *client) track(tok, number string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.url+"/tracking/v3/tracking/"+number+"?expand=DETAIL", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// statuses maps a DETAIL response with the usps provider, oldest first.
func statuses(t *testing.T, number string, body []byte) []tracking.Status {
	t.Helper()
	events, err := usps.Provider{}.Map(providers.Raw{Source: "usps", ID: "x", Subject: number, Data: body})
	if err != nil {
		t.Fatalf("usps provider cannot map the fake's response: %v\n%s", err, body)
	}
	var out []tracking.Status
	for _, e := range events {
		out = append(out, e.Status)
	}
	return out
}

func TestProgressions(t *testing.T) {
	tests := []struct {
		name   string
		events []uspsfake.Event
		want   []tracking.Status // the newest status after each found poll
	}{
		{"delivered", uspsfake.Delivered, []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.InTransit, tracking.InTransit, tracking.InTransit, tracking.OutForDelivery, tracking.Delivered}},
		{"attempted", uspsfake.AttemptedThenDelivered, []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.InTransit, tracking.OutForDelivery, tracking.FailedAttempt, tracking.AvailableForPickup, tracking.Delivered}},
		{"return to sender", uspsfake.ReturnToSender, []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.InTransit, tracking.OutForDelivery, tracking.FailedAttempt, tracking.ReturnToSender, tracking.InTransit, tracking.Returned}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
			s, c := start(t, uspsfake.WithClock(func() time.Time { return now }), uspsfake.WithTokenTTL(1000*time.Hour))
			const number = "9400111899223512345670"
			s.Script(number, uspsfake.Script{NotFound: 1, Events: tt.events})
			tok := c.goodToken()
			if code, _, body := c.track(tok, number); code != 404 || !strings.Contains(string(body), `"error"`) {
				t.Fatalf("first poll %d %s, want 404 (not in the system yet)", code, body)
			}
			for i, want := range tt.want {
				now = now.Add(4 * time.Hour)
				code, _, body := c.track(tok, number)
				if code != 200 {
					t.Fatalf("poll %d: %d %s", i, code, body)
				}
				got := statuses(t, number, body)
				if len(got) != i+1 || got[len(got)-1] != want {
					t.Fatalf("poll %d: statuses %v, want %d ending %s", i, got, i+1, want)
				}
			}
			// The script is over: the response stays the same.
			_, _, a := c.track(tok, number)
			_, _, b := c.track(tok, number)
			if string(a) != string(b) {
				t.Error("finished script changes")
			}
		})
	}
}

func TestTimedProgression(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s, c := start(t, uspsfake.WithClock(func() time.Time { return now }))
	s.Script("9400T", uspsfake.Script{Every: time.Hour, Events: uspsfake.Delivered})
	tok := c.goodToken()
	_, _, body := c.track(tok, "9400T")
	if got := statuses(t, "9400T", body); len(got) != 1 {
		t.Fatalf("%v", got)
	}
	_, _, again := c.track(tok, "9400T")
	if string(again) != string(body) {
		t.Error("a poll within the hour changed the response")
	}
	now = now.Add(3*time.Hour + time.Minute)
	_, _, body = c.track(tok, "9400T")
	if got := statuses(t, "9400T", body); len(got) != 4 {
		t.Fatalf("after 3h: %v, want 4 events", got)
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s, c := start(t, uspsfake.WithClock(func() time.Time { return now }), uspsfake.WithTokenTTL(time.Hour), uspsfake.WithExpiresInString())
	s.Script("9400A", uspsfake.Script{Events: uspsfake.Delivered})

	if code, out := c.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"fake-client"}, "client_secret": {"wrong"}}); code != 401 || out["error"] != "invalid_client" {
		t.Errorf("bad secret: %d %v", code, out)
	}
	if code, out := c.token(url.Values{"grant_type": {"password"}}); code != 400 || out["error"] != "unsupported_grant_type" {
		t.Errorf("bad grant: %d %v", code, out)
	}
	code, out := c.token(url.Values{"grant_type": {"client_credentials"}, "client_id": {"fake-client"}, "client_secret": {"fake-secret"}})
	if code != 200 || out["expires_in"] != "3600" || out["token_type"] != "Bearer" {
		t.Fatalf("token %d %v", code, out)
	}
	tok := out["access_token"].(string)
	if code, _, _ := c.track(tok, "9400A"); code != 200 {
		t.Errorf("fresh token: %d", code)
	}
	now = now.Add(time.Hour)
	if code, h, _ := c.track(tok, "9400A"); code != 401 || h.Get("WWW-Authenticate") == "" {
		t.Errorf("expired token: %d %v", code, h)
	}
	tok = c.goodToken()
	s.ExpireTokens()
	if code, _, _ := c.track(tok, "9400A"); code != 401 {
		t.Errorf("revoked token: %d", code)
	}
	if code, _, _ := c.track("", "9400A"); code != 401 {
		t.Errorf("no token: %d", code)
	}

	// JSON bodies and HTTP Basic work too.
	req, _ := http.NewRequest(http.MethodPost, c.url+"/oauth2/v3/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("fake-client", "fake-secret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("JSON + Basic: %d", resp.StatusCode)
	}
}

func TestErrorsAndRateLimit(t *testing.T) {
	s, c := start(t, uspsfake.With429Rate(0.5, 30*time.Second), uspsfake.WithSeed(3))
	s.Script("9400A", uspsfake.Script{Events: uspsfake.Delivered})
	tok := c.goodToken()
	if code, _, body := c.track(tok, "9400UNKNOWN"); code != 404 && code != 429 {
		t.Errorf("unknown number: %d %s", code, body)
	}
	limited := 0
	for range 200 {
		code, h, _ := c.track(tok, "9400A")
		if code == 429 {
			limited++
			if h.Get("Retry-After") != "30" {
				t.Fatalf("429 without Retry-After: %v", h)
			}
		}
	}
	if limited < 60 || limited > 140 {
		t.Errorf("%d of 200 answered 429 at a rate of 0.5", limited)
	}

	s2, c2 := start(t)
	s2.Script("9400A", uspsfake.Script{Events: uspsfake.Delivered})
	tok = c2.goodToken()
	s2.FailNext(2, 503, time.Minute)
	for i, want := range []int{503, 503, 200} {
		code, h, _ := c2.track(tok, "9400A")
		if code != want {
			t.Errorf("request %d: %d, want %d", i, code, want)
		}
		if code == 503 && h.Get("Retry-After") != "60" {
			t.Errorf("Retry-After %q", h.Get("Retry-After"))
		}
	}
	if got := s2.Counts(); got.Failed != 2 || got.Found != 1 || got.Token != 1 {
		t.Errorf("counts %+v", got)
	}
	if s2.Requests("9400A") != 3 || len(s2.Hits()) != 4 {
		t.Errorf("requests %d, hits %d", s2.Requests("9400A"), len(s2.Hits()))
	}
}

func TestDemoScriptsEveryNumber(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	_, c := start(t, uspsfake.WithClock(func() time.Time { return now }), uspsfake.WithTokenTTL(1000*time.Hour),
		uspsfake.WithAutoScript(uspsfake.Demo(time.Hour)))
	tok := c.goodToken()
	if code, _, _ := c.track(tok, "9400ANY1"); code != 404 {
		t.Errorf("first demo poll %d, want 404", code)
	}
	now = now.Add(24 * time.Hour)
	code, _, body := c.track(tok, "9400ANY1")
	if code != 200 {
		t.Fatalf("second demo poll %d", code)
	}
	if got := statuses(t, "9400ANY1", body); len(got) != 1 {
		t.Errorf("statuses %v", got)
	}
	now = now.Add(24 * time.Hour)
	_, _, body = c.track(tok, "9400ANY1")
	if got := statuses(t, "9400ANY1", body); !got[len(got)-1].Terminal() {
		t.Errorf("after a day of hourly events: %v", got)
	}
}
