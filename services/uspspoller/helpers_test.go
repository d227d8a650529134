package uspspoller_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/uspspoller"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

// t0 is when every test's fake clock starts.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fakeClock is a manual clock: time moves by Advance or Set, and by
// itself only when something waits for less than skip (the spacing of a
// high rate limit), as if that moment passed at once.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	skip    time.Duration
	waiters []waiter
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(at time.Time) *fakeClock { return &fakeClock{now: at, skip: 10 * time.Millisecond} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) At(t time.Time) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, waiter{t, ch})
	if t.Sub(c.now) <= c.skip {
		c.set(t)
	}
	return ch
}

func (c *fakeClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Step moves the clock to the earliest waiter if it is within d, else by
// d: waiters wake exactly on time, as with a real clock.
func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	to := c.now.Add(d)
	for _, w := range c.waiters {
		if w.at.Before(to) {
			to = w.at
		}
	}
	c.set(to)
}

// Set moves the clock to t (never back) and fires the waiters due.
func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.set(t)
}

func (c *fakeClock) set(t time.Time) {
	if t.After(c.now) {
		c.now = t
	}
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// checkFor polls f until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout, interval time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(interval)
	}
	t.Fatalf("timed out after %v: %v", timeout, err)
}

// harness is an embedded JetStream, a fake USPS and a fake clock.
type harness struct {
	t     *testing.T
	nats  *natstest.Server
	js    jetstream.JetStream
	clock *fakeClock
	usps  *uspsfake.Server
	url   string
	// natsURL is the embedded server's, or a cluster's URL list.
	natsURL string
	// env is added to every replica's environment.
	env map[string]string
	// quiet is how long settle waits for the fake to see no request.
	quiet time.Duration
}

func newHarness(t *testing.T, fakeOpts ...uspsfake.Option) *harness {
	t.Helper()
	h := &harness{t: t, nats: natstest.Start(t), clock: newFakeClock(t0), quiet: 3 * time.Millisecond}
	_, h.js = h.nats.Connect()
	h.natsURL = h.nats.URL()
	h.startUSPS(fakeOpts...)
	return h
}

// newClusterHarness is newHarness on a 3-node JetStream cluster, with the
// pollers' bucket and streams at R3.
func newClusterHarness(t *testing.T, c *natstest.Cluster, fakeOpts ...uspsfake.Option) *harness {
	t.Helper()
	h := &harness{t: t, clock: newFakeClock(t0), quiet: 3 * time.Millisecond, natsURL: c.URLs(),
		env: map[string]string{"WAYBILL_STREAM_REPLICAS": "3"}}
	_, h.js = c.Connect()
	h.startUSPS(fakeOpts...)
	return h
}

func (h *harness) startUSPS(fakeOpts ...uspsfake.Option) {
	t := h.t
	h.usps = uspsfake.New(append([]uspsfake.Option{uspsfake.WithClock(h.clock.Now)}, fakeOpts...)...)
	srv := httptest.NewServer(h.usps)
	t.Cleanup(srv.Close)
	h.url = srv.URL
}

// baseEnv is the poller configuration of the tests: the real defaults
// except a rate limit high enough not to matter unless a test lowers it.
func (h *harness) baseEnv() map[string]string {
	return map[string]string{
		"NATS_URL":           h.natsURL,
		"USPS_BASE_URL":      h.url,
		"USPS_CLIENT_ID":     "fake-client",
		"USPS_CLIENT_SECRET": "fake-secret",
		"USPS_RATE_LIMIT":    "1000000000",
		// Tests stop pollers often; in-flight polls are quick.
		"WAYBILL_SHUTDOWN_TIMEOUT": "5s",
	}
}

func (h *harness) config(extra map[string]string) uspspoller.Config {
	h.t.Helper()
	env := h.baseEnv()
	for k, v := range h.env {
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	e := service.EnvFrom(env)
	cfg := uspspoller.LoadConfig(e)
	if err := e.Err(); err != nil {
		h.t.Fatal(err)
	}
	return cfg
}

// replica is one running poller.
type replica struct {
	ops  *service.Ops
	stop func()
	logs *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a poller replica until the test ends or stop is called, and
// waits until its schedule is loaded.
func (h *harness) start(name string, extra map[string]string, opts ...uspspoller.Option) *replica {
	h.t.Helper()
	cfg := h.config(extra)
	nc, err := nats.Connect(h.natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		h.t.Fatal(err)
	}
	r := &replica{ops: service.NewOps(), logs: &syncBuffer{}}
	log := zerolog.New(r.logs).Level(zerolog.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
	p, err := uspspoller.New(ctx, cfg, nc, log, r.ops,
		append([]uspspoller.Option{uspspoller.WithClock(h.clock), uspspoller.WithReplicaName(name), uspspoller.WithRandSeed(7)}, opts...)...)
	if err != nil {
		cancel()
		nc.Close()
		h.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("replica %s: %v", name, err)
			}
			nc.Close()
		})
	}
	h.t.Cleanup(r.stop)
	checkFor(h.t, 10*time.Second, 5*time.Millisecond, func() error {
		if failed := r.ops.Ready(context.Background()); len(failed) > 0 {
			return fmt.Errorf("not ready: %v", failed)
		}
		return nil
	})
	return r
}

// ship publishes a normalized event to SHIPMENTS, as the normalizer would.
func (h *harness) ship(source, number string, status tracking.Status, at time.Time) tracking.Event {
	h.t.Helper()
	e := tracking.Event{
		Carrier: "usps", TrackingNumber: number, Status: status, CarrierStatus: source + ":" + string(status), // distinct event ids
		OccurredAt: at, OccurredAtPrecision: tracking.PrecisionSecond, Source: source, RawEventID: "raw-" + number,
	}
	e.Normalize()
	h.publishEvent(&e)
	return e
}

func (h *harness) publishEvent(e *tracking.Event) {
	h.t.Helper()
	msg, err := shipments.Message(e.Subject(), e)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.js.PublishMsg(context.Background(), msg); err != nil {
		h.t.Fatal(err)
	}
}

// entry reads a shipment's schedule entry from the bucket.
func (h *harness) entry(number string) (uspspoller.Entry, bool) {
	h.t.Helper()
	kv, err := h.js.KeyValue(context.Background(), uspspoller.Bucket)
	if err != nil {
		h.t.Fatal(err)
	}
	kve, err := kv.Get(context.Background(), uspspoller.Key(number))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return uspspoller.Entry{}, false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	var e uspspoller.Entry
	if err := json.Unmarshal(kve.Value(), &e); err != nil {
		h.t.Fatal(err)
	}
	return e, true
}

// putEntry writes an entry straight into the bucket (a schedule that
// exists before the poller starts).
func (h *harness) putEntry(e uspspoller.Entry) {
	h.t.Helper()
	kv, err := h.js.KeyValue(context.Background(), uspspoller.Bucket)
	if err != nil {
		h.t.Fatal(err)
	}
	b, _ := json.Marshal(e)
	if _, err := kv.Put(context.Background(), uspspoller.Key(e.TrackingNumber), b); err != nil {
		h.t.Fatal(err)
	}
}

// raw returns the CloudEvents the poller stored on raw.usps, in order.
func (h *harness) raw() []event.Event {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, streams.Raw)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []event.Event
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil || m.Subject != streams.RawSubject("usps") {
			continue
		}
		e, err := cloudevent.FromMsg(m.Header, m.Data)
		if err != nil {
			h.t.Fatalf("raw.usps message %d: %v", seq, err)
		}
		out = append(out, e)
	}
	return out
}

// advanceUntil moves the clock by up to step (to the next waiter) until f
// succeeds, giving the poller a moment of real time after each step.
func (h *harness) advanceUntil(step time.Duration, maxSteps int, f func() error) {
	h.t.Helper()
	var err error
	for range maxSteps {
		if err = f(); err == nil {
			return
		}
		h.clock.Step(step)
		h.settle()
	}
	checkFor(h.t, 2*time.Second, 5*time.Millisecond, f)
}

// settle waits until the fake USPS has seen no new request for a few
// milliseconds, so that a request the last step released is recorded at
// the clock time it was sent at, not after the next step.
func (h *harness) settle() {
	last, since := h.usps.Counts(), time.Now()
	for deadline := time.Now().Add(time.Second); time.Since(since) < h.quiet && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		if c := h.usps.Counts(); c != last {
			last, since = c, time.Now()
		}
	}
}

// trackingHits returns the fake's tracking requests by number.
func (h *harness) trackingHits() map[string][]uspsfake.Hit {
	out := map[string][]uspsfake.Hit{}
	for _, hit := range h.usps.Hits() {
		if hit.Kind == "tracking" {
			out[hit.Number] = append(out[hit.Number], hit)
		}
	}
	return out
}

func numbers(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%06d", prefix, i)
	}
	sort.Strings(out)
	return out
}

// metric reads a counter or gauge from a replica's registry.
func (r *replica) metric(name string, labels map[string]string) float64 {
	mfs, err := r.ops.Registry.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func hasLine(logs, msg string) bool { return strings.Contains(logs, msg) }

// consumerPending is what the poller's SHIPMENTS consumer has not acked.
func (h *harness) consumerPending() int {
	h.t.Helper()
	c, err := h.js.Consumer(context.Background(), streams.Shipments, uspspoller.ConsumerName)
	if err != nil {
		return 1
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return 1
	}
	return int(info.NumPending) + info.NumAckPending
}

// near reports whether a is within a second of b: the fake clock skips
// the microseconds a high rate limit spaces requests by.
func near(a, b time.Time) bool { return a.Sub(b).Abs() < time.Second }
