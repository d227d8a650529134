package console

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// sseFrame is one Server-Sent Events frame as a client parses it.
type sseFrame struct {
	id, event, data string
	comment         bool
	retry           string
}

// sseStream is an open GET /api/v1/events.
type sseStream struct {
	resp   *http.Response
	frames chan sseFrame
	cancel context.CancelFunc
	done   chan struct{} // closed when the body ends
}

// openEvents connects to the live events; lastID is sent as Last-Event-ID
// unless empty.
func openEvents(t *testing.T, h *harness, filter, lastID string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	path := h.URL + "/api/v1/events"
	if filter != "" {
		path += "?filter=" + url.QueryEscape(filter)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+h.Token)
	req.Header.Set("Accept", "text/event-stream")
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		t.Fatalf("events: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &sseStream{resp: resp, frames: make(chan sseFrame, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.frames)
		r := bufio.NewReader(resp.Body)
		var f sseFrame
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				s.frames <- f
				f = sseFrame{}
			case strings.HasPrefix(line, ":"):
				f.comment = true
			default:
				k, v, _ := strings.Cut(line, ":")
				v = strings.TrimPrefix(v, " ")
				switch k {
				case "id":
					f.id = v
				case "event":
					f.event = v
				case "data":
					f.data += v
				case "retry":
					f.retry = v
				}
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// next returns the next frame that carries an event (skipping the opening
// frame and heartbeats); it fails the test if none comes in 20s.
func (s *sseStream) next(t *testing.T) sseFrame {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				t.Fatal("the event stream ended")
			}
			if f.data == "" {
				continue
			}
			return f
		case <-timeout:
			t.Fatal("no event within 20s")
		}
	}
}

// opening reads the first frame: retry and the id to resume from.
func (s *sseStream) opening(t *testing.T) sseFrame {
	t.Helper()
	select {
	case f := <-s.frames:
		if f.retry == "" || f.id == "" || f.data != "" {
			t.Fatalf("opening frame %+v", f)
		}
		return f
	case <-time.After(20 * time.Second):
		t.Fatal("no opening frame")
	}
	return sseFrame{}
}

func liveEvent(t *testing.T, f sseFrame) tracking.Event {
	t.Helper()
	if f.event != liveEventType || f.id == "" {
		t.Fatalf("frame %+v", f)
	}
	var e tracking.Event
	if err := json.Unmarshal([]byte(f.data), &e); err != nil {
		t.Fatalf("data %q: %v", f.data, err)
	}
	return e
}

// TestLiveEventsResume receives events live, disconnects, misses some, and
// reconnects with Last-Event-ID: exactly the events after it arrive, in
// order, none repeated.
func TestLiveEventsResume(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	mk := func(i int) tracking.Event {
		return ev("ups", fmt.Sprintf("1ZLIVE%d", i), tracking.InTransit, at.Add(time.Duration(i)*time.Minute), nil)
	}
	h.seedEvents(t, mk(0)) // before the stream opens: not sent

	s := openEvents(t, h, "", "")
	s.opening(t)
	h.seedEvents(t, mk(1), mk(2), mk(3))
	var ids []string
	for i := 1; i <= 3; i++ {
		f := s.next(t)
		if e := liveEvent(t, f); e.TrackingNumber != fmt.Sprintf("1ZLIVE%d", i) || e.Status != tracking.InTransit {
			t.Fatalf("event %d: %+v", i, e)
		}
		ids = append(ids, f.id)
	}
	s.close()

	h.seedEvents(t, mk(4), mk(5)) // while disconnected
	s = openEvents(t, h, "", ids[1])
	if f := s.opening(t); f.id != ids[1] {
		t.Errorf("resumed stream opens at %q, want %q", f.id, ids[1])
	}
	for _, want := range []int{3, 4, 5} {
		f := s.next(t)
		if e := liveEvent(t, f); e.TrackingNumber != fmt.Sprintf("1ZLIVE%d", want) {
			t.Fatalf("after resume got %s, want 1ZLIVE%d", e.TrackingNumber, want)
		}
		if want == 3 && f.id != ids[2] {
			t.Errorf("id %s, want %s", f.id, ids[2])
		}
	}
	h.seedEvents(t, mk(6))
	if e := liveEvent(t, s.next(t)); e.TrackingNumber != "1ZLIVE6" {
		t.Errorf("then %s", e.TrackingNumber)
	}
	select {
	case f := <-s.frames:
		if f.data != "" {
			t.Errorf("unexpected extra event %+v", f)
		}
	default:
	}
}

func TestLiveEventsFilter(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 3, 6, 10, 0, 0, 0, time.UTC)
	byCarrier := openEvents(t, h, "shipments.ups.>", "")
	byStatus := openEvents(t, h, "shipments.*.*.failed_attempt", "")
	byCarrier.opening(t)
	byStatus.opening(t)
	h.seedEvents(t,
		ev("usps", "9400A", tracking.InTransit, at, nil),
		ev("ups", "1ZF1", tracking.FailedAttempt, at, nil),
		ev("fedex", "777F", tracking.FailedAttempt, at.Add(time.Second), nil),
		ev("ups", "1ZF2", tracking.Delivered, at.Add(2*time.Second), nil),
	)
	for _, want := range []string{"1ZF1", "1ZF2"} {
		if e := liveEvent(t, byCarrier.next(t)); e.TrackingNumber != want {
			t.Errorf("ups filter: %s, want %s", e.TrackingNumber, want)
		}
	}
	for _, want := range []string{"1ZF1", "777F"} {
		if e := liveEvent(t, byStatus.next(t)); e.TrackingNumber != want {
			t.Errorf("failed_attempt filter: %s, want %s", e.TrackingNumber, want)
		}
	}
}

func TestLiveEventsBadRequests(t *testing.T) {
	h := newHarness(t)
	api := h.api(t)
	for _, f := range []string{"raw.>", "shipments", "shipments.ups", "shipments.>.x", "shipments.ups.*.*.x",
		"shipments..>", "shipments.u ps.>", "shipments.*.*.lost_in_space", "shipments.ups*.>", ">"} {
		resp, body := api.do(http.MethodGet, "/api/v1/events?filter="+url.QueryEscape(f), nil, nil)
		wantError(t, "filter "+f, resp, body, http.StatusBadRequest, "filter")
	}
	resp, body := api.do(http.MethodGet, "/api/v1/events", nil, http.Header{"Last-Event-ID": {"seven"}})
	wantError(t, "Last-Event-ID", resp, body, http.StatusBadRequest, "Last-Event-ID")
}

func TestValidFilter(t *testing.T) {
	for f, want := range map[string]bool{
		"shipments.>": true, "shipments.ups.>": true, "shipments.*.*.failed_attempt": true,
		"shipments.ups.1Z999.>": true, "shipments.ups.1Z_99-9.delivered": true, "shipments.*.*.*": true,
		"shipments.ups": false, "shipments.ups.1Z": false, "shipments": false, "shipments.>.>": false,
		"shipments.*.*.bogus": false, "SHIPMENTS.>": false, "shipments.ups.>.": false, "": false,
	} {
		if got := validFilter(f); got != want {
			t.Errorf("validFilter(%q) = %v, want %v", f, got, want)
		}
	}
}

func TestLiveEventsHeartbeat(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.Heartbeat = 50 * time.Millisecond }, true)
	s := openEvents(t, h, "", "")
	s.opening(t)
	select {
	case f := <-s.frames:
		if !f.comment || f.data != "" {
			t.Errorf("frame %+v, want a heartbeat comment", f)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no heartbeat")
	}
}

// TestShutdownEndsLiveEvents: open event streams do not hold up a graceful
// shutdown; they end and Run returns nil.
func TestShutdownEndsLiveEvents(t *testing.T) {
	h := newHarness(t)
	streams := []*sseStream{openEvents(t, h, "", ""), openEvents(t, h, "shipments.ups.>", "")}
	for _, s := range streams {
		s.opening(t)
	}
	if err := h.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, s := range streams {
		select {
		case <-s.done:
		case <-time.After(20 * time.Second):
			t.Fatal("an event stream outlived the server")
		}
	}
}
