package normalizer_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/schematest"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/normalizer"
)

type harness struct {
	t    *testing.T
	srv  *natstest.Server
	js   jetstream.JetStream
	env  map[string]string
	stop context.CancelFunc
	done chan error
}

func newHarness(t *testing.T, env map[string]string) *harness {
	t.Helper()
	h := &harness{t: t, srv: natstest.Start(t), env: map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "NORMALIZER_REORDER_WINDOW": "300ms", "NORMALIZER_ACK_WAIT": "6s",
		// A crashed process's partitions move after the pinned TTL; one
		// process alone needs no handover grace.
		"NORMALIZER_PINNED_TTL": "3s", "NORMALIZER_HANDOVER_GRACE": "200ms",
	}}
	for k, v := range env {
		h.env[k] = v
	}
	h.env["NATS_URL"] = h.srv.URL()
	_, h.js = h.srv.Connect()
	return h
}

// start runs a normalizer in this process until stop or cleanup.
func (h *harness) start() { h.t.Helper(); h.startWithOps() }

// drain stops the running normalizer gracefully and waits for it.
func (h *harness) drain() {
	h.t.Helper()
	h.stop()
	if err := <-h.done; err != nil {
		h.t.Fatal(err)
	}
	h.done <- nil // for cleanup
}

// publishRaw stores a webhook body on raw.<source> the way ingress does.
func (h *harness) publishRaw(source string, body []byte, headers map[string]string) string {
	h.t.Helper()
	p, ok := providers.Lookup(source)
	if !ok {
		h.t.Fatalf("no provider %s", source)
	}
	hdr := nats.Header{}
	for k, v := range headers {
		hdr.Set(k, v)
	}
	id, err := p.Identify(providers.Request{Body: body, Header: hdr.Get})
	if err != nil {
		h.t.Fatalf("identify: %v", err)
	}
	e := event.New(cloudevent.SpecVersion)
	e.SetID(id.ID)
	e.SetSource("/webhooks/" + source)
	e.SetType(id.Type)
	if id.Subject != "" {
		e.SetSubject(id.Subject)
	}
	e.SetTime(time.Now())
	for _, x := range id.Extensions {
		e.SetExtension(x.Name, x.Value)
	}
	e.DataEncoded = body
	msg, err := cloudevent.ToMsg(streams.RawSubject(source), e)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(providers.HashID([]byte(e.Source()), []byte(id.ID)))); err != nil {
		h.t.Fatal(err)
	}
	return id.ID
}

// stored is every message of a stream matching filter, in stream order.
func (h *harness) stored(stream, filter string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	last := s.CachedInfo().State.LastSeq
	info, _ := s.Info(ctx)
	last = info.State.LastSeq
	for seq := uint64(1); seq <= last; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if subjectMatches(filter, m.Subject) {
			out = append(out, m)
		}
	}
	return out
}

func subjectMatches(filter, subject string) bool {
	if filter == ">" {
		return true
	}
	f, s := splitDots(filter), splitDots(subject)
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}

func splitDots(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// events decodes SHIPMENTS in stream order.
func (h *harness) events() []tracking.Event {
	h.t.Helper()
	var out []tracking.Event
	for _, m := range h.stored(streams.Shipments, ">") {
		e, err := shipments.Decode(m.Header, m.Data)
		if err != nil {
			h.t.Fatal(err)
		}
		schematest.Validate(h.t, schematest.ShipmentEvent, m.Data) // every emitted event honours the schema
		if m.Subject != e.Subject() {
			h.t.Errorf("event %s on %s, want %s", e.ID, m.Subject, e.Subject())
		}
		out = append(out, e)
	}
	return out
}

// waitEvents waits until SHIPMENTS holds n events and RAW/CANDIDATES are done.
func (h *harness) waitEvents(n int) []tracking.Event {
	h.t.Helper()
	var evs []tracking.Event
	poll.Until(h.t, 15*time.Second, func() error {
		evs = h.events()
		if len(evs) != n {
			return fmt.Errorf("%d events on SHIPMENTS, want %d", len(evs), n)
		}
		return h.settled()
	})
	return evs
}

// settled reports whether every raw message and candidate has been acked.
func (h *harness) settled() error {
	ctx := context.Background()
	c, err := h.js.Consumer(ctx, streams.Raw, normalizer.MapperConsumer)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	if info.NumPending > 0 || info.NumAckPending > 0 {
		return fmt.Errorf("raw consumer: %d pending, %d unacked", info.NumPending, info.NumAckPending)
	}
	n, err := normalizer.PendingCandidates(ctx, h.js)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d candidates not acked", n)
	}
	return nil
}

// fixture reads a provider's testdata body and headers.
func fixture(t *testing.T, source, name string) ([]byte, map[string]string) {
	t.Helper()
	dir := filepath.Join("..", "..", "pkg", "providers", source, "testdata")
	body, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var headers map[string]string
	if hb, err := os.ReadFile(filepath.Join(dir, name+".headers.json")); err == nil {
		json.Unmarshal(hb, &headers)
	}
	return body, headers
}

// byShipment groups events by shipment key, in stream order.
func byShipment(evs []tracking.Event) map[string][]tracking.Event {
	out := map[string][]tracking.Event{}
	for _, e := range evs {
		out[e.ShipmentKey] = append(out[e.ShipmentKey], e)
	}
	return out
}

func ids(evs []tracking.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func sortedIDs(evs []tracking.Event) []string {
	out := ids(evs)
	sort.Strings(out)
	return out
}

// opsView reads the running normalizer's metrics.
type opsView struct{ reg *service.Ops }

func (o opsView) buffered() float64 {
	mfs, _ := o.reg.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "waybill_normalizer_buffered_events" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// counter is the total of a counter metric.
func (o opsView) counter(name string) float64 {
	mfs, _ := o.reg.Registry.Gather()
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// observations is how many values a histogram metric has recorded.
func (o opsView) observations(name string) uint64 {
	mfs, _ := o.reg.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	return 0
}

func (h *harness) startWithOps() opsView {
	h.t.Helper()
	env := service.EnvFrom(h.env)
	cfg := normalizer.LoadConfig(env)
	if err := env.Err(); err != nil {
		h.t.Fatal(err)
	}
	ops := service.NewOps()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- normalizer.Run(ctx, cfg, zerolog.Nop(), ops) }()
	h.stop, h.done = cancel, done
	h.t.Cleanup(func() { cancel(); <-done })
	return opsView{ops}
}
