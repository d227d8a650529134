package console

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/streams"
)

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }

func TestDeadlettersListAndPages(t *testing.T) {
	h := newHarness(t)
	var carriyo []uint64
	for i := 0; i < 7; i++ {
		carriyo = append(carriyo, h.seedDeadletter(t, "ingress", "carriyo", []byte(fmt.Sprintf(`{"n":%d}`, i)), "missing event id"))
		h.seedDeadletter(t, "normalizer", "tenovi", []byte(`{}`), "unmappable")
	}
	api := h.api(t)

	var got []uint64
	cursor, pages := "", 0
	for {
		path := "/api/v1/deadletters?stage=ingress&source=carriyo&limit=3"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page deadletterList
		api.getJSON(path, http.StatusOK, &page)
		for _, d := range page.Deadletters {
			got = append(got, d.Seq)
			if d.Stage != "ingress" || d.Source != "carriyo" || d.Reason != "missing event id" || d.From != "raw.carriyo" ||
				d.Subject != "deadletter.ingress.carriyo" || d.At.IsZero() || d.Size == 0 {
				t.Errorf("dead letter %+v", d)
			}
		}
		if pages++; page.NextCursor == "" || pages > 10 {
			break
		}
		cursor = page.NextCursor
	}
	if !slices.Equal(got, carriyo) {
		t.Errorf("pages gave %v, want %v", got, carriyo)
	}
	var all deadletterList
	api.getJSON("/api/v1/deadletters", http.StatusOK, &all)
	if len(all.Deadletters) != 14 || all.NextCursor != "" {
		t.Errorf("all: %d, next %q", len(all.Deadletters), all.NextCursor)
	}
	var tenovi deadletterList
	api.getJSON("/api/v1/deadletters?source=tenovi", http.StatusOK, &tenovi)
	if len(tenovi.Deadletters) != 7 || tenovi.Deadletters[0].Stage != "normalizer" {
		t.Errorf("tenovi: %+v", tenovi)
	}

	var first deadletterList
	api.getJSON("/api/v1/deadletters?stage=ingress&limit=1", http.StatusOK, &first)
	tests := []struct{ name, query, parameter string }{
		{"bad stage", "stage=a.b", "stage"},
		{"bad source", "source=" + url.QueryEscape("*"), "source"},
		{"limit", "limit=1000", "limit"},
		{"tampered cursor", "stage=ingress&limit=1&cursor=" + url.QueryEscape(first.NextCursor+"x"), "cursor"},
		{"cursor of other filters", "stage=normalizer&limit=1&cursor=" + url.QueryEscape(first.NextCursor), "cursor"},
	}
	for _, tt := range tests {
		resp, body := api.do(http.MethodGet, "/api/v1/deadletters?"+tt.query, nil, nil)
		wantError(t, tt.name, resp, body, http.StatusBadRequest, tt.parameter)
	}
}

func TestDeadletterDetail(t *testing.T) {
	h := newHarness(t)
	text := h.seedDeadletter(t, "ingress", "swiftpod", []byte(`{"event":"é"}`), "bad signature")
	binary := []byte{0xff, 0xfe, 0x00, 'x'}
	bin := h.seedDeadletter(t, "normalizer", "carriyo", binary, "not JSON")
	api := h.api(t)

	var d deadLetter
	api.getJSON("/api/v1/deadletters/"+itoa(text), http.StatusOK, &d)
	if d.BodyEncoding != "utf-8" || d.Body == nil || *d.Body != `{"event":"é"}` || d.Reason != "bad signature" ||
		d.From != "raw.swiftpod" || len(d.Headers["ce-id"]) != 1 || len(d.Headers["ce-dlreason"]) != 1 {
		t.Errorf("text dead letter %+v", d)
	}
	api.getJSON("/api/v1/deadletters/"+itoa(bin), http.StatusOK, &d)
	if d.BodyEncoding != "base64" || d.Body == nil || *d.Body != base64.StdEncoding.EncodeToString(binary) {
		t.Errorf("binary dead letter %+v", d)
	}
	resp, body := api.do(http.MethodGet, "/api/v1/deadletters/999999", nil, nil)
	wantError(t, "unknown seq", resp, body, http.StatusNotFound, "")
	for _, bad := range []string{"0", "abc", "-1", "18446744073709551616"} {
		resp, body := api.do(http.MethodGet, "/api/v1/deadletters/"+bad, nil, nil)
		wantError(t, "seq "+bad, resp, body, http.StatusBadRequest, "seq")
		resp, body = api.do(http.MethodPost, "/api/v1/deadletters/"+bad+"/redrive", nil, nil)
		wantError(t, "redrive seq "+bad, resp, body, http.StatusBadRequest, "seq")
	}
}

func subjectCount(t *testing.T, h *harness, stream, subject string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := h.JS.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Subjects[subject]
}

// TestRedriveExactlyOnce: redriving a dead letter republishes it once to
// the subject it failed from and removes it; redriving it again, also
// concurrently from several clients, answers 404 and stores no copy.
func TestRedriveExactlyOnce(t *testing.T) {
	h := newHarness(t)
	seq := h.seedDeadletter(t, "ingress", "carriyo", []byte(`{"shipment":"x"}`), "bad")
	api := h.api(t)

	resp, body := api.do(http.MethodPost, "/api/v1/deadletters/"+itoa(seq)+"/redrive", nil, nil)
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("redrive %d %s", resp.StatusCode, body)
	}
	if n := subjectCount(t, h, streams.Raw, "raw.carriyo"); n != 1 {
		t.Fatalf("raw.carriyo holds %d messages after the redrive, want 1", n)
	}
	resp, body = api.do(http.MethodPost, "/api/v1/deadletters/"+itoa(seq)+"/redrive", nil, nil)
	wantError(t, "second redrive", resp, body, http.StatusNotFound, "")
	resp, body = api.do(http.MethodGet, "/api/v1/deadletters/"+itoa(seq), nil, nil)
	wantError(t, "redriven dead letter", resp, body, http.StatusNotFound, "")

	// Many operators at once: one wins.
	seq2 := h.seedDeadletter(t, "ingress", "wineshipping", []byte(`{"n":2}`), "bad")
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[int]int{}
	)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v1/deadletters/"+itoa(seq2)+"/redrive", nil)
			req.Header.Set("Authorization", "Bearer "+h.Token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[http.StatusAccepted] != 1 || codes[http.StatusNotFound] != 5 {
		t.Errorf("concurrent redrives answered %v, want one 202 and five 404", codes)
	}
	if n := subjectCount(t, h, streams.Raw, "raw.wineshipping"); n != 1 {
		t.Errorf("raw.wineshipping holds %d messages, want 1", n)
	}
}
