package ingress

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/jsonvalid"
	"github.com/waybill-dev/waybill/pkg/providers"
)

// RejectedType is the CloudEvent type of a webhook ingress could not
// identify (stored on DEADLETTER with the reason).
const RejectedType = "dev.waybill.ingress.rejected.v1"

// route is one configured webhook source.
type route struct {
	provider providers.Provider
	name     string
	source   string // CloudEvent source: /webhooks/<name>
	subject  string // raw.<name>
	auth     Authenticator
	metrics  *sourceMetrics

	// What every CloudEvent of the source shares, parsed, validated and
	// encoded once (newRoute) instead of on every webhook.
	ceSource  types.URIRef
	sourceHdr string // ce-source's header value
}

// newRoute prepares a source's route; its CloudEvent attributes that never
// change are checked here, by the same rules as every event's.
func newRoute(p providers.Provider, name, subject string, auth Authenticator, m *sourceMetrics) (*route, error) {
	r := &route{provider: p, name: name, source: "/webhooks/" + name, subject: subject, auth: auth, metrics: m}
	probe := event.New(cloudevent.SpecVersion)
	probe.SetID("probe")
	probe.SetType("probe")
	probe.SetSource(r.source)
	probe.SetDataContentType(cloudevent.ContentTypeJSON)
	if err := cloudevent.Validate(probe); err != nil {
		return nil, fmt.Errorf("ingress: source %s: %w", name, err)
	}
	r.ceSource = probe.Context.(*event.EventContextV1).Source
	r.sourceHdr = cloudevent.Encode(r.source)
	return r, nil
}

// webhook is the request path of POST /webhooks/{source}, top to bottom:
// find the source, check the size, authenticate, validate, identify, wrap
// as a CloudEvent, store, answer.
func (in *Ingress) webhook(ctx *fasthttp.RequestCtx, r *route) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		in.fail(ctx, r, fasthttp.StatusMethodNotAllowed, "use POST")
		return
	}
	body := ctx.PostBody() // fasthttp has already enforced MaxBody (413)
	header := func(name string) []byte { return ctx.Request.Header.Peek(name) }

	if err := r.auth.Check(header, body); err != nil {
		in.log.Warn().Str("source", r.name).Str("scheme", r.auth.Scheme()).Err(err).Msg("webhook unauthorized")
		in.fail(ctx, r, fasthttp.StatusUnauthorized, "missing or invalid credentials")
		return
	}
	// The body outlives the request when the publish is retried (JetStream
	// resends on "no responders" during a leader change): copy it out of
	// fasthttp's reused buffer, into one of ours that goes back to the pool
	// only once the publish has a definite outcome.
	buf := getBody(body)
	defer func() { putBody(buf) }()
	body = *buf

	if !jsonvalid.Valid(body) {
		in.reject(ctx, r, body, "invalid_json", "body is not valid JSON")
		return
	}
	id, err := r.provider.Identify(providers.Request{Body: body, Header: func(name string) string {
		return string(ctx.Request.Header.Peek(name))
	}})
	if err != nil {
		in.reject(ctx, r, body, "unidentified", err.Error())
		return
	}

	msgID := providers.HashID([]byte(r.source), []byte(id.ID))
	msg, err := r.message(id, body, time.Now(), msgID)
	if err != nil {
		in.reject(ctx, r, body, "unidentified", err.Error())
		return
	}
	start := time.Now()
	dup, err := in.pub.publish(context.Background(), msg, msgID)
	in.metrics.publish.Observe(time.Since(start).Seconds())
	if errors.Is(err, errUndecided) {
		buf = nil // JetStream may still read it
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		in.tooLargeForStore(ctx, r, len(body))
		return
	}
	if err != nil {
		in.log.Error().Str("source", r.name).Str("event_id", id.ID).Err(err).Msg("publish failed: answering 503")
		in.unavailable(ctx, r)
		return
	}
	if dup {
		r.metrics.duplicates.Inc()
	}
	in.log.Debug().Str("source", r.name).Str("event_id", id.ID).Bool("duplicate", dup).Msg("webhook stored")
	r.metrics.request(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetBody(appendAccepted(ctx.Response.Body()[:0], id.ID, dup))
}

// message wraps the untouched body in a binary-mode CloudEvent: an sdk-go
// event.Event, mapped to its NATS message by cloudevent.ToMsg's rules
// (TestMessageMatchesToMsg holds the two to the same headers and the same
// refusals), with msgID as its Nats-Msg-Id. It is ToMsg specialised for
// the hot path: the attributes every event of the source shares (source,
// specversion, content type) were validated and encoded once by newRoute,
// so only the provider's (id, type, subject, extensions) are checked here,
// and the source is not parsed again as a URL on every webhook.
func (r *route) message(id providers.Identity, body []byte, received time.Time, msgID string) (*nats.Msg, error) {
	ec := &event.EventContextV1{Source: r.ceSource, DataContentType: &contentTypeJSON, Time: &types.Timestamp{Time: received}}
	e := event.Event{Context: ec, DataEncoded: body}
	e.SetID(id.ID)
	e.SetType(id.Type)
	if id.Subject != "" {
		e.SetSubject(id.Subject)
	}
	for _, x := range id.Extensions {
		e.SetExtension(x.Name, x.Value)
	}
	// The setters trim and refuse what they must (an empty id, a reserved
	// or malformed extension name); what passes them and is still invalid
	// is a blank type or an extension name waybill refuses (upper case is
	// lowered by the setter). Only then is the full validation run, for
	// ToMsg's own error.
	if e.FieldErrors != nil || ec.Type == "" || !validExtensionNames(ec.Extensions) {
		if err := cloudevent.Validate(e); err != nil {
			return nil, err
		}
	}

	n := 8 + len(ec.Extensions) // with Nats-Msg-Id
	vals := make([]string, 0, n)
	h := make(nats.Header, n)
	set := func(name, value string) {
		vals = append(vals, value)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	set(ceSpecVersion, cloudevent.SpecVersion)
	set(ceID, cloudevent.Encode(e.ID()))
	set(ceSourceHdr, r.sourceHdr)
	set(ceType, cloudevent.Encode(e.Type()))
	if s := e.Subject(); s != "" {
		set(ceSubject, cloudevent.Encode(s))
	}
	set(ceTime, cloudevent.FormatTime(e.Time()))
	for name, v := range ec.Extensions {
		set(cloudevent.HeaderPrefix+name, cloudevent.Encode(v.(string))) // providers give strings
	}
	set(cloudevent.HeaderContentType, cloudevent.ContentTypeJSON)
	set(nats.MsgIdHdr, msgID)
	return &nats.Msg{Subject: r.subject, Header: h, Data: e.Data()}, nil
}

func validExtensionNames(exts map[string]any) bool {
	for name := range exts {
		if !cloudevent.ValidExtensionName(name) {
			return false
		}
	}
	return true
}

// The ce- header names message writes.
const (
	ceSpecVersion = cloudevent.HeaderPrefix + "specversion"
	ceID          = cloudevent.HeaderPrefix + "id"
	ceSourceHdr   = cloudevent.HeaderPrefix + "source"
	ceType        = cloudevent.HeaderPrefix + "type"
	ceSubject     = cloudevent.HeaderPrefix + "subject"
	ceTime        = cloudevent.HeaderPrefix + "time"
)

// contentTypeJSON is addressable for EventContextV1.DataContentType.
var contentTypeJSON = cloudevent.ContentTypeJSON

// reject answers 400 after storing the body on DEADLETTER with the reason,
// so nothing a provider sent is lost. If the dead letter cannot be stored
// either, the provider gets 503 and retries.
func (in *Ingress) reject(ctx *fasthttp.RequestCtx, r *route, body []byte, class, reason string) {
	e := event.New(cloudevent.SpecVersion)
	e.SetID(providers.HashID(body))
	e.SetSource(r.source)
	e.SetType(RejectedType)
	e.SetTime(time.Now())
	e.DataEncoded = append([]byte(nil), body...) // the pooled body is reused after the answer
	orig, err := cloudevent.ToMsg(r.subject, e)
	if err == nil {
		dl := deadletter.New("ingress", r.name, reason, orig)
		_, err = in.pub.publish(context.Background(), dl, dl.Header.Get(nats.MsgIdHdr))
	}
	if errors.Is(err, nats.ErrMaxPayload) {
		in.tooLargeForStore(ctx, r, len(body))
		return
	}
	if err != nil {
		in.log.Error().Str("source", r.name).Err(err).Msg("dead letter not stored: answering 503")
		in.unavailable(ctx, r)
		return
	}
	in.metrics.deadLettered.WithLabelValues(r.name, class).Inc()
	in.log.Warn().Str("source", r.name).Str("event_id", e.ID()).Str("reason", class).Msg("webhook rejected to dead letter")
	in.fail(ctx, r, fasthttp.StatusBadRequest, reason)
}

// tooLargeForStore answers 413 for a body under WAYBILL_MAX_BODY that the
// NATS server's max_payload refuses (with its headers): a 503 would have
// the provider retry it forever (docs/bad-input.md).
func (in *Ingress) tooLargeForStore(ctx *fasthttp.RequestCtx, r *route, n int) {
	in.log.Error().Str("source", r.name).Int("bytes", n).Msg("body over the NATS server's max_payload: answering 413; raise max_payload or lower WAYBILL_MAX_BODY")
	in.fail(ctx, r, fasthttp.StatusRequestEntityTooLarge, "body over the event store's message size limit")
}

func (in *Ingress) unavailable(ctx *fasthttp.RequestCtx, r *route) {
	ctx.Response.Header.Set("Retry-After", strconv.Itoa(int(in.cfg.RetryAfter.Seconds()+0.5)))
	in.fail(ctx, r, fasthttp.StatusServiceUnavailable, "event store unavailable, retry later")
}

// fail answers a JSON error and counts it.
func (in *Ingress) fail(ctx *fasthttp.RequestCtx, r *route, code int, msg string) {
	if r != nil {
		r.metrics.request(code)
	}
	writeError(ctx, code, msg)
}

func writeError(ctx *fasthttp.RequestCtx, code int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(code)
	ctx.SetBody(b)
}

// bodies recycles webhook body copies. Buffers over maxPooledBody are left
// to the GC so one large webhook does not pin its size in the pool.
var bodies sync.Pool

const maxPooledBody = 64 << 10

func getBody(b []byte) *[]byte {
	buf, _ := bodies.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	*buf = append((*buf)[:0], b...)
	return buf
}

func putBody(buf *[]byte) {
	if buf != nil && cap(*buf) <= maxPooledBody {
		bodies.Put(buf)
	}
}

// appendAccepted renders {"id":"...","duplicate":bool} without reflection.
func appendAccepted(b []byte, id string, dup bool) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, id)
	if dup {
		return append(b, `,"duplicate":true}`...)
	}
	return append(b, `,"duplicate":false}`...)
}

func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			q, _ := json.Marshal(s) // rare: ids are ASCII in practice
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// describeRoutes is logged at start: which sources are served and how.
func describeRoutes(routes map[string]*route, log zerolog.Logger) {
	for _, p := range providers.Webhooks() {
		name := p.Info().Name
		if r, ok := routes[name]; ok {
			log.Info().Str("source", name).Str("scheme", r.auth.Scheme()).Str("path", "/webhooks/"+name).Msg("webhook source enabled")
		} else {
			log.Warn().Str("source", name).Str("variable", AuthVar(name)).Msg(fmt.Sprintf("webhook source disabled: %s is not set, POST /webhooks/%s answers 404", AuthVar(name), name))
		}
	}
}
