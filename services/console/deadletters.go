package console

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/waybill-dev/waybill/pkg/dlq"
)

// deadLetter is a dead letter as the API shows it; the body and headers
// only in the detail.
type deadLetter struct {
	Seq     uint64    `json:"seq"`
	Subject string    `json:"subject"`
	Stage   string    `json:"stage"`
	Source  string    `json:"source"`
	Reason  string    `json:"reason"`
	From    string    `json:"from"` // the subject it failed from: where a redrive sends it
	At      time.Time `json:"at"`
	Size    int       `json:"size"`

	Headers      map[string][]string `json:"headers,omitempty"`
	Body         *string             `json:"body,omitempty"`
	BodyEncoding string              `json:"body_encoding,omitempty"` // utf-8 or base64
}

func toDeadletter(l dlq.Letter) deadLetter {
	return deadLetter{Seq: l.Seq, Subject: l.Subject, Stage: l.Stage, Source: l.Source,
		Reason: l.Reason, From: l.From, At: l.At.UTC(), Size: l.Size}
}

type deadletterList struct {
	Deadletters []deadLetter `json:"deadletters"`
	NextCursor  string       `json:"next_cursor,omitempty"`
}

type deadletterCursor struct {
	From uint64 `json:"s"`
}

func (s *server) listDeadletters(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := dlq.Filter{Stage: q.Get("stage"), Source: q.Get("source")}
	if err := (dlq.Filter{Stage: f.Stage}).Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "stage", "stage may hold only letters, digits, '_' and '-' (at most 128)")
		return
	}
	if err := (dlq.Filter{Source: f.Source}).Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "source", "source may hold only letters, digits, '_' and '-' (at most 128)")
		return
	}
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	filters := []string{f.Stage, f.Source}
	var from uint64
	if v := q.Get("cursor"); v != "" {
		var c deadletterCursor
		if err := s.keys.openCursor("deadletters", filters, v, &c); err != nil {
			writeError(w, http.StatusBadRequest, "cursor", err.Error())
			return
		}
		from = c.From
	}
	page, err := s.dlq.List(r.Context(), f, from, limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := deadletterList{Deadletters: make([]deadLetter, 0, len(page.Letters))}
	for _, l := range page.Letters {
		out.Deadletters = append(out.Deadletters, toDeadletter(l))
	}
	if page.Next != 0 {
		if out.NextCursor, err = s.keys.signCursor("deadletters", filters, deadletterCursor{From: page.Next}); err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// parseSeq reads the {seq} path segment, answering 400 when it is not a
// stream sequence.
func parseSeq(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		writeError(w, http.StatusBadRequest, "seq", "seq must be a DEADLETTER stream sequence (a positive integer)")
		return 0, false
	}
	return seq, true
}

func (s *server) getDeadletter(w http.ResponseWriter, r *http.Request) {
	seq, ok := parseSeq(w, r)
	if !ok {
		return
	}
	l, err := s.dlq.Get(r.Context(), seq)
	if errors.Is(err, dlq.ErrNotFound) {
		writeError(w, http.StatusNotFound, "", "no such dead letter (never stored, redriven, or expired)")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := toDeadletter(l)
	out.Headers = map[string][]string(l.Header)
	if out.Headers == nil {
		out.Headers = map[string][]string{}
	}
	body := string(l.Data)
	out.BodyEncoding = "utf-8"
	if !utf8.Valid(l.Data) {
		body, out.BodyEncoding = base64.StdEncoding.EncodeToString(l.Data), "base64"
	}
	out.Body = &body
	writeJSON(w, http.StatusOK, out)
}

// redriven is the answer of a redrive.
type redriven struct {
	Seq       uint64 `json:"seq"`
	Subject   string `json:"subject"`
	Stream    string `json:"stream"`
	StreamSeq uint64 `json:"stream_seq"`
}

func (s *server) redrive(w http.ResponseWriter, r *http.Request) {
	seq, ok := parseSeq(w, r)
	if !ok {
		return
	}
	res, err := s.dlq.Redrive(r.Context(), seq)
	switch {
	case errors.Is(err, dlq.ErrNotFound):
		writeError(w, http.StatusNotFound, "", "no such dead letter (never stored, already redriven, or expired)")
		return
	case errors.Is(err, dlq.ErrNotRedrivable):
		writeError(w, http.StatusConflict, "", "this dead letter does not say which subject it failed from, so it cannot be redriven")
		return
	case err != nil:
		s.internalError(w, r, err)
		return
	}
	s.m.redriven.Inc()
	s.log.Info().Uint64("seq", res.Seq).Str("stream", res.Stream).Uint64("stream_seq", res.StreamSeq).Msg("dead letter redriven")
	writeJSON(w, http.StatusAccepted, redriven{Seq: res.Seq, Subject: res.Subject, Stream: res.Stream, StreamSeq: res.StreamSeq})
}
