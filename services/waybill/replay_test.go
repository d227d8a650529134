package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/normalizer"
	"github.com/waybill-dev/waybill/services/projector"
)

// A projection rebuilt by `waybill replay projection` is identical, row
// for row by projection.TableHash, to the live one the projector wrote:
// in waybill_rebuild before the swap (--no-swap), as waybill after it, and
// when the live tables are refilled in place (--from-seq, --since).
func TestReplayProjectionMatchesLive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	dbURL := pgtest.Database(t)
	stopProjector := startProjector(t, srv.URL(), dbURL)
	before := time.Now().Add(-time.Minute)

	events := replayHistory(25, 5)
	for i := range events {
		publishEvent(t, js, &events[i], "")
	}
	publishEvent(t, js, &events[3], "again") // the same event twice on the stream
	bad := &nats.Msg{Subject: "shipments.ups.1ZBAD.in_transit", Header: nats.Header{}, Data: []byte("{not json")}
	if _, err := js.PublishMsg(ctx, bad); err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	poll.Until(t, 30*time.Second, func() error { return projected(ctx, js, pool, len(events)) })
	stalledKey := events[0].ShipmentKey
	if _, err := pool.Exec(ctx, "UPDATE waybill.shipments SET stalled_at = now() WHERE shipment_key = $1", stalledKey); err != nil {
		t.Fatal(err)
	}
	live := hash(t, pool, projection.Schema)

	out := runReplayCLI(t, srv.URL(), dbURL, "projection", "--no-swap", "--quiet")
	if got := hash(t, pool, "waybill_rebuild"); got != live {
		t.Fatalf("waybill_rebuild hash %s, live %s\n%s", got, live, out)
	}
	for _, want := range []string{fmt.Sprintf("replayed %d events", len(events)+2), fmt.Sprintf("%d new, 1 duplicates, 1 rejected", len(events)),
		"not swapped in", fmt.Sprintf(": %d shipments", 25)} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q: want %q", out, want)
		}
	}

	oid := tableOID(t, pool)
	var progress bytes.Buffer
	out = runReplayCLIWith(t, srv.URL(), dbURL, &progress, "projection")
	if got := hash(t, pool, projection.Schema); got != live {
		t.Fatalf("hash after the swap %s, before %s\n%s", got, live, out)
	}
	if tableOID(t, pool) == oid {
		t.Error("waybill.shipments is the same table after the swap")
	}
	if !strings.Contains(out, "swapped in: 25 shipments") || !strings.Contains(progress.String(), "100%") {
		t.Errorf("output %q, progress %q", out, progress.String())
	}
	var stalled bool
	if err := pool.QueryRow(ctx, "SELECT stalled_at IS NOT NULL FROM waybill.shipments WHERE shipment_key = $1", stalledKey).Scan(&stalled); err != nil || !stalled {
		t.Errorf("stall mark lost by the swap (%v)", err)
	}

	// A restored backup missing everything: refilled in place.
	stopProjector()
	if _, err := pool.Exec(ctx, "TRUNCATE waybill.shipment_events, waybill.shipments, waybill.shipment_refs"); err != nil {
		t.Fatal(err)
	}
	out = runReplayCLI(t, srv.URL(), dbURL, "projection", "--from-seq", "1", "--quiet")
	if got := hash(t, pool, projection.Schema); got != live || !strings.Contains(out, "applied to the live tables") {
		t.Fatalf("hash after an in-place replay %s, want %s\n%s", got, live, out)
	}
	out = runReplayCLI(t, srv.URL(), dbURL, "projection", "--since", before.Format(time.RFC3339), "--quiet")
	if got := hash(t, pool, projection.Schema); got != live || !strings.Contains(out, " 0 new,") {
		t.Fatalf("hash after a second in-place replay %s, want %s\n%s", got, live, out)
	}
}

// `waybill replay normalize` maps RAW again and hands the events to the
// normalizer's ordering, which emits what SHIPMENTS lacks and drops the
// rest: run before the normalizer, it fills SHIPMENTS; run again, and for
// one source, it changes nothing.
func TestReplayNormalize(t *testing.T) {
	t.Parallel()
	srv := natstest.Start(t)
	_, js := srv.Connect()
	fixtures := []struct{ source, name string }{
		{"carriyo", "seed-delivered"}, {"wineshipping", "seed-tracking-update"}, {"swiftpod", "seed-tracking-number"},
	}
	var candidates int
	ids := map[string]bool{}
	for _, f := range fixtures {
		for _, e := range publishRaw(t, js, f.source, f.name) {
			candidates++
			ids[e.ID] = true
		}
	}
	if len(ids) == 0 {
		t.Fatal("the fixtures map to no events")
	}

	out := runReplayCLI(t, srv.URL(), "", "normalize", "--quiet")
	if want := fmt.Sprintf("re-normalized %d raw messages", len(fixtures)); !strings.Contains(out, want) ||
		!strings.Contains(out, fmt.Sprintf("%d candidate events", candidates)) {
		t.Fatalf("output %q: want %q and %d candidate events", out, want, candidates)
	}
	if n := streamMsgs(t, js, streams.Candidates); n != uint64(candidates) {
		t.Fatalf("%d candidates on CANDIDATES, want %d", n, candidates)
	}

	startNormalizer(t, srv.URL())
	waitShipments := func() {
		t.Helper()
		poll.Until(t, 30*time.Second, func() error {
			if n, err := normalizer.PendingCandidates(context.Background(), js); err != nil || n > 0 {
				return fmt.Errorf("%d candidates not ordered yet (%v)", n, err)
			}
			if n := streamMsgs(t, js, streams.Shipments); n != uint64(len(ids)) {
				return fmt.Errorf("%d events on SHIPMENTS, want %d", n, len(ids))
			}
			return nil
		})
	}
	waitShipments()
	runReplayCLI(t, srv.URL(), "", "normalize", "--quiet")
	waitShipments()

	out = runReplayCLI(t, srv.URL(), "", "normalize", "--source", "carriyo", "--since", "1h", "--quiet")
	if !strings.Contains(out, "re-normalized 1 raw messages") {
		t.Errorf("output %q: want one carriyo message", out)
	}
	waitShipments()
	if got := shipmentIDs(t, js); fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("SHIPMENTS ids %v, want %v", got, ids)
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 10, 22, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		err  bool
	}{
		{in: "2025-10-20T08:00:00Z", want: time.Date(2025, 10, 20, 8, 0, 0, 0, time.UTC)},
		{in: "2025-10-20T08:00:00+02:00", want: time.Date(2025, 10, 20, 6, 0, 0, 0, time.UTC)},
		{in: "2025-10-20", want: time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC)},
		{in: "36h", want: now.Add(-36 * time.Hour)},
		{in: "yesterday", err: true},
		{in: "-1h", err: true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if (err != nil) != tt.err || (!tt.err && !got.Equal(tt.want)) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestReplayUsage(t *testing.T) {
	var stderr bytes.Buffer
	rio := replayIO{stdout: &bytes.Buffer{}, stderr: &stderr, log: zerolog.Nop()}
	if err := runReplay(context.Background(), nil, rio); err != errUsage {
		t.Errorf("no target: %v, want errUsage", err)
	}
	if err := runReplay(context.Background(), []string{"projection", "--since", "1h", "--from-seq", "3"}, rio); err == nil {
		t.Error("--since with --from-seq accepted")
	}
	if err := runReplay(context.Background(), []string{"projection", "--no-swap", "--in-place"}, rio); err == nil {
		t.Error("--no-swap with --in-place accepted")
	}
	if !strings.Contains(stderr.String(), "waybill replay projection") {
		t.Errorf("usage %q", stderr.String())
	}
}

func runReplayCLI(t *testing.T, natsURL, dbURL string, args ...string) string {
	t.Helper()
	return runReplayCLIWith(t, natsURL, dbURL, nil, args...)
}

// runReplayCLIWith runs `waybill replay args...` in this process and
// returns its standard output; stderr receives the progress (or the test
// log when nil).
func runReplayCLIWith(t *testing.T, natsURL, dbURL string, stderr *bytes.Buffer, args ...string) string {
	t.Helper()
	var stdout bytes.Buffer
	errw := stderr
	if errw == nil {
		errw = &bytes.Buffer{}
	}
	rio := replayIO{natsURL: natsURL, dbURL: dbURL, stdout: &stdout, stderr: errw, log: zerolog.New(zerolog.NewTestWriter(t))}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := runReplay(ctx, args, rio); err != nil {
		t.Fatalf("waybill replay %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), errw.String())
	}
	t.Logf("waybill replay %s\n%s%s", strings.Join(args, " "), errw.String(), stdout.String())
	return stdout.String()
}

// startProjector runs a projector in this process; the returned func
// drains it.
func startProjector(t *testing.T, natsURL, dbURL string) func() {
	t.Helper()
	env := service.EnvFrom(map[string]string{
		"NATS_URL": natsURL, "DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0",
		"PROJECTOR_MAX_DELIVER": "1", "PROJECTOR_BATCH_SIZE": "32", "WAYBILL_STALL_INTERVAL": "0",
	})
	cfg := projector.LoadConfig(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- projector.Run(ctx, cfg, zerolog.Nop(), service.NewOps()) }()
	var err error
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
	}
	t.Cleanup(func() {
		stop()
		if err != nil {
			t.Error(err)
		}
	})
	return stop
}

// startNormalizer runs a normalizer in this process until the test ends.
func startNormalizer(t *testing.T, natsURL string) {
	t.Helper()
	env := service.EnvFrom(map[string]string{
		"NATS_URL": natsURL, "HTTP_ADDR": "127.0.0.1:0",
		"NORMALIZER_REORDER_WINDOW": "300ms", "NORMALIZER_ACK_WAIT": "6s",
	})
	cfg := normalizer.LoadConfig(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- normalizer.Run(ctx, cfg, zerolog.Nop(), service.NewOps()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

// projected reports whether the projection holds n events and the
// projector's consumer has settled everything.
func projected(ctx context.Context, js jetstream.JetStream, pool *pgxpool.Pool, n int) error {
	var got int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM waybill.shipment_events").Scan(&got); err != nil {
		return err
	}
	if got != n {
		return fmt.Errorf("%d events projected, want %d", got, n)
	}
	c, err := js.Consumer(ctx, streams.Shipments, projector.ConsumerName)
	if err != nil {
		return err
	}
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	if info.NumPending > 0 || info.NumAckPending > 0 {
		return fmt.Errorf("projector: %d pending, %d unacked", info.NumPending, info.NumAckPending)
	}
	return nil
}

// publishEvent stores e on SHIPMENTS; a non-empty msgID stores it again
// under another message id.
func publishEvent(t *testing.T, js jetstream.JetStream, e *tracking.Event, msgID string) {
	t.Helper()
	msg, err := shipments.Message(e.Subject(), e)
	if err != nil {
		t.Fatal(err)
	}
	if msgID != "" {
		msg.Header.Set(nats.MsgIdHdr, msgID+"-"+e.ID)
	}
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// replayHistory is shipments × steps events in the normalizer's order, a
// few of them late.
func replayHistory(shipments, steps int) []tracking.Event {
	t0 := time.Date(2025, 10, 20, 8, 0, 0, 0, time.UTC)
	statuses := []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.OutForDelivery,
		tracking.FailedAttempt, tracking.Delivered}
	var out []tracking.Event
	for step := range steps {
		for s := range shipments {
			minutes := step*60 + s
			if step > 0 && (s+step)%6 == 0 {
				minutes -= 90 // late
			}
			at := t0.Add(time.Duration(minutes) * time.Minute)
			e := tracking.Event{
				Carrier: "ups", TrackingNumber: fmt.Sprintf("1Z%06d", s), Status: statuses[step%len(statuses)],
				CarrierStatus: fmt.Sprintf("S%d", minutes), Message: "scan", OccurredAt: at,
				OccurredAtPrecision: tracking.PrecisionSecond, Timezone: "UTC", TimezoneSource: tracking.ZoneFromOffset,
				Location: tracking.Location{City: "Columbus", State: "OH", Country: "US"},
				Source:   "test", RawEventID: fmt.Sprintf("raw-%d-%d", s, step),
			}
			if step%2 == 0 {
				e.References = map[string]string{"order_id": fmt.Sprintf("ORD-%d", s)}
			}
			e.Normalize()
			out = append(out, e)
		}
	}
	return out
}

// publishRaw stores a provider fixture on raw.<source> as ingress does and
// returns the events the mapping makes of it.
func publishRaw(t *testing.T, js jetstream.JetStream, source, name string) []tracking.Event {
	t.Helper()
	dir := filepath.Join("..", "..", "pkg", "providers", source, "testdata")
	body, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	hdr := nats.Header{}
	if hb, err := os.ReadFile(filepath.Join(dir, name+".headers.json")); err == nil {
		var headers map[string]string
		if err := json.Unmarshal(hb, &headers); err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			hdr.Set(k, v)
		}
	}
	p, ok := providers.Lookup(source)
	if !ok {
		t.Fatalf("no provider %s", source)
	}
	id, err := p.Identify(providers.Request{Body: body, Header: hdr.Get})
	if err != nil {
		t.Fatal(err)
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
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(providers.HashID([]byte(e.Source()), []byte(id.ID)))); err != nil {
		t.Fatal(err)
	}
	events, err := normalizer.MapRaw(source, msg.Header, msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return events
}

func streamMsgs(t *testing.T, js jetstream.JetStream, name string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.Msgs
}

// shipmentIDs is the set of event ids on SHIPMENTS.
func shipmentIDs(t *testing.T, js jetstream.JetStream) map[string]bool {
	t.Helper()
	ctx := context.Background()
	s, err := js.Stream(ctx, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	st := s.CachedInfo().State
	for seq := st.FirstSeq; seq <= st.LastSeq && st.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		e, err := shipments.Decode(m.Header, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		ids[e.ID] = true
	}
	return ids
}

func hash(t *testing.T, pool *pgxpool.Pool, schema string) string {
	t.Helper()
	sum, err := projection.TableHash(context.Background(), pool, schema)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

func tableOID(t *testing.T, pool *pgxpool.Pool) uint32 {
	t.Helper()
	var oid uint32
	if err := pool.QueryRow(context.Background(), "SELECT 'waybill.shipments'::regclass::oid").Scan(&oid); err != nil {
		t.Fatal(err)
	}
	return oid
}
