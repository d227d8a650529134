package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/dlq"
	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/service"
)

// server holds what the handlers share.
type server struct {
	cfg   Config
	keys  keys
	db    *lookup.Reader
	js    jetstream.JetStream
	dlq   *dlq.Queue
	stats *statsCache
	m     *metrics
	log   zerolog.Logger
	now   func() time.Time
	// done ends the live-event streams when the server shuts down, so
	// they never hold up a graceful shutdown.
	done <-chan struct{}
}

// route is one API route: its pattern (method and path, as ServeMux takes
// it), whether it changes state (then the Origin check applies), and its
// handler. The OpenAPI document lists exactly these (a test checks it).
type route struct {
	pattern       string
	stateChanging bool
	public        bool // no authentication: the login itself
	handler       http.HandlerFunc
}

// apiPrefix is where the API lives; everything else is the web console.
const apiPrefix = "/api/v1"

func (s *server) routes() []route {
	return []route{
		{pattern: "POST " + apiPrefix + "/session", stateChanging: true, public: true, handler: s.login},
		{pattern: "DELETE " + apiPrefix + "/session", stateChanging: true, public: true, handler: s.logout},
		{pattern: "GET " + apiPrefix + "/shipments", handler: s.listShipments},
		{pattern: "GET " + apiPrefix + "/shipments/{carrier}/{tracking}", handler: s.getShipment},
		{pattern: "GET " + apiPrefix + "/stats", handler: s.getStats},
		{pattern: "GET " + apiPrefix + "/deadletters", handler: s.listDeadletters},
		{pattern: "GET " + apiPrefix + "/deadletters/{seq}", handler: s.getDeadletter},
		{pattern: "POST " + apiPrefix + "/deadletters/{seq}/redrive", stateChanging: true, handler: s.redrive},
		{pattern: "GET " + apiPrefix + "/events", handler: s.liveEvents},
		{pattern: "GET " + apiPrefix + "/openapi.yaml", handler: s.openAPI},
	}
}

// handler is the console's whole HTTP surface: the API, the operational
// endpoints and the web console.
func (s *server) handler(ops *service.Ops) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes() {
		mux.Handle(rt.pattern, s.guard(rt))
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if s.keys.authenticate(r, s.now()) == authNone {
			writeError(w, http.StatusUnauthorized, "", "authentication required: Authorization: Bearer <WAYBILL_CONSOLE_TOKEN> or a session")
			return
		}
		writeError(w, http.StatusNotFound, "", "no such API route")
	})
	ops.Register(mux)
	mux.Handle("/", assets())
	return s.observe(mux)
}

// guard authenticates a route's requests and, for state-changing ones,
// applies the Origin check; API answers are never cached.
func (s *server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		m := s.keys.authenticate(r, s.now())
		if !rt.public && m == authNone {
			w.Header().Set("WWW-Authenticate", `Bearer realm="waybill console"`)
			writeError(w, http.StatusUnauthorized, "", "authentication required: Authorization: Bearer <WAYBILL_CONSOLE_TOKEN> or a session")
			return
		}
		if rt.stateChanging {
			allowed := originAllowed(r, m)
			if rt.public && r.Header.Get("Origin") == "" {
				// Logging in or out without an Origin (curl, scripts):
				// the token in the body is the credential, there is no
				// ambient one for a forged request to borrow.
				allowed = r.Header.Get("Sec-Fetch-Site") != "cross-site"
			}
			if !allowed {
				writeError(w, http.StatusForbidden, "Origin", "cross-origin request refused: Origin must match the console's host, or use the bearer token without a browser")
				return
			}
		}
		rt.handler(w, r)
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach Flush through the wrapper.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe sets the headers every answer carries, counts requests and logs
// each API request by route pattern and status. The URL is never logged:
// its path and query hold tracking numbers and references.
func (s *server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		pattern := r.Pattern
		if pattern == "" {
			pattern = "unmatched"
		}
		code := strconv.Itoa(sw.status)
		s.m.requests.WithLabelValues(pattern, code).Inc()
		s.m.duration.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
		if len(r.URL.Path) >= 5 && r.URL.Path[:5] == "/api/" {
			ev := s.log.Info()
			if sw.status >= 500 {
				ev = s.log.Warn()
			}
			ev.Str("route", pattern).Int("status", sw.status).Dur("took", time.Since(start)).Msg("api request")
		}
	})
}

// apiError is every API error's body.
type apiError struct {
	Error     string `json:"error"`
	Parameter string `json:"parameter,omitempty"`
}

func writeError(w http.ResponseWriter, status int, parameter, msg string) {
	writeJSON(w, status, apiError{Error: msg, Parameter: parameter})
}

// writeJSON answers v as JSON, as service.WriteJSON does, but encoded
// first: see writeEncoded.
func writeJSON(w http.ResponseWriter, status int, v any) {
	writeEncoded(w, status, func(b []byte) ([]byte, error) {
		buf := bytes.NewBuffer(b)
		err := json.NewEncoder(buf).Encode(v)
		return buf.Bytes(), err
	})
}

// jsonBuffers recycles the buffers answers are encoded into.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// writeEncoded answers the JSON encode appends to a buffer, with a
// Content-Length: a body over net/http's 2 KB buffer would otherwise go out
// chunked, which costs both ends CPU on every shipment lookup. A value that
// does not encode (a bug) is answered 500.
func writeEncoded(w http.ResponseWriter, status int, encode func([]byte) ([]byte, error)) {
	p := jsonBuffers.Get().(*[]byte)
	b, err := encode((*p)[:0])
	if err != nil {
		b, status = append((*p)[:0], `{"error":"internal error"}`+"\n"...), http.StatusInternalServerError
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	if cap(b) <= 1<<20 { // a rare huge answer is not kept alive
		*p = b[:0]
		jsonBuffers.Put(p)
	}
}

// internalError answers 503 when the projection or NATS cannot answer
// (unreachable, not migrated yet), else 500, and logs the cause without
// request data.
func (s *server) internalError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, lookup.ErrNotMigrated):
		writeError(w, http.StatusServiceUnavailable, "", "the projection is not migrated yet: start the projector")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		writeError(w, http.StatusServiceUnavailable, "", "request cancelled")
		return
	case isUnavailable(err):
		writeError(w, http.StatusServiceUnavailable, "", "backend unavailable, try again")
	default:
		writeError(w, http.StatusInternalServerError, "", "internal error")
	}
	s.log.Error().Err(err).Str("route", r.Pattern).Msg("request failed")
}
