// Package uspsfake is a fake USPS API for tests, `waybill run` and
// benchmarks. It speaks the token endpoint (POST /oauth2/v3/token, client
// credentials as JSON, form or Basic) and the tracking endpoint (GET
// /tracking/v3/tracking/{n}?expand=DETAIL) with the real API's shapes:
// DETAIL responses newest event first with eventTimestamp (local, no
// offset), GMTTimestamp and GMTOffset; errors as {apiVersion, error:{code,
// message, errors[]}}; OAuth errors as {"error": "invalid_client"}.
//
// Each tracking number follows a Script (label created -> ... ->
// delivered, or an attempt, or a return to sender); unknown numbers answer
// 404. Tokens expire (and can be revoked), a share of tracking requests
// can answer 429, and the next answers can be forced (FailNext). Every
// request is recorded with the fake's clock time.
package uspsfake

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the fake. It is an http.Handler; Start serves it on a port.
type Server struct {
	mu              sync.Mutex
	clientID        string
	secret          string
	tokenTTL        time.Duration
	expiresAsString bool
	now             func() time.Time
	rate429         float64
	retryAfter      time.Duration
	rnd             *mrand.Rand
	auto            func(string) (Script, bool)
	record          bool

	tokens  map[string]time.Time // access token -> expiry
	numbers map[string]*progress
	forced  []forced
	hits    []Hit
	counts  Counts
}

// progress is one number's script and how far it has got.
type progress struct {
	script   Script
	requests int         // tracking requests answered (404 or 200)
	first    time.Time   // first found answer
	shown    []time.Time // when each revealed event happened
}

type forced struct {
	status     int
	retryAfter time.Duration
}

// Hit is one request the fake answered.
type Hit struct {
	At     time.Time
	Kind   string // "token" or "tracking"
	Number string // tracking requests
	Status int
}

// Counts are the request totals.
type Counts struct {
	Token, Tracking, Found, NotFound, RateLimited, Unauthorized, Failed int
}

// Option configures a Server.
type Option func(*Server)

// WithCredentials sets the client id and secret the token endpoint accepts
// (default "fake-client" / "fake-secret").
func WithCredentials(id, secret string) Option {
	return func(s *Server) { s.clientID, s.secret = id, secret }
}

// WithTokenTTL sets the lifetime of access tokens (default 8h, as USPS).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// WithExpiresInString sends expires_in as a string ("3600"), as some
// USPS answers do.
func WithExpiresInString() Option { return func(s *Server) { s.expiresAsString = true } }

// WithClock sets the clock of token expiry, scripts and the request log.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// With429Rate answers a share p (0..1) of tracking requests 429 with
// Retry-After.
func With429Rate(p float64, retryAfter time.Duration) Option {
	return func(s *Server) { s.rate429, s.retryAfter = p, retryAfter }
}

// WithSeed makes the 429 draws reproducible.
func WithSeed(seed uint64) Option {
	return func(s *Server) { s.rnd = mrand.New(mrand.NewPCG(seed, seed)) }
}

// WithAutoScript scripts numbers that have no Script on first sight
// (Demo); without it they answer 404 forever.
func WithAutoScript(f func(number string) (Script, bool)) Option {
	return func(s *Server) { s.auto = f }
}

// WithoutLog stops recording Hits (benchmarks); Counts are still kept.
func WithoutLog() Option { return func(s *Server) { s.record = false } }

// New returns a fake USPS.
func New(opts ...Option) *Server {
	s := &Server{
		clientID: "fake-client", secret: "fake-secret", tokenTTL: 8 * time.Hour,
		now: time.Now, rnd: mrand.New(mrand.NewPCG(1, 2)), record: true,
		tokens: map[string]time.Time{}, numbers: map[string]*progress{},
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Script sets the progression of a tracking number (normalized: upper
// case, no spaces), restarting it.
func (s *Server) Script(number string, sc Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.numbers[normalize(number)] = &progress{script: sc}
}

// ExpireTokens revokes every token issued: the next tracking request with
// one answers 401, as when a token expires before the client expects.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// FailNext makes the next n tracking requests answer status (429, 500,
// 503, 403...), with Retry-After when retryAfter > 0.
func (s *Server) FailNext(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.forced = append(s.forced, forced{status, retryAfter})
	}
}

// Hits returns a copy of the request log.
func (s *Server) Hits() []Hit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Hit(nil), s.hits...)
}

// Counts returns the request totals.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Requests counts the tracking requests for number (any answer).
func (s *Server) Requests(number string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, h := range s.hits {
		if h.Kind == "tracking" && h.Number == normalize(number) {
			n++
		}
	}
	return n
}

// Start serves the fake on addr ("127.0.0.1:0") and returns its base URL
// and a function that stops it.
func (s *Server) Start(addr string) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// ServeHTTP routes the two endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/oauth2/v3/token":
		s.token(w, r)
	case strings.HasPrefix(r.URL.Path, "/tracking/v3/tracking/"):
		s.tracking(w, r, strings.TrimPrefix(r.URL.Path, "/tracking/v3/tracking/"))
	default:
		apiError(w, http.StatusNotFound, "404", "Resource not found", "")
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request")
		return
	}
	form, err := credentials(w, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.counts.Token++
	status := http.StatusOK
	defer func() { s.log(Hit{At: now, Kind: "token", Status: status}) }()
	switch {
	case err != nil:
		status = http.StatusBadRequest
		oauthError(w, status, "invalid_request")
		return
	case form.Get("grant_type") != "client_credentials":
		status = http.StatusBadRequest
		oauthError(w, status, "unsupported_grant_type")
		return
	case !equal(form.Get("client_id"), s.clientID) || !equal(form.Get("client_secret"), s.secret):
		status = http.StatusUnauthorized
		oauthError(w, status, "invalid_client")
		return
	}
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	s.tokens[tok] = now.Add(s.tokenTTL)
	var expires any = int(s.tokenTTL.Seconds())
	if s.expiresAsString {
		expires = strconv.Itoa(int(s.tokenTTL.Seconds()))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "token_type": "Bearer", "expires_in": expires,
		"scope": "tracking", "issued_at": now.UnixMilli(), "status": "approved",
	})
}

// credentials reads the grant from a JSON or form body, with HTTP Basic
// client authentication taking precedence.
func credentials(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	form := url.Values{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var m map[string]any
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&m); err != nil {
			return nil, err
		}
		for k, v := range m {
			if s, ok := v.(string); ok {
				form.Set(k, s)
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		form = r.PostForm
	}
	if id, secret, ok := r.BasicAuth(); ok {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	return form, nil
}

func (s *Server) tracking(w http.ResponseWriter, r *http.Request, number string) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		apiError(w, http.StatusMethodNotAllowed, "405", "Method not allowed", "")
		return
	}
	number = normalize(number)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.counts.Tracking++
	status := http.StatusOK
	defer func() { s.log(Hit{At: now, Kind: "tracking", Number: number, Status: status}) }()

	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if exp, ok := s.tokens[tok]; !ok || !now.Before(exp) {
		status = http.StatusUnauthorized
		s.counts.Unauthorized++
		w.Header().Set("WWW-Authenticate", `Bearer realm="USPS", error="invalid_token"`)
		apiError(w, status, "401", "Unauthorized", "The access token is missing, invalid or expired.")
		return
	}
	if len(s.forced) > 0 {
		f := s.forced[0]
		s.forced = s.forced[1:]
		status = f.status
		s.fail(w, f.status, f.retryAfter)
		return
	}
	if s.rate429 > 0 && s.rnd.Float64() < s.rate429 {
		status = http.StatusTooManyRequests
		s.fail(w, status, s.retryAfter)
		return
	}
	p, ok := s.numbers[number]
	if !ok && s.auto != nil {
		if sc, scripted := s.auto(number); scripted {
			p = &progress{script: sc}
			s.numbers[number] = p
			ok = true
		}
	}
	if !ok || p.requests < p.script.NotFound || len(p.script.Events) == 0 {
		if ok {
			p.requests++
		}
		status = http.StatusNotFound
		s.counts.NotFound++
		apiError(w, status, "404", "Tracking number not found",
			"The tracking number may be incorrect or the status update is not yet available.")
		return
	}
	p.requests++
	s.counts.Found++
	p.reveal(now)
	writeJSON(w, http.StatusOK, detail(number, p))
}

func (s *Server) fail(w http.ResponseWriter, status int, retryAfter time.Duration) {
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Seconds())))
	}
	switch {
	case status == http.StatusTooManyRequests:
		s.counts.RateLimited++
		apiError(w, status, "429", "Too Many Requests", "The quota of requests per hour for this application is exceeded.")
	default:
		s.counts.Failed++
		apiError(w, status, strconv.Itoa(status), http.StatusText(status), "")
	}
}

func (s *Server) log(h Hit) {
	if s.record {
		s.hits = append(s.hits, h)
	}
}

// reveal shows the events due at now: one more per request, or one per
// Every since the first found answer. Each event happened when it was
// revealed (a second after the previous at least), so the carrier order
// is the reveal order.
func (p *progress) reveal(now time.Time) {
	if p.first.IsZero() {
		p.first = now
	}
	want := len(p.shown) + 1
	if p.script.Every > 0 {
		want = 1 + int(now.Sub(p.first)/p.script.Every)
	}
	want = min(want, len(p.script.Events))
	for len(p.shown) < want {
		at := now
		if p.script.Every > 0 {
			at = p.first.Add(time.Duration(len(p.shown)) * p.script.Every)
		}
		// USPS times are whole seconds; rounding up keeps a scan after
		// whatever happened before the request (a Tenovi webhook).
		if r := at.Truncate(time.Second); r.Before(at) {
			at = r.Add(time.Second)
		}
		if n := len(p.shown); n > 0 && !at.After(p.shown[n-1]) {
			at = p.shown[n-1].Add(time.Second)
		}
		p.shown = append(p.shown, at)
	}
}

// zone is the fake's carrier-local time: USPS's eventTimestamp has no
// offset, GMTOffset gives it.
var zone = time.FixedZone("EST", -5*3600)

// detail is a DETAIL response: trackingEvents newest first.
func detail(number string, p *progress) map[string]any {
	events := make([]map[string]any, 0, len(p.shown))
	for i := len(p.shown) - 1; i >= 0; i-- {
		ev, at := p.script.Events[i], p.shown[i]
		events = append(events, map[string]any{
			"eventType":       ev.Type,
			"eventCode":       ev.Code,
			"eventTimestamp":  at.In(zone).Format("2006-01-02T15:04:05"),
			"GMTTimestamp":    at.UTC().Format("2006-01-02T15:04:05Z"),
			"GMTOffset":       "-05:00",
			"eventCity":       nullable(ev.City),
			"eventState":      nullable(ev.State),
			"eventZIP":        nullable(ev.ZIP),
			"eventCountry":    nil,
			"firm":            nil,
			"name":            nil,
			"authorizedAgent": "false",
		})
	}
	newest := p.script.Events[len(p.shown)-1]
	return map[string]any{
		"trackingNumber":            number,
		"mailClass":                 "USPS Ground Advantage",
		"mailType":                  "DOMESTIC_MAIL",
		"status":                    newest.Type,
		"statusCategory":            category(newest),
		"statusSummary":             "Your item: " + newest.Type + ".",
		"expectedDeliveryTimeStamp": p.first.Add(72*time.Hour).In(zone).Format("2006-01-02") + "T00:00:00",
		"uniqueMailPieceID":         mailPiece(number),
		"trackingEvents":            events,
	}
}

func category(e Event) string {
	switch {
	case strings.Contains(e.Type, "To Original Sender"):
		return "Delivered"
	case e.Code == "01":
		return "Delivered"
	case e.Code == "OF":
		return "Out for Delivery"
	case e.Code == "GX":
		return "Pre-Shipment"
	case e.Code == "02", e.Code == "16", e.Code == "27":
		return "Alert"
	}
	return "In Transit"
}

func mailPiece(number string) string {
	var h uint32 = 2166136261
	for i := 0; i < len(number); i++ {
		h = (h ^ uint32(number[i])) * 16777619
	}
	return hex.EncodeToString([]byte{byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func normalize(n string) string {
	if u, err := url.PathUnescape(n); err == nil {
		n = u
	}
	return strings.ToUpper(strings.Join(strings.Fields(n), ""))
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func apiError(w http.ResponseWriter, status int, code, message, detail string) {
	errs := []map[string]string{}
	if detail != "" {
		errs = append(errs, map[string]string{"status": strconv.Itoa(status), "code": code, "title": message, "detail": detail})
	}
	writeJSON(w, status, map[string]any{
		"apiVersion": "3.2.1",
		"error":      map[string]any{"code": code, "message": message, "errors": errs},
	})
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": "client authentication failed"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
