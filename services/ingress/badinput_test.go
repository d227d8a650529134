package ingress_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// The bad-input corpus at ingress. docs/bad-input.md is the table of what
// each input is answered and what happens to it downstream; these tests
// hold ingress to it. Nothing may crash or hang, and nothing may be lost:
// every body is stored on RAW (200), or stored on DEADLETTER with the
// reason (400), or refused unread and unstored by contract (401, 413, 431).

// outcome is where a body ends up.
type outcome int

const (
	onRaw        outcome = iota // 200: raw.<source>, untouched
	onDeadLetter                // 400: deadletter.ingress.<source>, with the reason
	nowhere                     // 401, 413, 431: not stored
)

type badInput struct {
	name   string
	kind   string  // providertest's Kind, for the corpus built from payloads
	w      webhook // signed unless the case is about credentials
	code   int
	stored outcome
	reason string // part of the dead letter's reason (onDeadLetter)
}

// maxBody is ingress's default WAYBILL_MAX_BODY, which these tests keep.
const maxBody = 1 << 20

// idPaths are the body fields that identify a webhook (DESIGN.md, "Event
// ids"): a wrong type there (or at the parent) leaves nothing to identify it
// by, which is a 400. Carriyo's id is a header and Tenovi's the body's
// hash, so no single field of theirs is one.
var idPaths = map[string][]string{
	"wineshipping": {"event_id"},
	"swiftpod":     {"event", "event.uuid"},
}

// seedWebhook is the provider's seed payload (testdata/seed-*.json) as
// seedFixtures reads it, with its headers.
func seedWebhook(t testing.TB, source string) webhook {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join("..", "..", "pkg", "providers", source, "testdata", "seed-*.json"))
	for _, p := range paths {
		if strings.HasSuffix(p, ".golden.json") || strings.HasSuffix(p, ".headers.json") {
			continue
		}
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range seedFixtures(t, source) {
			if bytes.Equal(w.body, body) {
				return w
			}
		}
	}
	t.Fatalf("%s: no seed payload", source)
	return webhook{}
}

// corpus is every bad input of docs/bad-input.md for ingress's sources,
// with its documented answer: the seed payloads truncated, with every
// field given every other JSON type, nested deep, with broken UTF-8, with
// timestamps in the years 0 and 9999 and with wildcards in the tracking
// number; then the size and header limits. depth is the nesting of the
// nested cases (100k in the corpus test, less as fuzz seeds).
func corpus(t testing.TB, depth int) []badInput {
	t.Helper()
	var out []badInput
	n := 0
	for _, source := range sources {
		seed := seedWebhook(t, source)
		p, _ := providers.Lookup(source)
		id, err := p.Identify(providers.Request{Body: seed.body, Header: http.Header(toHeader(seed.headers)).Get})
		if err != nil {
			t.Fatal(err)
		}
		kind := ""
		add := func(name string, body []byte, code int, stored outcome, reason string) {
			n++
			w := webhook{source: source}
			w.body, w.headers = providertest.WithID(id.ID, fmt.Sprintf("-bad%04d", n), body, seed.headers)
			out = append(out, badInput{name: source + " " + name, kind: kind, w: w.signed(), code: code, stored: stored, reason: reason})
		}
		for _, v := range providertest.BadInputs(seed.body, id.Subject, depth) {
			kind = v.Kind
			switch v.Kind {
			case providertest.KindTruncated:
				add(v.Name, v.Body, 400, onDeadLetter, "not valid JSON")
			case providertest.KindNested:
				switch {
				case !gjson.ValidBytes(v.Body):
					add(v.Name, v.Body, 400, onDeadLetter, "not valid JSON")
				case source == "tenovi": // its id hashes the canonical body
					add(v.Name, v.Body, 400, onDeadLetter, "nested deeper than")
				default:
					add(v.Name, v.Body, 200, onRaw, "")
				}
			case providertest.KindUTF8:
				if strings.Contains(v.Name, "BOM") || strings.Contains(v.Name, "NUL") {
					add(v.Name, v.Body, 400, onDeadLetter, "not valid JSON")
				} else { // bytes inside strings: JSON all the same, stored untouched
					add(v.Name, v.Body, 200, onRaw, "")
				}
			case providertest.KindWrongType:
				if slices.Contains(idPaths[source], v.Path) {
					add(v.Name, v.Body, 400, onDeadLetter, "event")
				} else {
					add(v.Name, v.Body, 200, onRaw, "")
				}
			default: // years, wildcards: ingress reads neither
				add(v.Name, v.Body, 200, onRaw, "")
			}
		}
		kind = ""
		add("empty body", nil, 400, onDeadLetter, "not valid JSON")
		nest := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		if source == "carriyo" { // its id is a header: any JSON identifies
			add(fmt.Sprintf("%d levels of [] (not an object)", depth), []byte(nest), 200, onRaw, "")
		} else {
			add(fmt.Sprintf("%d levels of [] (not an object)", depth), []byte(nest), 400, onDeadLetter, "")
		}
	}
	// Size limits (default 1 MiB): the limit itself is accepted, one byte
	// more is 413 whatever else is wrong with the request, unread and
	// unstored. (TestOversizedBodiesAreNotRead shows "unread".)
	atLimit := minimal("swiftpod", "at-limit")
	atLimit.body = padTo(atLimit.body, maxBody)
	overLimit := minimal("swiftpod", "over-limit")
	overLimit.body = padTo(overLimit.body, maxBody+1)
	tenMB := minimal("wineshipping", "ten-mb")
	tenMB.body = padTo(tenMB.body, 10<<20)
	out = append(out,
		badInput{name: "body of exactly the limit", w: atLimit.signed(), code: 200, stored: onRaw},
		badInput{name: "body one byte over the limit", w: overLimit.signed(), code: 413, stored: nowhere},
		badInput{name: "10 MB body", w: tenMB.signed(), code: 413, stored: nowhere},
		badInput{name: "10 MB body without credentials", w: tenMB, code: 413, stored: nowhere},
		badInput{name: "1 MiB of [", w: webhook{source: "carriyo", body: bytes.Repeat([]byte("["), maxBody), headers: map[string]string{"event-id": "deep"}}.signed(), code: 400, stored: onDeadLetter, reason: "not valid JSON"},
		badInput{name: "10 MB of [ without credentials", w: webhook{source: "tenovi", body: bytes.Repeat([]byte("["), 10<<20)}, code: 413, stored: nowhere},
		badInput{name: "truncated JSON without credentials", w: webhook{source: "swiftpod", body: []byte(`{"event":{"uuid":"x"`)}, code: 401, stored: nowhere},
	)
	// Headers over fasthttp's 4 KiB read buffer: 431, unread and unstored
	// (before the fix, 400 "malformed", which claims a dead letter).
	big := minimal("carriyo", "big-header")
	big.headers["webhook-id"] = strings.Repeat("w", 8<<10)
	out = append(out, badInput{name: "8 KiB header", w: big.signed(), code: 431, stored: nowhere})
	return out
}

// padTo grows a JSON object body to exactly n bytes with a "pad" member.
func padTo(body []byte, n int) []byte {
	head := append(body[:len(body)-1:len(body)-1], `,"pad":"`...)
	if pad := n - len(head) - 2; pad > 0 {
		head = append(head, bytes.Repeat([]byte("x"), pad)...)
	}
	return append(head, `"}`...)
}

// bodyKey names a body posted to a source.
type bodyKey struct {
	source string
	sum    [32]byte
}

func keyOf(source string, body []byte) bodyKey { return bodyKey{source, sha256.Sum256(body)} }

// TestBadInputCorpus posts the whole corpus and checks every answer, then
// accounts for every body: the 200s are on RAW untouched under their id,
// the 400s on DEADLETTER with a reason, the rest nowhere, and the streams
// hold nothing else.
func TestBadInputCorpus(t *testing.T) {
	h := start(t, nil)
	cases := corpus(t, 100_000)
	type answer struct {
		code int
		out  map[string]any
		err  error
	}
	answers := make([]answer, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			code, out, err := postOnce(h.url, c.w)
			answers[i] = answer{code, out, err}
		}()
	}
	wg.Wait()

	// Bodies answered 200, by source/event id as the provider derives it
	// (the answer's JSON shows invalid UTF-8 in an id as U+FFFD). Several
	// bodies may share an id: Tenovi's hashes the canonical body, where
	// invalid bytes read as U+FFFD; the first is stored, the others are
	// answered duplicate:true, as for a provider's retry.
	type stored struct {
		bodies [][]byte
		fresh  int // answers with duplicate:false
	}
	wantRaw := map[string]*stored{}
	wantDead := map[bodyKey]string{} // -> part of the reason
	unstored := map[bodyKey]string{} // -> case name
	for i, c := range cases {
		a := answers[i]
		switch {
		case a.err != nil:
			t.Errorf("%s: %v", c.name, a.err)
			continue
		case a.code != c.code:
			t.Errorf("%s: answered %d %v, want %d (docs/bad-input.md)", c.name, a.code, a.out, c.code)
			continue
		}
		switch c.stored {
		case onRaw:
			p, _ := providers.Lookup(c.w.source)
			id, err := p.Identify(providers.Request{Body: c.w.body, Header: http.Header(toHeader(c.w.headers)).Get})
			if err != nil || a.out["id"] != string([]rune(id.ID)) {
				t.Errorf("%s: 200 with %v, want id %q (%v)", c.name, a.out, id.ID, err)
				continue
			}
			key := c.w.source + "/" + id.ID
			if wantRaw[key] == nil {
				wantRaw[key] = &stored{}
			}
			wantRaw[key].bodies = append(wantRaw[key].bodies, c.w.body)
			if a.out["duplicate"] == false {
				wantRaw[key].fresh++
			}
		case onDeadLetter:
			if a.out["error"] == nil {
				t.Errorf("%s: 400 without an error: %v", c.name, a.out)
			}
			wantDead[keyOf(c.w.source, c.w.body)] = c.reason
		default:
			if a.out["error"] == nil {
				t.Errorf("%s: %d without an error: %v", c.name, a.code, a.out)
			}
			unstored[keyOf(c.w.source, c.w.body)] = c.name
		}
	}

	raw := h.messages(streams.Raw, ">")
	for _, m := range raw {
		e, err := cloudevent.FromMsg(m.Header, m.Data)
		if err != nil {
			t.Errorf("RAW %s: %v", m.Subject, err)
			continue
		}
		key := strings.TrimPrefix(m.Subject, "raw.") + "/" + e.ID()
		want, ok := wantRaw[key]
		switch {
		case !ok:
			t.Errorf("RAW holds %q, which no case expects", key)
		case want.fresh != 1:
			t.Errorf("%q: %d answers with duplicate:false, want 1", key, want.fresh)
		case !slices.ContainsFunc(want.bodies, func(b []byte) bool { return bytes.Equal(b, m.Data) }):
			t.Errorf("RAW %q: body changed", key)
		}
		delete(wantRaw, key)
		if name, ok := unstored[keyOf(strings.TrimPrefix(m.Subject, "raw."), m.Data)]; ok {
			t.Errorf("%s: stored on RAW", name)
		}
	}
	for key := range wantRaw {
		t.Errorf("answered 200 but not on RAW: %s", key)
	}
	for _, m := range h.messages(streams.DeadLetter, ">") {
		info := deadletter.Read(m.Header)
		key := keyOf(strings.TrimPrefix(m.Subject, "deadletter.ingress."), m.Data)
		if name, ok := unstored[key]; ok {
			t.Errorf("%s: stored on DEADLETTER", name)
		}
		reason, ok := wantDead[key]
		switch {
		case !ok:
			t.Errorf("DEADLETTER holds %.80q, which no case expects", m.Data)
		case info.Stage != "ingress" || !strings.HasPrefix(info.Subject, "raw.") || info.Reason == "" || !strings.Contains(info.Reason, reason):
			t.Errorf("dead letter %+v, want stage ingress and a reason with %q", info, reason)
		}
		delete(wantDead, key)
	}
	for _, reason := range wantDead {
		t.Errorf("answered 400 (%s) but not on DEADLETTER", reason)
	}
	t.Logf("%d inputs: %d on RAW, %d on DEADLETTER, %d refused unread", len(cases), len(raw), len(cases)-len(raw)-len(unstored), len(unstored))
}

// postOnce posts w with a fresh connection and returns the answer; unlike
// harness.post it reports transport errors instead of failing, so it can
// run on many goroutines.
func postOnce(base string, w webhook) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, base+"/webhooks/"+w.source, bytes.NewReader(w.body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: time.Minute} // a hang fails the test instead of the run
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("answer %d is not JSON: %q", resp.StatusCode, b)
	}
	return resp.StatusCode, out, nil
}

// TestOversizedBodiesAreNotRead shows that a body over the limit is
// refused without being read: ingress answers 413 as soon as the declared
// Content-Length is over the limit, before a byte of the body is sent; and
// a chunked body is read no further than the limit plus one chunk header.
// A server that read on would wait for the rest, and the read deadline
// would fail the test.
func TestOversizedBodiesAreNotRead(t *testing.T) {
	h := start(t, nil)
	addr := strings.TrimPrefix(h.url, "http://")
	w := minimal("wineshipping", "unread").signed()
	headers := func(extra string) string {
		s := "POST /webhooks/wineshipping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
			"aftership-hmac-sha256: " + w.headers["aftership-hmac-sha256"] + "\r\n" + extra + "\r\n"
		return s
	}
	t.Run("content-length", func(t *testing.T) {
		code := rawExchange(t, addr, headers(fmt.Sprintf("Content-Length: %d\r\n", 10<<20)), nil)
		if code != 413 {
			t.Fatalf("answered %d, want 413 with no body sent", code)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		const chunk = 64 << 10
		var body bytes.Buffer
		for sent := 0; sent+chunk <= maxBody; sent += chunk {
			fmt.Fprintf(&body, "%x\r\n%s\r\n", chunk, bytes.Repeat([]byte("x"), chunk))
		}
		fmt.Fprintf(&body, "%x\r\n", chunk) // the chunk that would cross the limit: announced, never sent
		code := rawExchange(t, addr, headers("Transfer-Encoding: chunked\r\n"), body.Bytes())
		if code != 413 {
			t.Fatalf("answered %d, want 413 after %d bytes of a 10 MB chunked body", code, body.Len())
		}
	})
	if n := len(h.messages(streams.Raw, ">")) + len(h.messages(streams.DeadLetter, ">")); n != 0 {
		t.Fatalf("%d messages stored for bodies over the limit", n)
	}
}

// rawExchange writes a request's head and the part of its body given,
// then reads the status line of the answer, with a deadline against hangs.
func rawExchange(t *testing.T, addr, head string, body []byte) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := conn.Write(append([]byte(head), body...)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestBodyOverStoreLimit: a body under WAYBILL_MAX_BODY that the NATS
// server refuses as over its max_payload (8 MiB embedded, 1 MiB by default
// in a stock nats-server) is answered 413 and not stored. It used to be 503,
// which providers retry until they give up: the webhook was lost.
func TestBodyOverStoreLimit(t *testing.T) {
	h := start(t, map[string]string{"WAYBILL_MAX_BODY": "16MiB"})
	valid := minimal("wineshipping", "over-store")
	valid.body = padTo(valid.body, 9<<20)
	invalid := webhook{source: "wineshipping", body: append(bytes.Repeat([]byte(" "), 9<<20), '{')}
	for _, w := range []webhook{valid.signed(), invalid.signed()} {
		code, out, err := postOnce(h.url, w)
		if err != nil || code != 413 || out["error"] == nil {
			t.Errorf("%d-byte body: %d %v %v, want 413", len(w.body), code, out, err)
		}
	}
	if n := len(h.messages(streams.Raw, ">")) + len(h.messages(streams.DeadLetter, ">")); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}
