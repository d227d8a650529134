package proof

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	_ "github.com/waybill-dev/waybill/pkg/providers/all" // every provider registers itself
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// expectation is what the pipeline must end with, computed offline from
// the webhooks ingress answered.
type expectation struct {
	events map[string]tracking.Event   // by event id
	byKey  map[string][]tracking.Event // by shipment key
	// dead holds the bodies that must be on DEADLETTER (by hash): every
	// webhook answered 400, and every accepted one the mappings refuse.
	dead map[[32]byte]string
}

func bodyHash(b []byte) [32]byte { return sha256.Sum256(b) }

// storedMsg is a stream message as read back.
type storedMsg struct {
	seq     uint64
	subject string
	header  map[string][]string
	data    []byte
}

// readStream reads every message of a stream with an ordered consumer.
func readStream(ctx context.Context, js jetstream.JetStream, name string) ([]storedMsg, error) {
	st, err := js.Stream(ctx, name)
	if err != nil {
		return nil, err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	c, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	var out []storedMsg
	want := info.State.Msgs // then what the last message says is pending
	for {
		// Exactly what is there: a fetch of more waits out its MaxWait.
		batch, err := c.Fetch(int(min(max(want, 1), 1000)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		got := 0
		for m := range batch.Messages() {
			got++
			md, err := m.Metadata()
			if err != nil {
				return nil, err
			}
			out = append(out, storedMsg{seq: md.Sequence.Stream, subject: m.Subject(), header: m.Headers(), data: m.Data()})
			want = md.NumPending
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return nil, err
		}
		if got > 0 && want == 0 {
			return out, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

func header(h map[string][]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// premapped is one distinct webhook mapped offline ahead of the run (it
// costs seconds under the race detector, so it overlaps the stack's start).
type premapped struct {
	id    providers.Identity
	idErr error
	evs   []tracking.Event
	err   error
	// receiptTimed: an event was placed at the receipt time (Tenovi, or a
	// SwiftPOD notification without a timestamp), which is only known once
	// ingress has stored the webhook: map it again with the stored time.
	receiptTimed bool
}

// placeholderReceipt stands in for the receipt time when mapping ahead.
var placeholderReceipt = time.Date(2001, 2, 3, 4, 5, 6, 789012000, time.UTC)

func premapKey(w webhookload.Webhook) string {
	h := bodyHash(w.Body)
	return w.Source + "\x00" + w.EventID + "\x00" + string(h[:])
}

// premap maps every distinct webhook of hooks in the background; the
// returned function waits for the result.
func premap(hooks []webhookload.Webhook) func() map[string]*premapped {
	done := make(chan map[string]*premapped, 1)
	go func() {
		out := map[string]*premapped{}
		for _, w := range hooks {
			k := premapKey(w)
			if _, ok := out[k]; ok {
				continue
			}
			pm := &premapped{}
			out[k] = pm
			p, ok := providers.Lookup(w.Source)
			if !ok {
				pm.idErr = fmt.Errorf("no provider %q", w.Source)
				continue
			}
			if pm.id, pm.idErr = p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()}); pm.idErr != nil {
				continue
			}
			pm.evs, pm.err = mapOffline(p, w, pm.id, placeholderReceipt)
			for _, e := range pm.evs {
				if e.OccurredAt.Equal(placeholderReceipt) {
					pm.receiptTimed = true
				}
			}
		}
		done <- out
	}()
	var once sync.Once
	var result map[string]*premapped
	return func() map[string]*premapped {
		once.Do(func() { result = <-done })
		return result
	}
}

// mapOffline is the normalizer's mapping step (normalizer.MapRaw) done from
// the webhook as posted: the identity ingress derives, the receipt time.
func mapOffline(p providers.Provider, w webhookload.Webhook, id providers.Identity, received time.Time) ([]tracking.Event, error) {
	r := providers.Raw{Source: w.Source, ID: id.ID, Type: id.Type, Subject: id.Subject, Time: received,
		Extensions: map[string]string{}, Data: w.Body}
	for _, e := range id.Extensions {
		r.Extensions[e.Name] = e.Value
	}
	evs, err := p.Map(r)
	if err != nil {
		return nil, err
	}
	for j := range evs {
		e := &evs[j]
		e.Source, e.RawEventID = w.Source, id.ID
		e.Normalize()
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("%w: event %d: %v", providers.ErrUnmappable, j, err)
		}
	}
	return evs, nil
}

// expect computes, from every webhook ingress answered 200, the events the
// pipeline must end with (each mapped with its provider the way the
// normalizer does, at the receipt time ingress stored on RAW), and collects
// the bodies that must be dead letters. Findings about RAW (an accepted
// webhook missing, or stored twice) are returned as problems.
func expect(ctx context.Context, s *stack, l *load, pre map[string]*premapped) (*expectation, []string) {
	var problems []string
	raw, err := readStream(ctx, s.js, streams.Raw)
	if err != nil {
		return nil, []string{fmt.Sprintf("read RAW: %v", err)}
	}
	stored := map[string]storedMsg{} // by subject and ce-id
	for _, m := range raw {
		k := m.subject + "|" + cloudeventID(m.header)
		if prev, dup := stored[k]; dup {
			problems = append(problems, fmt.Sprintf("RAW holds %s twice (seq %d and %d): ingress stored a webhook twice", k, prev.seq, m.seq))
			continue
		}
		stored[k] = m
	}

	x := &expectation{events: map[string]tracking.Event{}, byKey: map[string][]tracking.Event{}, dead: map[[32]byte]string{}}
	for i, w := range l.hooks {
		desc := fmt.Sprintf("webhook %d (%s, event %s)", i, w.Source, w.EventID)
		switch l.results[i].code {
		case http.StatusBadRequest:
			x.dead[bodyHash(w.Body)] = desc + ", answered 400"
			continue
		case http.StatusOK:
		default:
			continue // reported by load.wait
		}
		pm := pre[premapKey(w)]
		if pm.idErr != nil {
			problems = append(problems, fmt.Sprintf("%s: answered 200 but does not identify offline: %v", desc, pm.idErr))
			continue
		}
		m, ok := stored[streams.RawSubject(w.Source)+"|"+pm.id.ID]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: LOST: answered 200 but not on RAW (id %s)", desc, pm.id.ID))
			continue
		}
		evs, err := pm.evs, pm.err
		if pm.receiptTimed {
			ce, cerr := cloudevent.FromMsg(m.header, m.data)
			if cerr != nil {
				problems = append(problems, fmt.Sprintf("%s: RAW seq %d is not a CloudEvent: %v", desc, m.seq, cerr))
				continue
			}
			p, _ := providers.Lookup(w.Source)
			evs, err = mapOffline(p, w, pm.id, ce.Time())
		}
		switch {
		case errors.Is(err, providers.ErrNotShipment):
			continue
		case err != nil:
			x.dead[bodyHash(w.Body)] = fmt.Sprintf("%s, unmappable: %v", desc, err)
			continue
		}
		if w.Malformed {
			problems = append(problems, desc+": marked malformed, but identified and mapped offline")
		}
		for _, e := range evs {
			if _, seen := x.events[e.ID]; !seen {
				x.events[e.ID] = e
				x.byKey[e.ShipmentKey] = append(x.byKey[e.ShipmentKey], e)
			}
		}
	}
	return x, problems
}

func cloudeventID(h map[string][]string) string {
	v, err := cloudevent.Decode(header(h, "ce-id"))
	if err != nil {
		return header(h, "ce-id")
	}
	return v
}

// latest is the event the shipment's row must show: latest carrier time,
// status rank breaks ties, then id (tracking.Before).
func latest(evs []tracking.Event) tracking.Event {
	best := evs[0]
	for i := range evs {
		if tracking.Before(&best, &evs[i]) {
			best = evs[i]
		}
	}
	return best
}

// settled reports an error while any durable consumer of the pipeline
// still has messages pending or unacknowledged.
func settled(ctx context.Context, js jetstream.JetStream) error {
	for _, name := range []string{streams.Raw, streams.Candidates, streams.Shipments} {
		st, err := js.Stream(ctx, name)
		if err != nil {
			return err
		}
		lister := st.ListConsumers(ctx)
		durables := 0
		for ci := range lister.Info() {
			if ci.Config.Durable == "" {
				continue
			}
			durables++
			if ci.NumPending > 0 || ci.NumAckPending > 0 || ci.NumRedelivered > 0 {
				return fmt.Errorf("consumer %s on %s: %d pending, %d unacked, %d redelivering",
					ci.Name, name, ci.NumPending, ci.NumAckPending, ci.NumRedelivered)
			}
		}
		if err := lister.Err(); err != nil {
			return err
		}
		if durables == 0 {
			return fmt.Errorf("no durable consumer on %s", name)
		}
	}
	return nil
}

// converged waits until the pipeline has settled and the projection has
// as many events and shipments as expected. It returns the last reason it
// had not (the full comparison then says what differs).
func converged(ctx context.Context, s *stack, db *pgxpool.Pool, x *expectation, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := func() error {
			if err := settled(ctx, s.js); err != nil {
				return err
			}
			var events, shipments int
			if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM waybill.shipment_events), (SELECT count(*) FROM waybill.shipments)`).
				Scan(&events, &shipments); err != nil {
				return err
			}
			if events != len(x.events) || shipments != len(x.byKey) {
				return fmt.Errorf("projection has %d events of %d shipments, want %d of %d",
					events, shipments, len(x.events), len(x.byKey))
			}
			return nil
		}()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// verify proves the run's guarantees: see the package documentation.
func verify(s *stack, l *load, pre func() map[string]*premapped) {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s.alive()
	t0 := time.Now()
	x, problems := expect(ctx, s, l, pre())
	if x == nil {
		t.Fatal(problems)
	}
	t.Logf("expectation computed offline in %v", time.Since(t0).Round(time.Millisecond))
	report := func(what string, items []string) {
		t.Helper()
		if len(items) == 0 {
			return
		}
		sort.Strings(items)
		n := len(items)
		if n > 15 {
			items = append(items[:15], fmt.Sprintf("... and %d more", n-15))
		}
		t.Errorf("%s (%d):\n  %s", what, n, strings.Join(items, "\n  "))
	}
	report("webhooks accepted but not stored as accepted", problems)

	db := s.pool()
	start := time.Now()
	if err := converged(ctx, s, db, x, 4*time.Minute); err != nil {
		t.Errorf("pipeline did not converge within 4 minutes: %v", err)
	} else {
		t.Logf("converged %v after the load ended: %d events of %d shipments, %d dead letters expected",
			time.Since(start).Round(time.Millisecond), len(x.events), len(x.byKey), len(x.dead))
	}

	// shipment_events: exactly the expected ids, each once.
	var total, distinct int
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT id) FROM waybill.shipment_events`).Scan(&total, &distinct); err != nil {
		t.Fatal(err)
	}
	if total != distinct {
		t.Errorf("waybill.shipment_events: %d rows but %d distinct ids", total, distinct)
	}
	rows, err := db.Query(ctx, `SELECT id, shipment_key FROM waybill.shipment_events`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			t.Fatal(err)
		}
		got[id] = key
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var lost, extra []string
	for id, e := range x.events {
		if _, ok := got[id]; !ok {
			lost = append(lost, fmt.Sprintf("%s %s %s at %s (from %s %s)", e.ShipmentKey, id, e.Status, e.OccurredAt.Format(time.RFC3339Nano), e.Source, e.RawEventID))
		}
	}
	for id, key := range got {
		if _, ok := x.events[id]; !ok {
			extra = append(extra, key+" "+id)
		}
	}
	report("LOST: expected events missing from waybill.shipment_events", lost)
	report("DUPLICATED or unexpected: events in waybill.shipment_events no accepted webhook maps to", extra)

	// shipments: every row equals the one computed from its events.
	rows, err = db.Query(ctx, `SELECT shipment_key, status, status_at, last_event_id, event_count FROM waybill.shipments`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var wrong []string
	for rows.Next() {
		var key, status, last string
		var at time.Time
		var count int
		if err := rows.Scan(&key, &status, &at, &last, &count); err != nil {
			t.Fatal(err)
		}
		seen[key] = true
		evs, ok := x.byKey[key]
		if !ok {
			wrong = append(wrong, key+": a shipment no accepted webhook maps to")
			continue
		}
		want := latest(evs)
		if status != string(want.Status) || !at.Equal(want.OccurredAt) || last != want.ID || count != len(evs) {
			wrong = append(wrong, fmt.Sprintf("%s: %s at %s (event %s, %d events), want %s at %s (event %s, %d events)",
				key, status, at.UTC().Format(time.RFC3339Nano), last, count,
				want.Status, want.OccurredAt.Format(time.RFC3339Nano), want.ID, len(evs)))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for key := range x.byKey {
		if !seen[key] {
			wrong = append(wrong, key+": no row in waybill.shipments")
		}
	}
	report("waybill.shipments rows that differ from the state computed offline", wrong)

	// SHIPMENTS: each normalized event stored once.
	shipped, err := readStream(ctx, s.js, streams.Shipments)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	var twice []string
	for _, m := range shipped {
		id := cloudeventID(m.header)
		if ids[id]++; ids[id] == 2 {
			twice = append(twice, fmt.Sprintf("%s on %s", id, m.subject))
		}
	}
	report("DUPLICATED: events stored more than once on SHIPMENTS", twice)

	// DEADLETTER: every malformed body, and nothing else.
	dead, err := readStream(ctx, s.js, streams.DeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	onDLQ := map[[32]byte]bool{}
	var unexpected, missing []string
	for _, m := range dead {
		h := bodyHash(m.data)
		onDLQ[h] = true
		if _, ok := x.dead[h]; !ok {
			unexpected = append(unexpected, fmt.Sprintf("seq %d on %s (%s): %.80q", m.seq, m.subject, header(m.header, "ce-dlreason"), m.data))
		}
	}
	for h, desc := range x.dead {
		if !onDLQ[h] {
			missing = append(missing, desc)
		}
	}
	for i, w := range l.hooks {
		if w.Malformed && l.results[i].code != 0 && !onDLQ[bodyHash(w.Body)] {
			if _, listed := x.dead[bodyHash(w.Body)]; !listed {
				missing = append(missing, fmt.Sprintf("webhook %d (%s, event %s): malformed, answered %d", i, w.Source, w.EventID, l.results[i].code))
			}
		}
	}
	report("malformed bodies missing from DEADLETTER", missing)
	report("unexpected messages on DEADLETTER", unexpected)
}
