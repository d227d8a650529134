package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// liveEventType is the SSE event name of a normalized event.
const liveEventType = "shipment.event"

// sseWriteTimeout is how long a live-event client may take to accept one
// frame before it is dropped.
const sseWriteTimeout = 30 * time.Second

// validFilter reports whether f is a subject filter under SHIPMENTS'
// shipments.<carrier>.<tracking>.<status>: "shipments" then up to three
// tokens, each a subject token ([A-Za-z0-9_-]) or '*', or a final '>'; a
// literal status must be one of the taxonomy.
func validFilter(f string) bool {
	if len(f) > 512 {
		return false
	}
	tokens := strings.Split(f, ".")
	if tokens[0] != "shipments" || len(tokens) < 2 || len(tokens) > 4 {
		return false
	}
	for i, tok := range tokens[1:] {
		last := i == len(tokens)-2
		switch {
		case tok == ">":
			if !last {
				return false
			}
		case tok == "*":
		case tok == "":
			return false
		default:
			for _, c := range []byte(tok) {
				if !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
					return false
				}
			}
			if i == 2 && !tracking.Status(tok).Valid() {
				return false
			}
		}
	}
	// Without '>' a filter must name all three tokens to match anything.
	return tokens[len(tokens)-1] == ">" || len(tokens) == 4
}

// liveEvents streams normalized events from SHIPMENTS as Server-Sent
// Events: id is the stream sequence, so a reconnect with Last-Event-ID
// resumes right after the last event the client saw. Without it, the
// stream starts at the first event stored after the request. An ordered
// consumer (ephemeral, no acks, recreated by the client library after a
// gap) reads the stream, so a slow or vanished client costs the server
// nothing durable.
func (s *server) liveEvents(w http.ResponseWriter, r *http.Request) {
	filter := r.URL.Query().Get("filter")
	if filter == "" {
		filter = "shipments.>"
	}
	if !validFilter(filter) {
		writeError(w, http.StatusBadRequest, "filter", "filter must be a subject filter under shipments.<carrier>.<tracking>.<status>, such as shipments.ups.> or shipments.*.*.failed_attempt")
		return
	}
	var start uint64
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		last, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			writeError(w, http.StatusBadRequest, "Last-Event-ID", "Last-Event-ID must be the id (a stream sequence) of an event this endpoint sent")
			return
		}
		start = last + 1
	}
	rc := http.NewResponseController(w)

	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	// At shutdown the stream ends at once, also when a client that stopped
	// reading has a write blocked: its deadline is moved to now. rc must
	// not be used once the handler returned, hence the lock.
	var (
		rcMu     sync.Mutex
		returned bool
	)
	defer func() { rcMu.Lock(); returned = true; rcMu.Unlock() }()
	go func() {
		select {
		case <-s.done:
			cancel()
			rcMu.Lock()
			if !returned {
				_ = rc.SetWriteDeadline(time.Now())
			}
			rcMu.Unlock()
		case <-ctx.Done():
		}
	}()
	// write sends one frame; a client that does not take it within
	// sseWriteTimeout is dropped (it reconnects with Last-Event-ID).
	write := func(format string, args ...any) bool {
		if ctx.Err() != nil {
			return false
		}
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteTimeout))
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return false
		}
		return rc.Flush() == nil
	}

	str, err := s.js.Stream(ctx, streams.Shipments)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if start == 0 {
		// "From now": the sequence after the last stored message, fixed
		// before the answer starts, so an event published once the client
		// has its 200 is never missed, and a reconnect before any event
		// (the initial id below) resumes from here.
		start = str.CachedInfo().State.LastSeq + 1
	}
	cons, err := str.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    start,
		// A client that vanished without a clean close leaves nothing
		// behind for long.
		InactiveThreshold: 30 * time.Second,
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	iter, err := cons.Messages()
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	defer iter.Stop()
	msgs := make(chan jetstream.Msg)
	go func() {
		defer close(msgs)
		for {
			m, err := iter.Next()
			if err != nil {
				if !errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() == nil {
					s.log.Warn().Err(err).Msg("live events: stream read failed")
				}
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	// retry: how long a browser waits before reconnecting; the id-only
	// frame sets the browser's Last-Event-ID without firing an event.
	if !write("retry: 2000\nid: %d\n\n", start-1) {
		return
	}
	s.m.liveClients.Inc()
	defer s.m.liveClients.Dec()

	heartbeat := time.NewTicker(s.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			if !write(": heartbeat\n\n") {
				return
			}
		case m, ok := <-msgs:
			if !ok {
				return // the read failed: the client reconnects and resumes
			}
			meta, err := m.Metadata()
			if err != nil {
				continue
			}
			// The stored data is the normalized event's JSON on one line
			// (encoding/json never writes a newline), as SSE data needs.
			data := m.Data()
			if strings.ContainsAny(string(data), "\r\n") {
				data = []byte(strings.NewReplacer("\r", "", "\n", "").Replace(string(data)))
			}
			if !write("id: %d\nevent: %s\ndata: %s\n\n", meta.Sequence.Stream, liveEventType, data) {
				return
			}
		}
	}
}
