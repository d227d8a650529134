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
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
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

	if !gjson.ValidBytes(body) {
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

	msg, err := r.message(id, body, time.Now())
	if err != nil {
		in.reject(ctx, r, body, "unidentified", err.Error())
		return
	}
	start := time.Now()
	dup, err := in.pub.publish(context.Background(), msg, providers.HashID([]byte(r.source), []byte(id.ID)))
	in.metrics.publish.Observe(time.Since(start).Seconds())
	if errors.Is(err, errUndecided) {
		buf = nil // JetStream may still read it
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

// message wraps the untouched body in a binary-mode CloudEvent.
func (r *route) message(id providers.Identity, body []byte, received time.Time) (*nats.Msg, error) {
	e := event.New(cloudevent.SpecVersion)
	e.SetID(id.ID)
	e.SetSource(r.source)
	e.SetType(id.Type)
	if id.Subject != "" {
		e.SetSubject(id.Subject)
	}
	e.SetTime(received)
	for _, x := range id.Extensions {
		e.SetExtension(x.Name, x.Value)
	}
	e.SetDataContentType(cloudevent.ContentTypeJSON)
	e.DataEncoded = body
	return cloudevent.ToMsg(r.subject, e)
}

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
	if err != nil {
		in.log.Error().Str("source", r.name).Err(err).Msg("dead letter not stored: answering 503")
		in.unavailable(ctx, r)
		return
	}
	in.metrics.deadLettered.WithLabelValues(r.name, class).Inc()
	in.log.Warn().Str("source", r.name).Str("event_id", e.ID()).Str("reason", class).Msg("webhook rejected to dead letter")
	in.fail(ctx, r, fasthttp.StatusBadRequest, reason)
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
