package projector_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/projector"
)

// harness runs a projector in this process against its own embedded
// JetStream and its own database.
type harness struct {
	t     *testing.T
	srv   *natstest.Server
	js    jetstream.JetStream
	dbURL string        // the test database, direct
	db    *pgxpool.Pool // on dbURL, for assertions
	env   map[string]string
	ops   *service.Ops
	stop  context.CancelFunc
	done  chan error
}

func newHarness(t *testing.T, env map[string]string) *harness {
	t.Helper()
	h := &harness{t: t, srv: natstest.Start(t), dbURL: pgtest.Database(t), env: map[string]string{
		"HTTP_ADDR": "127.0.0.1:0", "PROJECTOR_BATCH_SIZE": "50", "PROJECTOR_WRITERS": "2",
		"WAYBILL_STALL_INTERVAL": "0", "WAYBILL_SHUTDOWN_TIMEOUT": "4s",
	}}
	h.env["NATS_URL"] = h.srv.URL()
	h.env["DATABASE_URL"] = h.dbURL
	for k, v := range env {
		h.env[k] = v
	}
	_, h.js = h.srv.Connect()
	return h
}

// start runs the projector until stop or cleanup.
func (h *harness) start(opts ...projector.Option) {
	h.t.Helper()
	env := service.EnvFrom(h.env)
	cfg := projector.LoadConfig(env)
	if err := env.Err(); err != nil {
		h.t.Fatal(err)
	}
	h.ops = service.NewOps()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- projector.Run(ctx, cfg, zerolog.Nop(), h.ops, opts...) }()
	h.stop, h.done = cancel, done
	h.t.Cleanup(func() { cancel(); <-done; done <- nil })
}

// drain stops the projector gracefully and waits for it.
func (h *harness) drain() {
	h.t.Helper()
	h.stop()
	err := <-h.done
	h.done <- nil // for cleanup
	if err != nil {
		h.t.Fatal(err)
	}
}

// pool opens the test database once the projector has created its tables.
func (h *harness) pool() *pgxpool.Pool {
	h.t.Helper()
	if h.db != nil {
		return h.db
	}
	pool, err := pgxpool.New(context.Background(), h.dbURL)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(pool.Close)
	h.db = pool
	return pool
}

// publish stores events on SHIPMENTS as the normalizer does.
func (h *harness) publish(events ...tracking.Event) {
	h.t.Helper()
	for i := range events {
		msg, err := shipments.Message(events[i].Subject(), &events[i])
		if err != nil {
			h.t.Fatal(err)
		}
		h.publishMsg(msg)
	}
}

func (h *harness) publishMsg(msg *nats.Msg) {
	h.t.Helper()
	if _, err := h.js.PublishMsg(context.Background(), msg); err != nil {
		h.t.Fatal(err)
	}
}

// eventCount is the number of rows in waybill.shipment_events.
func (h *harness) eventCount() (int, error) {
	var n int
	err := h.pool().QueryRow(context.Background(), "SELECT count(*) FROM waybill.shipment_events").Scan(&n)
	return n, err
}

// waitEvents waits until the projection holds n events and the consumer
// has settled everything.
func (h *harness) waitEvents(n int) {
	h.t.Helper()
	poll.Until(h.t, 30*time.Second, func() error {
		got, err := h.eventCount()
		if err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d events projected, want %d", got, n)
		}
		return h.settled()
	})
}

// settled reports whether the projector's consumer has nothing pending.
func (h *harness) settled() error {
	c, err := h.js.Consumer(context.Background(), streams.Shipments, projector.ConsumerName)
	if err != nil {
		return err
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return err
	}
	if info.NumPending > 0 || info.NumAckPending > 0 {
		return fmt.Errorf("consumer: %d pending, %d unacked", info.NumPending, info.NumAckPending)
	}
	return nil
}

// stored is every message of a stream, in stream order.
func (h *harness) stored(stream string) []*jetstream.RawStreamMsg {
	h.t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, stream)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		if m, err := s.GetMsg(ctx, seq); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// metric reads a counter or gauge of the running projector; labels are
// name=value pairs the sample must carry.
func (h *harness) metric(name string, labels ...string) float64 {
	h.t.Helper()
	mfs, err := h.ops.Registry.Gather()
	if err != nil {
		h.t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	samples:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
						found = true
					}
				}
				if !found {
					continue samples
				}
			}
			switch {
			case m.GetCounter() != nil:
				sum += m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// expectedHash is the digest of a projection holding exactly events,
// written directly through projection.Store in a database of its own.
func expectedHash(t *testing.T, events []tracking.Event) string {
	t.Helper()
	ctx := context.Background()
	u := pgtest.Database(t)
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := projection.Migrate(ctx, conn); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := projection.New(pool).Apply(ctx, events, time.Now()); err != nil {
		t.Fatal(err)
	}
	sum, err := projection.TableHash(ctx, pool, projection.Schema)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func tableHash(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	sum, err := projection.TableHash(context.Background(), pool, projection.Schema)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

var t0 = time.Date(2025, 10, 20, 8, 0, 0, 0, time.UTC)

// event builds a normalized event of carrier:number at t0+minutes.
func event(carrier, number string, status tracking.Status, minutes int) tracking.Event {
	at := t0.Add(time.Duration(minutes) * time.Minute)
	e := tracking.Event{
		Carrier: carrier, TrackingNumber: number, Status: status,
		CarrierStatus: fmt.Sprintf("%s-%d", status, minutes), Message: "scan",
		OccurredAt: at, OccurredAtPrecision: tracking.PrecisionSecond,
		LocalTime: at.Format("2006-01-02T15:04:05"), Timezone: "UTC", TimezoneSource: tracking.ZoneFromOffset,
		Location: tracking.Location{City: "Columbus", State: "OH", Country: "US"},
		Source:   "test", RawEventID: fmt.Sprintf("raw-%s-%d", number, minutes),
	}
	e.Normalize()
	return e
}

// history is shipments × steps events in the order the normalizer emits
// them (each shipment in carrier-time order, shipments interleaved), about
// one in seven late: older than what came before it.
func history(shipments, steps int) []tracking.Event { return historyLate(shipments, steps, 7) }

// historyLate is history with about one event in lateEvery late.
func historyLate(shipments, steps, lateEvery int) []tracking.Event {
	statuses := []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.InTransit,
		tracking.OutForDelivery, tracking.FailedAttempt, tracking.Delivered}
	var out []tracking.Event
	for step := 0; step < steps; step++ {
		for s := 0; s < shipments; s++ {
			minutes := step * 60
			if step > 0 && (s+step)%lateEvery == 0 {
				minutes -= 90 // late
			}
			e := event("ups", fmt.Sprintf("1Z%06d", s), statuses[step%len(statuses)], minutes+s)
			if step%3 == 0 {
				e.References = map[string]string{"order_id": fmt.Sprintf("ORD-%d-%d", s, step)}
			}
			out = append(out, e)
		}
	}
	return out
}

// pgProxy forwards TCP connections to Postgres until Cut, which closes
// the listener (new connections are refused) and every connection; Restore
// listens again on the same port.
type pgProxy struct {
	t      testing.TB
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func newPGProxy(t testing.TB, dbURL string) (*pgProxy, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{t: t, target: u.Host, addr: "127.0.0.1:0", conns: map[net.Conn]struct{}{}}
	p.Restore()
	t.Cleanup(p.Cut)
	u.Host = p.addr
	return p, u.String()
}

// Restore starts accepting connections again.
func (p *pgProxy) Restore() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go p.accept(ln)
}

// Cut refuses new connections and breaks the open ones.
func (p *pgProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *pgProxy) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		if p.ln != ln { // cut meanwhile
			p.mu.Unlock()
			c.Close()
			up.Close()
			return
		}
		p.conns[c], p.conns[up] = struct{}{}, struct{}{}
		p.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}
