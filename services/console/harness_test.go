package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// harness is a running console over a fresh, migrated Postgres database
// and an embedded JetStream with every waybill stream. The API tests and
// the browser tests build on it.
type harness struct {
	URL   string // base URL of a running console, e.g. http://127.0.0.1:port
	Token string
	DB    *pgxpool.Pool       // the fresh, migrated per-test database
	JS    jetstream.JetStream // embedded JetStream with every waybill stream created

	cfg     Config
	logs    *syncBuffer
	cancel  context.CancelFunc
	stopped chan struct{} // closed when the console's Run returned
	runErr  error         // Run's result, readable once stopped is closed
	seeded  atomic.Uint64 // makes every seeded dead letter distinct
}

// newHarness starts everything; t.Cleanup tears it down.
func newHarness(t *testing.T) *harness { return newHarnessWith(t, nil, true) }

// newHarnessWith lets a test adjust the console's configuration first;
// unless wantReady it waits only until the console answers /healthz.
func newHarnessWith(t *testing.T, adjust func(*Config), wantReady bool) *harness {
	t.Helper()
	ctx, cancelSetup := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancelSetup()

	ns := natstest.Start(t) // streams created; stopped at cleanup
	_, js := ns.Connect()

	dbURL := pgtest.Database(t) // dropped at cleanup
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	err = projection.Migrate(ctx, conn)
	conn.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	cfg, ln := testConfig(t, ns.URL(), dbURL, 4)
	if adjust != nil {
		adjust(&cfg)
	}
	h := &harness{
		URL: "http://" + ln.Addr().String(), Token: cfg.Token, DB: pool, JS: js,
		cfg: cfg, logs: &syncBuffer{}, stopped: make(chan struct{}),
	}
	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	log := zerolog.New(h.logs).With().Timestamp().Str("service", "console").Logger()
	go func() {
		defer close(h.stopped)
		h.runErr = serve(runCtx, cfg, log, service.NewOps(), ln)
	}()
	// Registered last, so it runs first: the console stops before the pool,
	// the database and the NATS server it uses go away.
	t.Cleanup(func() {
		if err := h.stop(); err != nil {
			t.Errorf("console: %v", err)
		}
	})
	h.waitFor(t, "/healthz")
	if wantReady {
		h.waitFor(t, "/readyz")
	}
	return h
}

// testConfig is a console configuration for a test over natsURL and dbURL
// with a random token, and the listener it serves on.
func testConfig(tb testing.TB, natsURL, dbURL string, conns int) (Config, net.Listener) {
	tb.Helper()
	var tok [24]byte
	_, _ = rand.Read(tok[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return Config{
		Common: service.Common{
			NATSURL: natsURL, HTTPAddr: ln.Addr().String(), ShutdownTimeout: 5 * time.Second,
		},
		Token:       hex.EncodeToString(tok[:]),
		DatabaseURL: dbURL,
		SessionTTL:  time.Hour,
		Heartbeat:   15 * time.Second,
		MaxConns:    conns,
	}, ln
}

// stop shuts the console down and waits for Run to return. Calling it
// again (a test, then the cleanup) just returns the same result.
func (h *harness) stop() error {
	h.cancel()
	select {
	case <-h.stopped:
		return h.runErr
	case <-time.After(30 * time.Second):
		return fmt.Errorf("did not stop within 30s")
	}
}

// waitFor polls path (/healthz, or /readyz: NATS and Postgres both
// ready) until it answers 200.
func (h *harness) waitFor(t *testing.T, path string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(h.URL + path)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("console %s not OK after 30s (last: %v)", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// seedEvents publishes each event to SHIPMENTS on its subject and applies
// it to the projection, so both the API and the live stream see it. Events
// may leave id, shipment key, precision and source empty: they are filled
// in (Normalize derives the id as the normalizer does).
func (h *harness) seedEvents(t *testing.T, evs ...tracking.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := make([]tracking.Event, 0, len(evs))
	for _, e := range evs {
		if e.OccurredAtPrecision == "" {
			e.OccurredAtPrecision = tracking.PrecisionSecond
		}
		if e.Source == "" {
			e.Source = "test"
		}
		if e.ID == "" || e.ShipmentKey == "" {
			e.Normalize()
		}
		msg, err := shipments.Message(e.Subject(), &e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.JS.PublishMsg(ctx, msg); err != nil {
			t.Fatalf("publish %s: %v", e.ID, err)
		}
		out = append(out, e)
	}
	if _, err := projection.New(h.DB).Apply(ctx, out, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// seedDeadletter stores a dead letter of stage for source the way the
// stages do (pkg/deadletter): the original message is a CloudEvent that
// failed from raw.<source> (or, for the projector, from a SHIPMENTS
// subject of carrier source). It returns the DEADLETTER stream sequence.
func (h *harness) seedDeadletter(t *testing.T, stage, source string, body []byte, reason string) uint64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n := h.seeded.Add(1)
	subject := streams.RawSubject(source)
	if stage == "projector" {
		subject = tracking.Subject(source, fmt.Sprintf("SEED%d", n), tracking.Unknown)
	}
	e := event.New(cloudevent.SpecVersion)
	e.SetID(fmt.Sprintf("seed-%d-%d", time.Now().UnixNano(), n))
	e.SetSource("/webhooks/" + source)
	e.SetType("dev.waybill.test.v1")
	e.SetTime(time.Now())
	e.SetDataContentType(cloudevent.ContentTypeJSON)
	e.DataEncoded = body
	orig, err := cloudevent.ToMsg(subject, e)
	if err != nil {
		t.Fatal(err)
	}
	dl := deadletter.New(stage, source, reason, orig)
	ack, err := h.JS.PublishMsg(ctx, dl)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// logText is everything the console logged so far.
func (h *harness) logText() string { return h.logs.String() }

// syncBuffer is a bytes.Buffer the console's goroutines may log to while
// a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
