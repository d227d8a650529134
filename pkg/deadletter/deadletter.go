// Package deadletter is the one shape of a message a stage could not
// process: the original message (a CloudEvent in binary mode, headers and
// body untouched) plus three extension attributes saying why, where and from
// which subject. Ingress, normalizer and projector write it; the CLI and the
// console read it and redrive it to the subject it failed from.
package deadletter

import (
	"strings"

	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// CloudEvent extension headers added to a dead letter.
const (
	HeaderReason  = cloudevent.HeaderPrefix + "dlreason"  // why it failed, for a human
	HeaderStage   = cloudevent.HeaderPrefix + "dlstage"   // ingress, normalizer, projector
	HeaderSubject = cloudevent.HeaderPrefix + "dlsubject" // where it came from: redrive goes there
)

// maxReason bounds the reason text: it is read by people, and a parser's
// error may quote a large part of a hostile body.
const maxReason = 512

// New wraps orig as a dead letter of stage for source (a provider name, or a
// carrier for the projector). The Nats-Msg-Id is derived from the stage and
// the original event's identity, so one failure redelivered many times is
// stored once.
func New(stage, source, reason string, orig *nats.Msg) *nats.Msg {
	h := make(nats.Header, len(orig.Header)+4)
	for k, v := range orig.Header {
		if k == nats.MsgIdHdr || strings.HasPrefix(k, "Nats-") {
			continue // the server's own headers belong to the original store
		}
		h[k] = append([]string(nil), v...)
	}
	if len(reason) > maxReason {
		reason = reason[:maxReason] + "…"
	}
	h[HeaderReason] = []string{cloudevent.Encode(reason)}
	h[HeaderStage] = []string{stage}
	h[HeaderSubject] = []string{cloudevent.Encode(orig.Subject)}
	h[nats.MsgIdHdr] = []string{providers.HashID([]byte(stage), []byte(header(orig.Header, "ce-source")),
		[]byte(header(orig.Header, "ce-id")), orig.Data)}
	return &nats.Msg{Subject: streams.DeadLetterSubject(stage, source), Header: h, Data: orig.Data}
}

// Info is what a dead letter says about itself.
type Info struct {
	Stage   string `json:"stage"`
	Reason  string `json:"reason"`
	Subject string `json:"subject"` // the subject it failed from
}

// Read returns a dead letter's stage, reason and original subject.
func Read(h nats.Header) Info {
	dec := func(k string) string {
		v, err := cloudevent.Decode(header(h, k))
		if err != nil {
			return header(h, k)
		}
		return v
	}
	return Info{Stage: dec(HeaderStage), Reason: dec(HeaderReason), Subject: dec(HeaderSubject)}
}

// Redrive rebuilds the original message from a dead letter: its subject,
// headers without the dead-letter attributes, and its body. Its
// Nats-Msg-Id is left off so a redriven message is not taken for a
// duplicate of the failed delivery.
func Redrive(h nats.Header, data []byte) *nats.Msg {
	info := Read(h)
	out := make(nats.Header, len(h))
	for k, v := range h {
		switch {
		case strings.EqualFold(k, HeaderReason), strings.EqualFold(k, HeaderStage),
			strings.EqualFold(k, HeaderSubject), strings.HasPrefix(k, "Nats-"):
			continue
		}
		out[k] = append([]string(nil), v...)
	}
	return &nats.Msg{Subject: info.Subject, Header: out, Data: data}
}

func header(h nats.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}
