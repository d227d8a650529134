package ingress_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
	"github.com/valyala/fasthttp"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/services/ingress"
)

// FuzzWebhook drives the webhook handler (ingress.Handler, the path every
// POST /webhooks/<source> takes after fasthttp has read it) with arbitrary
// bodies and headers. The handler is called in process with a
// fasthttp.RequestCtx, no socket or server involved; only the JetStream it
// stores to runs in a process of its own (the test binary again, see
// TestMain): fuzzing measures the coverage of the whole process, and an
// embedded server's background work made nearly every input look new.
// Seeds: every provider fixture and the bad-input corpus
// (docs/bad-input.md), one input per kind, source and answer.
func FuzzWebhook(f *testing.F) {
	for _, source := range sources {
		for _, w := range seedFixtures(f, source) {
			f.Add(uint8(sourceIndex(source)), true, providertest.HeaderText(w.headers), w.body)
		}
		f.Add(uint8(sourceIndex(source)), false, "", minimal(source, "unsigned").body)
	}
	kinds := map[string]bool{} // one seed per kind, source and answer: the fuzzer mutates from there
	for _, c := range corpus(f, 200) {
		if len(c.w.body) > 64<<10 || c.code == 413 || c.code == 431 {
			continue // size limits are fasthttp's, before the handler
		}
		if k := fmt.Sprint(c.kind, c.w.source, c.code); c.kind != "" && kinds[k] {
			continue
		} else {
			kinds[k] = true
		}
		headers := map[string]string{}
		for k, v := range c.w.headers {
			headers[k] = v
		}
		f.Add(uint8(sourceIndex(c.w.source)), c.code != 401, providertest.HeaderText(headers), c.w.body)
	}
	var (
		once sync.Once
		fz   *fuzzIngress
	)
	f.Cleanup(func() {
		if fz != nil {
			fz.stop()
		}
	})
	f.Fuzz(func(t *testing.T, src uint8, sign bool, headerText string, body []byte) {
		once.Do(func() { fz = startFuzzIngress(t) }) // in the worker: the coordinator needs none
		if fz == nil {
			t.Fatal("no ingress")
		}
		source := sources[int(src)%len(sources)]
		w := webhook{source: source, body: body, headers: providertest.ParseHeaderText(headerText)}
		if sign {
			w = w.signed()
		}
		rawBefore, deadBefore := fz.count(t, streams.Raw), fz.count(t, streams.DeadLetter)
		code, out := fz.call(t, w)
		rawAdded, deadAdded := fz.count(t, streams.Raw)-rawBefore, fz.count(t, streams.DeadLetter)-deadBefore
		switch code {
		case 200:
			p, _ := providers.Lookup(source)
			id, err := p.Identify(providers.Request{Body: body, Header: fz.headerOf(w)})
			if err != nil || out["id"] != string([]rune(id.ID)) {
				t.Fatalf("200 %v, but the provider identifies the request as %q (%v)", out, id.ID, err)
			}
			key := source + "/" + id.ID
			switch {
			case deadAdded != 0 || rawAdded != map[bool]uint64{false: 1, true: 0}[out["duplicate"] == true]:
				t.Fatalf("200 %v stored %d on RAW and %d on DEADLETTER", out, rawAdded, deadAdded)
			case out["duplicate"] == true && !fz.stored[key]:
				t.Fatalf("200 %v, but no event %q was stored before", out, id.ID)
			case out["duplicate"] == false:
				m := fz.last(t, streams.RawSubject(source))
				e, err := cloudevent.FromMsg(m.Header, m.Data)
				if err != nil || e.ID() != id.ID || string(m.Data) != string(body) {
					t.Fatalf("stored %v %q (%v), want id %q and the body untouched", e, m.Data, err, id.ID)
				}
			}
			fz.stored[key] = true
		case 400:
			key := source + "/" + string(body)
			switch {
			case rawAdded != 0 || deadAdded > 1:
				t.Fatalf("400 %v stored %d on RAW and %d on DEADLETTER", out, rawAdded, deadAdded)
			case deadAdded == 0 && !fz.stored[key]: // the same body was dead-lettered before: stored once
				t.Fatalf("400 %v, but its body is not on DEADLETTER", out)
			case deadAdded == 1:
				m := fz.last(t, streams.DeadLetterSubject("ingress", source))
				if info := deadletter.Read(m.Header); string(m.Data) != string(body) || info.Reason == "" {
					t.Fatalf("400 %v, but the dead letter is %+v %q", out, info, m.Data)
				}
			}
			fz.stored[key] = true
		case 401:
			if sign || rawAdded+deadAdded != 0 {
				t.Fatalf("401 %v (signed %v), %d messages stored", out, sign, rawAdded+deadAdded)
			}
		default:
			t.Fatalf("answered %d %v: not an answer the contract documents", code, out)
		}
		again, out2 := fz.call(t, w)
		if again != code || (code == 200 && (out2["id"] != out["id"] || out2["duplicate"] != true)) {
			t.Fatalf("same request answered %d %v, then %d %v", code, out, again, out2)
		}
		if n := fz.count(t, streams.Raw) + fz.count(t, streams.DeadLetter); n != rawBefore+rawAdded+deadBefore+deadAdded {
			t.Fatal("the same request again stored more messages")
		}
	})
}

func sourceIndex(source string) int {
	for i, s := range sources {
		if s == source {
			return i
		}
	}
	panic(source)
}

// fuzzIngress is an ingress whose handler is called directly, over a
// JetStream server in a child process.
type fuzzIngress struct {
	in      *ingress.Ingress
	js      jetstream.JetStream
	streams map[string]jetstream.Stream
	stop    func()
	// stored remembers what the server holds (source/event id on RAW,
	// source/body on DEADLETTER): the fuzzer repeats inputs, and a repeat
	// is stored once.
	stored map[string]bool
}

// natsServerEnv, set to a store directory, makes the test binary a
// JetStream server (TestMain).
const natsServerEnv = "WAYBILL_TEST_NATS_STORE"

// TestMain serves JetStream instead of running tests when natsServerEnv is
// set: the test binary is FuzzWebhook's server.
func TestMain(m *testing.M) {
	if dir := os.Getenv(natsServerEnv); dir != "" {
		e, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: dir, Port: -1}, zerolog.Nop())
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(e.ClientURL())
		_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies
		e.Stop()
		os.RemoveAll(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startFuzzIngress starts the JetStream child process (which removes its
// store when it ends), creates the streams and builds an ingress on a
// connection to it. Its stop must be called.
func startFuzzIngress(t *testing.T) *fuzzIngress {
	t.Helper()
	dir, err := os.MkdirTemp("", "waybill-fuzz-nats-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), natsServerEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() { stdin.Close(); _ = cmd.Wait() }
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		stop()
		t.Fatalf("JetStream child: %v", err)
	}
	nc, err := nats.Connect(strings.TrimSpace(url))
	if err != nil {
		stop()
		t.Fatal(err)
	}
	p := &fuzzIngress{streams: map[string]jetstream.Stream{}, stored: map[string]bool{},
		stop: func() { nc.Close(); stop() }}
	fail := func(err error) *fuzzIngress { p.stop(); t.Fatal(err); return nil }
	if p.js, err = jetstream.New(nc); err != nil {
		return fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := streams.Ensure(ctx, p.js, streams.Config{}); err != nil {
		return fail(err)
	}
	for _, name := range []string{streams.Raw, streams.DeadLetter} {
		if p.streams[name], err = p.js.Stream(ctx, name); err != nil {
			return fail(err)
		}
	}
	env := map[string]string{"NATS_URL": url, "WAYBILL_PUBLISH_TIMEOUT": "30s"}
	for k, v := range authEnv {
		env[k] = v
	}
	e := service.EnvFrom(env)
	cfg := ingress.LoadConfig(e)
	if err := e.Err(); err != nil {
		return fail(err)
	}
	if p.in, err = ingress.New(cfg, nc, zerolog.Nop(), service.NewOps()); err != nil {
		return fail(err)
	}
	return p
}

// call hands w to the handler as fasthttp would and returns the answer,
// which must be a JSON object.
func (p *fuzzIngress) call(t *testing.T, w webhook) (int, map[string]any) {
	t.Helper()
	var req fasthttp.Request
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI("/webhooks/" + w.source)
	req.Header.SetContentType("application/json")
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	req.SetBody(w.body)
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, nil, nil)
	p.in.Handler(&ctx)
	var out map[string]any
	if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil {
		t.Fatalf("answer %d is not a JSON object: %q", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	return ctx.Response.StatusCode(), out
}

// headerOf reads w's headers as the handler sees them (fasthttp's header
// normalization included), for the provider's own Identify.
func (p *fuzzIngress) headerOf(w webhook) func(string) string {
	var req fasthttp.Request
	for k, v := range w.headers {
		req.Header.Set(k, v)
	}
	return func(name string) string { return string(req.Header.Peek(name)) }
}

// last is the newest message on subject.
func (p *fuzzIngress) last(t *testing.T, subject string) *jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := streams.Raw
	if strings.HasPrefix(subject, "deadletter.") {
		name = streams.DeadLetter
	}
	m, err := p.streams[name].GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("nothing on %s", subject)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// count is how many messages a stream holds.
func (p *fuzzIngress) count(t *testing.T, stream string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := p.streams[stream].Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}
