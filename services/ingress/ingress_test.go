package ingress_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/services/ingress"
)

const (
	hmacSecret  = "ws-secret"
	apiKey      = "carriyo-key"
	bearerToken = "swiftpod-token"
	tenoviToken = "tenovi-token"
)

var authEnv = map[string]string{
	"WAYBILL_AUTH_WINESHIPPING": "hmac-sha256:aftership-hmac-sha256:" + hmacSecret,
	"WAYBILL_AUTH_CARRIYO":      "header:X-API-Key:" + apiKey,
	"WAYBILL_AUTH_SWIFTPOD":     "bearer:" + bearerToken,
	"WAYBILL_AUTH_TENOVI":       "header:Authorization:" + tenoviToken,
}

type harness struct {
	t    *testing.T
	nats *natstest.Server
	js   jetstream.JetStream
	url  string
	stop context.CancelFunc
	done chan error
}

// start runs an ingress against a fresh embedded JetStream.
func start(t *testing.T, extraEnv map[string]string) *harness {
	t.Helper()
	srv := natstest.Start(t)
	env := map[string]string{"NATS_URL": srv.URL(), "WAYBILL_PUBLISH_TIMEOUT": "1s", "WAYBILL_RETRY_AFTER": "7s"}
	for k, v := range authEnv {
		env[k] = v
	}
	for k, v := range extraEnv {
		env[k] = v
	}
	e := service.EnvFrom(env)
	cfg := ingress.LoadConfig(e)
	if err := e.Err(); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	in, err := ingress.New(cfg, nc, zerolog.Nop(), service.NewOps())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := service.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, nats: srv, url: "http://" + ln.Addr().String(), stop: cancel, done: make(chan error, 1)}
	go func() { h.done <- in.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-h.done })
	_, h.js = srv.Connect()
	return h
}

type webhook struct {
	source  string
	body    []byte
	headers map[string]string
}

// signed adds the credentials the source is configured with.
func (w webhook) signed() webhook {
	h := map[string]string{}
	for k, v := range w.headers {
		h[k] = v
	}
	switch w.source {
	case "wineshipping":
		h["aftership-hmac-sha256"] = ingress.Sign(hmacSecret, w.body)
	case "carriyo":
		h["X-API-Key"] = apiKey
	case "swiftpod":
		h["Authorization"] = "Bearer " + bearerToken
	case "tenovi":
		h["Authorization"] = tenoviToken
	}
	w.headers = h
	return w
}

func (h *harness) post(w webhook) (int, map[string]any, http.Header) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+"/webhooks/"+w.source, bytes.NewReader(w.body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			h.t.Fatalf("response %d is not JSON: %q", resp.StatusCode, b)
		}
	}
	return resp.StatusCode, out, resp.Header
}

func (h *harness) messages(stream, filter string) []jetstream.RawStreamMsg {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		h.t.Fatal(err)
	}
	var out []jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		if ok, _ := filepath.Match(strings.ReplaceAll(filter, ">", "*"), m.Subject); ok || filter == ">" || strings.HasPrefix(m.Subject, strings.TrimSuffix(filter, ">")) {
			out = append(out, *m)
		}
	}
	return out
}

// minimal returns the smallest webhook each source identifies, with id.
func minimal(source, id string) webhook {
	switch source {
	case "wineshipping":
		return webhook{source: source, body: []byte(fmt.Sprintf(`{"event":"tracking_update","event_id":%q,"msg":{"tracking_number":"1Z%s","slug":"ups","tag":"InTransit","checkpoints":[]}}`, id, id))}
	case "carriyo":
		return webhook{source: source, body: []byte(fmt.Sprintf(`{"shipment_id":"S%s","post_shipping_info":{"status":"shipped","tracking_no":"T%s","carrier_status_date":"2026-05-07T16:42:00Z"},"carrier_account":{"carrier":"DHL"}}`, id, id)),
			headers: map[string]string{"event-id": id, "trigger": "shipped"}}
	case "swiftpod":
		return webhook{source: source, body: []byte(fmt.Sprintf(`{"event":{"uuid":%q,"name":"shipment_notify","timestamp":"2022-07-08T13:24:00.128774Z","tracking":{"tracking_number":"94%s","tracking_status":"in_transit","carrier_code":"USPS"}}}`, id, id))}
	case "tenovi":
		return webhook{source: source, body: []byte(fmt.Sprintf(`{"hwi_device_id":%q,"status":"Shipped","tracking_link":"https://tools.usps.com/go/TrackConfirmAction?tLabels=9400%s"}`, id, id))}
	}
	panic(source)
}

var sources = []string{"carriyo", "swiftpod", "tenovi", "wineshipping"}

// seedFixtures returns the providers' own example payloads from their testdata.
func seedFixtures(t testing.TB, source string) []webhook {
	t.Helper()
	dir := filepath.Join("..", "..", "pkg", "providers", source, "testdata")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var out []webhook
	for _, p := range paths {
		base := filepath.Base(p)
		if strings.HasSuffix(base, ".golden.json") || strings.HasSuffix(base, ".headers.json") || strings.HasPrefix(base, "invalid-") {
			continue
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		w := webhook{source: source, body: body}
		if hb, err := os.ReadFile(strings.TrimSuffix(p, ".json") + ".headers.json"); err == nil {
			if err := json.Unmarshal(hb, &w.headers); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, w)
	}
	if len(out) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return out
}

func TestEveryProviderFixtureIsStoredUntouched(t *testing.T) {
	h := start(t, nil)
	for _, source := range sources {
		p, _ := providers.Lookup(source)
		for _, w := range seedFixtures(t, source) {
			w = w.signed()
			id, err := p.Identify(providers.Request{Body: w.body, Header: http.Header(toHeader(w.headers)).Get})
			if err != nil {
				t.Fatalf("%s: fixture does not identify: %v", source, err)
			}
			code, out, _ := h.post(w)
			if code != 200 || out["id"] != id.ID {
				t.Fatalf("%s: %d %v, want 200 with id %s", source, code, out, id.ID)
			}
		}
		msgs := h.messages(streams.Raw, "raw."+source)
		if len(msgs) == 0 {
			t.Fatalf("%s: nothing stored", source)
		}
		for _, m := range msgs {
			e, err := cloudevent.FromMsg(m.Header, m.Data)
			if err != nil {
				t.Fatalf("%s: stored message is not a CloudEvent: %v", source, err)
			}
			if e.Source() != "/webhooks/"+source || e.ID() == "" || e.Type() == "" || e.Time().IsZero() ||
				m.Header.Get("Content-Type") != "application/json" || m.Header.Get("ce-specversion") != "1.0" {
				t.Errorf("%s: CloudEvent attributes %v", source, e)
			}
			if !json.Valid(m.Data) {
				t.Errorf("%s: stored body is not the JSON posted", source)
			}
		}
	}
	// The body is byte-for-byte what was posted, including a Carriyo
	// extension set from its headers.
	w := minimal("carriyo", "evt-untouched")
	w.headers["webhook-id"] = "ACCOUNT_w1"
	w.headers["last-retry"] = "true"
	if code, _, _ := h.post(w.signed()); code != 200 {
		t.Fatal(code)
	}
	for _, m := range h.messages(streams.Raw, "raw.carriyo") {
		if m.Header.Get("ce-id") != "evt-untouched" {
			continue
		}
		if !bytes.Equal(m.Data, w.body) {
			t.Errorf("body changed:\n%s\n%s", m.Data, w.body)
		}
		for k, v := range map[string]string{"ce-trigger": "shipped", "ce-webhookid": "ACCOUNT_w1", "ce-lastretry": "true", "ce-type": "com.carriyo.shipment.shipped"} {
			if got := m.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		return
	}
	t.Fatal("evt-untouched not stored")
}

func toHeader(m map[string]string) map[string][]string {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

func TestRetriesCollapse(t *testing.T) {
	h := start(t, nil)
	for _, source := range sources {
		w := minimal(source, "retry-1").signed()
		for i := 0; i < 5; i++ {
			code, out, _ := h.post(w)
			if code != 200 || out["duplicate"] != (i > 0) {
				t.Fatalf("%s attempt %d: %d %v", source, i, code, out)
			}
		}
		if n := len(h.messages(streams.Raw, "raw."+source)); n != 1 {
			t.Fatalf("%s: %d messages stored, want 1", source, n)
		}
	}
}

func TestTenoviIdIgnoresKeyOrderAndWhitespace(t *testing.T) {
	h := start(t, nil)
	a := webhook{source: "tenovi", body: []byte(`{"hwi_device_id":"d1","status":"Shipped","tracking_link":null}`)}
	b := webhook{source: "tenovi", body: []byte("{\n  \"status\": \"Shipped\",\n  \"tracking_link\": null, \"hwi_device_id\": \"d1\"\n}")}
	_, first, _ := h.post(a.signed())
	_, second, _ := h.post(b.signed())
	if first["id"] != second["id"] || second["duplicate"] != true {
		t.Fatalf("%v then %v", first, second)
	}
}

func TestRejections(t *testing.T) {
	h := start(t, map[string]string{"WAYBILL_MAX_BODY": "4KiB"})
	big := minimal("swiftpod", "big")
	big.body = append(big.body[:len(big.body)-1], []byte(`,"pad":"`+strings.Repeat("x", 5000)+`"}`)...)
	tests := []struct {
		name   string
		w      webhook
		code   int
		stored bool // on DEADLETTER
	}{
		{"no credentials", minimal("carriyo", "a"), 401, false},
		{"wrong api key", webhook{source: "carriyo", body: minimal("carriyo", "b").body, headers: map[string]string{"X-API-Key": "nope", "event-id": "b"}}, 401, false},
		{"bad signature", webhook{source: "wineshipping", body: minimal("wineshipping", "c").body, headers: map[string]string{"aftership-hmac-sha256": ingress.Sign("other", []byte("x"))}}, 401, false},
		{"wrong bearer", webhook{source: "swiftpod", body: minimal("swiftpod", "d").body, headers: map[string]string{"Authorization": "Bearer nope"}}, 401, false},
		{"too large", big.signed(), 413, false},
		{"not json", webhook{source: "swiftpod", body: []byte(`{"event": {`)}.signed(), 400, true},
		{"missing event id", webhook{source: "wineshipping", body: []byte(`{"event":"tracking_update","msg":{}}`)}.signed(), 400, true},
		{"missing carriyo header", webhook{source: "carriyo", body: minimal("carriyo", "e").body}.signed(), 400, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.messages(streams.DeadLetter, "deadletter.>"))
			code, out, _ := h.post(tt.w)
			if code != tt.code || out["error"] == nil {
				t.Fatalf("got %d %v, want %d with a JSON error", code, out, tt.code)
			}
			dls := h.messages(streams.DeadLetter, "deadletter.>")
			if got := len(dls) - before; (got == 1) != tt.stored || got > 1 {
				t.Fatalf("%d dead letters added, want stored=%v", got, tt.stored)
			}
			if tt.stored {
				dl := dls[len(dls)-1]
				info := deadletter.Read(dl.Header)
				if dl.Subject != "deadletter.ingress."+tt.w.source || info.Reason == "" || info.Stage != "ingress" || !bytes.Equal(dl.Data, tt.w.body) {
					t.Errorf("dead letter %s %+v body %q", dl.Subject, info, dl.Data)
				}
			}
		})
	}
	if n := len(h.messages(streams.Raw, ">")); n != 0 {
		t.Errorf("%d rejected webhooks stored on RAW", n)
	}
}

func TestRoutingErrors(t *testing.T) {
	h := start(t, nil)
	h2 := start(t, map[string]string{"WAYBILL_AUTH_TENOVI": ""})
	if code, _, _ := h2.post(minimal("tenovi", "x").signed()); code != 404 {
		t.Errorf("unconfigured source: %d, want 404", code)
	}
	if code, _, _ := h.post(webhook{source: "nosuch", body: []byte(`{}`)}); code != 404 {
		t.Errorf("unknown source: %d", code)
	}
	resp, err := http.Get(h.url + "/webhooks/carriyo")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Errorf("GET webhook: %d", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(h.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
}

func TestNATSDownAnswers503ThenRecovers(t *testing.T) {
	h := start(t, nil)
	if code, _, _ := h.post(minimal("swiftpod", "before").signed()); code != 200 {
		t.Fatal(code)
	}
	h.nats.Stop()
	code, out, hdr := h.post(minimal("swiftpod", "during").signed())
	if code != 503 || hdr.Get("Retry-After") != "7" || out["error"] == nil {
		t.Fatalf("NATS down: %d %v Retry-After=%q", code, out, hdr.Get("Retry-After"))
	}
	h.nats.Restart()
	_, h.js = h.nats.Connect()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, _ = h.post(minimal("swiftpod", "during").signed()) // the provider's retry
		if code == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != 200 {
		t.Fatalf("after restart: %d", code)
	}
	ids := map[string]bool{}
	for _, m := range h.messages(streams.Raw, "raw.swiftpod") {
		ids[m.Header.Get("ce-id")] = true
	}
	if !ids["before"] || !ids["during"] || len(ids) != 2 {
		t.Fatalf("stored ids %v, want before and during once each", ids)
	}
}

func TestConcurrentRequestsAllStored(t *testing.T) {
	h := start(t, nil)
	const n = 2000
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			w := minimal(sources[i%len(sources)], fmt.Sprintf("c%05d", i)).signed()
			req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/"+w.source, bytes.NewReader(w.body))
			for k, v := range w.headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("request %d: %d", i, resp.StatusCode)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s, _ := h.js.Stream(context.Background(), streams.Raw)
	info, _ := s.Info(context.Background())
	if info.State.Msgs != n {
		t.Fatalf("%d messages stored, want %d", info.State.Msgs, n)
	}
}

func TestShutdownFinishesInFlight(t *testing.T) {
	h := start(t, nil)
	var wg sync.WaitGroup
	codes := make(chan int, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			w := minimal("carriyo", fmt.Sprintf("drain%03d", i)).signed()
			req, _ := http.NewRequest(http.MethodPost, h.url+"/webhooks/carriyo", bytes.NewReader(w.body))
			for k, v := range w.headers {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // refused after the listener closed: the provider retries
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}(i)
	}
	time.Sleep(5 * time.Millisecond)
	h.stop()
	wg.Wait()
	close(codes)
	ok := 0
	for c := range codes {
		if c != 200 {
			t.Errorf("in-flight request answered %d", c)
		}
		ok++
	}
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	h.done <- nil // for cleanup
	if n := len(h.messages(streams.Raw, "raw.carriyo")); n != ok {
		t.Fatalf("%d answered 200 but %d stored", ok, n)
	}
}

func TestOAuth2ClientCredentials(t *testing.T) {
	h := start(t, map[string]string{"WAYBILL_AUTH_CARRIYO": "oauth2:carriyo-client:s3cr%t", "WAYBILL_OAUTH_TOKEN_TTL": "2s"})
	tokenReq := func(form url.Values, basic bool) (int, map[string]any, http.Header) {
		var body string
		id, secret := form.Get("client_id"), form.Get("client_secret")
		if basic {
			form.Del("client_id")
			form.Del("client_secret")
		}
		body = form.Encode()
		req, _ := http.NewRequest(http.MethodPost, h.url+"/oauth/token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, resp.Header
	}
	good := func() url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {"carriyo-client"}, "client_secret": {"s3cr%t"}}
	}
	for _, basic := range []bool{false, true} {
		code, out, hdr := tokenReq(good(), basic)
		if code != 200 || out["token_type"] != "Bearer" || out["expires_in"] != float64(2) || hdr.Get("Cache-Control") != "no-store" {
			t.Fatalf("basic=%v: %d %v", basic, code, out)
		}
		w := minimal("carriyo", fmt.Sprintf("oauth-%v", basic))
		w.headers["Authorization"] = "Bearer " + out["access_token"].(string)
		if code, resp, _ := h.post(w); code != 200 {
			t.Fatalf("webhook with token: %d %v", code, resp)
		}
	}
	bad := good()
	bad.Set("client_secret", "wrong")
	if code, out, hdr := tokenReq(bad, true); code != 401 || out["error"] != "invalid_client" || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("bad secret: %d %v", code, out)
	}
	grant := good()
	grant.Set("grant_type", "password")
	if code, out, _ := tokenReq(grant, false); code != 400 || out["error"] != "unsupported_grant_type" {
		t.Errorf("bad grant: %d %v", code, out)
	}
	w := minimal("carriyo", "forged")
	w.headers["Authorization"] = "Bearer " + base64.RawURLEncoding.EncodeToString(make([]byte, 40))
	if code, _, _ := h.post(w); code != 401 {
		t.Errorf("forged token: %d", code)
	}
	_, out, _ := tokenReq(good(), false)
	time.Sleep(2100 * time.Millisecond)
	w = minimal("carriyo", "expired")
	w.headers["Authorization"] = "Bearer " + out["access_token"].(string)
	if code, _, _ := h.post(w); code != 401 {
		t.Errorf("expired token: %d", code)
	}
}
