package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/deadletter"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// mapRaw maps a stored RAW message as the normalizer does (decode the
// CloudEvent, the source's provider's Map at the stored receipt time,
// Normalize, Validate), written here from pkg/ rather than imported from
// the normalizer so that the check does not share the code it checks.
func mapRaw(source string, h nats.Header, data []byte) ([]tracking.Event, error) {
	ce, err := cloudevent.FromMsg(h, data)
	if err != nil {
		return nil, err
	}
	p, ok := providers.Lookup(source)
	if !ok {
		return nil, fmt.Errorf("no provider %q", source)
	}
	raw := providers.Raw{Source: source, ID: ce.ID(), Type: ce.Type(), Subject: ce.Subject(), Time: ce.Time(),
		Extensions: map[string]string{}, Data: data}
	for k, v := range ce.Extensions() {
		raw.Extensions[k] = fmt.Sprint(v)
	}
	evs, err := p.Map(raw)
	if err != nil {
		return nil, err
	}
	for i := range evs {
		evs[i].Source, evs[i].RawEventID = source, ce.ID()
		evs[i].Normalize()
		if err := evs[i].Validate(); err != nil {
			return nil, err
		}
	}
	return evs, nil
}

// checkInput is everything the correctness check compares, gathered from
// the run (gather) or made up by a test.
type checkInput struct {
	// accepted are the (source, event id) of the webhooks answered 200;
	// stored maps each (source, event id) on RAW to its mapped events (nil
	// and an error in mapErr when it does not map).
	accepted []rawKey
	stored   map[rawKey][]tracking.Event
	mapErr   map[rawKey]error
	// malformed are the bodies of the malformed webhooks posted, with the
	// status each was answered; deadLetters the sha256 of every body on
	// deadletter.ingress.>.
	malformed       [][]byte
	malformedCodes  []int
	deadLetters     map[[32]byte]bool
	otherDeadLetter map[string]int // later stages' dead letters by stage
	// What the pipeline produced: the event id of every SHIPMENTS message,
	// every row of waybill.shipment_events (id, shipment_key) and of
	// waybill.shipments.
	streamIDs []string
	pgEvents  [][2]string
	pgShips   []pgShipment
}

type rawKey struct{ source, id string }

type pgShipment struct {
	key, status, lastEventID string
	eventCount               int
}

// checkResult is the verdict; ok() when nothing is lost, duplicated or
// wrong.
type checkResult struct {
	accepted, expected, present        int
	lostAtIngress                      int // accepted, not on RAW
	unmappable                         int // on RAW for an accepted webhook, not mappable
	missing                            int // expected events not in waybill.shipment_events
	duplicatedRows, duplicatedOnStream int
	extra                              int // rows no stored webhook explains
	statusWrong, countWrong            int // waybill.shipments rows that disagree with their events
	malformed, malformedNot400         int
	malformedNotDeadLettered           int
	otherDeadLetters                   int
	examples                           []string
}

func (r *checkResult) ok() bool {
	return r.lostAtIngress == 0 && r.unmappable == 0 && r.missing == 0 && r.duplicatedRows == 0 &&
		r.duplicatedOnStream == 0 && r.extra == 0 && r.statusWrong == 0 && r.countWrong == 0 &&
		r.malformedNot400 == 0 && r.malformedNotDeadLettered == 0
}

func (r *checkResult) example(format string, args ...any) {
	if len(r.examples) < 10 {
		r.examples = append(r.examples, fmt.Sprintf(format, args...))
	}
}

func (r *checkResult) String() string {
	verdict := "PASS"
	if !r.ok() {
		verdict = "FAIL"
	}
	s := fmt.Sprintf("%s: %d webhooks accepted -> %d distinct events expected, %d present exactly once; "+
		"lost at ingress %d, unmappable %d, missing %d, duplicated rows %d, duplicated on SHIPMENTS %d, unexplained rows %d, "+
		"shipments with a wrong status %d / event_count %d; malformed %d: not answered 400 %d, not on DEADLETTER %d",
		verdict, r.accepted, r.expected, r.present, r.lostAtIngress, r.unmappable, r.missing, r.duplicatedRows,
		r.duplicatedOnStream, r.extra, r.statusWrong, r.countWrong, r.malformed, r.malformedNot400, r.malformedNotDeadLettered)
	if r.otherDeadLetters > 0 {
		s += fmt.Sprintf("; %d dead letters of later stages", r.otherDeadLetters)
	}
	return s
}

// check is the correctness verdict of a run: every accepted webhook's
// events are in Postgres exactly once (expected = the accepted webhooks'
// stored raw messages mapped as the normalizer maps them), every shipment
// row agrees with its events, and every malformed webhook was answered 400
// and is on DEADLETTER.
func check(in checkInput) checkResult {
	var r checkResult
	expected := map[string]tracking.Event{}
	seen := map[rawKey]bool{}
	for _, k := range in.accepted {
		r.accepted++
		if seen[k] {
			continue // a retry: the same stored message
		}
		seen[k] = true
		evs, ok := in.stored[k]
		switch {
		case !ok:
			r.lostAtIngress++
			r.example("accepted %s webhook %s is not on RAW", k.source, k.id)
			continue
		case in.mapErr[k] != nil:
			// Not a shipment is not an error; anything else is.
			if !errors.Is(in.mapErr[k], providers.ErrNotShipment) {
				r.unmappable++
				r.example("%s webhook %s does not map: %v", k.source, k.id, in.mapErr[k])
			}
			continue
		}
		for _, e := range evs {
			expected[e.ID] = e
		}
	}
	// Events of stored messages no accepted webhook explains (an answer
	// lost after the store) are not expected, but not unexplained either.
	explained := map[string]tracking.Event{}
	for _, evs := range in.stored {
		for _, e := range evs {
			explained[e.ID] = e
		}
	}
	r.expected = len(expected)

	rows := map[string]int{}
	perKey := map[string]int{}
	for _, row := range in.pgEvents {
		rows[row[0]]++
		perKey[row[1]]++
	}
	for id, n := range rows {
		if n > 1 {
			r.duplicatedRows++
			r.example("event %s has %d rows", id, n)
		}
		if _, ok := explained[id]; !ok {
			r.extra++
			r.example("row %s is no stored webhook's event", id)
		}
	}
	onStream := map[string]int{}
	for _, id := range in.streamIDs {
		onStream[id]++
	}
	for id, n := range onStream {
		if n > 1 {
			r.duplicatedOnStream++
			r.example("event %s is %d times on SHIPMENTS", id, n)
		}
	}
	for id, e := range expected {
		if rows[id] == 0 {
			r.missing++
			r.example("event %s (%s %s) is not in waybill.shipment_events", id, e.ShipmentKey, e.Status)
		} else if rows[id] == 1 {
			r.present++
		}
	}

	// Each shipment's row is a function of its events (those in
	// waybill.shipment_events): the latest by (occurred_at, rank, id), and
	// their count.
	byKey := map[string][]tracking.Event{}
	for id := range rows {
		if e, ok := explained[id]; ok {
			byKey[e.ShipmentKey] = append(byKey[e.ShipmentKey], e)
		}
	}
	ships := map[string]pgShipment{}
	for _, s := range in.pgShips {
		ships[s.key] = s
	}
	for _, s := range in.pgShips {
		if len(byKey[s.key]) == 0 {
			r.statusWrong++
			r.example("shipment %s has a row and no events", s.key)
		}
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		evs := byKey[k]
		s, ok := ships[k]
		if !ok {
			r.statusWrong++
			r.example("shipment %s has no row", k)
			continue
		}
		latest := evs[0]
		for i := range evs {
			if tracking.Before(&latest, &evs[i]) {
				latest = evs[i]
			}
		}
		if s.status != string(latest.Status) || s.lastEventID != latest.ID {
			r.statusWrong++
			r.example("shipment %s is %s (%s), its events say %s (%s)", k, s.status, s.lastEventID, latest.Status, latest.ID)
		}
		if s.eventCount != perKey[k] {
			r.countWrong++
			r.example("shipment %s has event_count %d and %d event rows", k, s.eventCount, perKey[k])
		}
	}

	for i, body := range in.malformed {
		r.malformed++
		if in.malformedCodes[i] != 400 {
			r.malformedNot400++
			r.example("malformed webhook answered %d", in.malformedCodes[i])
		}
		if !in.deadLetters[sha256.Sum256(body)] {
			r.malformedNotDeadLettered++
			r.example("malformed webhook (%d bytes) is not on DEADLETTER", len(body))
		}
	}
	for _, n := range in.otherDeadLetter {
		r.otherDeadLetters += n
	}
	return r
}

// gathered is what the check and the limits read back from the run.
type gathered struct {
	in     checkInput
	events []tracking.Event // SHIPMENTS, decoded: the rows of the upsert limit
	sizes  struct{ eventBytes, events int }
}

// gather reads the run back: RAW (mapped), DEADLETTER, SHIPMENTS and the
// projection, and the posted webhooks' answers.
func gather(ctx context.Context, js jetstream.JetStream, db *pgxpool.Pool, p *poster, posted int) (*gathered, error) {
	g := &gathered{in: checkInput{stored: map[rawKey][]tracking.Event{}, mapErr: map[rawKey]error{},
		deadLetters: map[[32]byte]bool{}, otherDeadLetter: map[string]int{}}}
	for i := 0; i < posted; i++ {
		w, r := &p.hooks[i], &p.res[i]
		switch {
		case w.Malformed:
			g.in.malformed = append(g.in.malformed, w.Body)
			g.in.malformedCodes = append(g.in.malformedCodes, r.code)
		case r.code == 200:
			g.in.accepted = append(g.in.accepted, rawKey{w.Source, r.id})
		}
	}
	err := readStream(ctx, js, streams.Raw, func(m jetstream.Msg) error {
		source := strings.TrimPrefix(m.Subject(), "raw.")
		k := rawKey{source, m.Headers().Get("ce-id")}
		if v, err := cloudevent.Decode(k.id); err == nil {
			k.id = v
		}
		evs, err := mapRaw(source, m.Headers(), m.Data())
		g.in.stored[k] = evs
		if err != nil {
			g.in.mapErr[k] = err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readStream(ctx, js, streams.DeadLetter, func(m jetstream.Msg) error {
		if info := deadletter.Read(m.Headers()); info.Stage == "ingress" {
			g.in.deadLetters[sha256.Sum256(m.Data())] = true
		} else {
			g.in.otherDeadLetter[info.Stage]++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = readStream(ctx, js, streams.Shipments, func(m jetstream.Msg) error {
		e, err := shipments.Decode(m.Headers(), m.Data())
		if err != nil {
			return fmt.Errorf("SHIPMENTS message %s: %w", m.Subject(), err)
		}
		g.in.streamIDs = append(g.in.streamIDs, e.ID)
		g.events = append(g.events, e)
		g.sizes.eventBytes += len(m.Data())
		g.sizes.events++
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(ctx, `SELECT id, shipment_key FROM waybill.shipment_events`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			rows.Close()
			return nil, err
		}
		g.in.pgEvents = append(g.in.pgEvents, [2]string{id, key})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.Query(ctx, `SELECT shipment_key, status, last_event_id, event_count FROM waybill.shipments`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s pgShipment
		if err := rows.Scan(&s.key, &s.status, &s.lastEventID, &s.eventCount); err != nil {
			return nil, err
		}
		g.in.pgShips = append(g.in.pgShips, s)
	}
	return g, rows.Err()
}

// readStream hands every message stored on stream, up to the last one
// stored when it starts, to fn, through an ordered consumer.
func readStream(ctx context.Context, js jetstream.JetStream, name string, fn func(jetstream.Msg) error) error {
	s, err := js.Stream(ctx, name)
	if err != nil {
		return err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return err
	}
	if info.State.Msgs == 0 {
		return nil
	}
	last := info.State.LastSeq
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return err
	}
	it, err := c.Messages(jetstream.PullMaxMessages(2000))
	if err != nil {
		return err
	}
	defer it.Stop()
	for {
		m, err := it.Next(jetstream.NextMaxWait(10 * time.Second))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if err := fn(m); err != nil {
			return err
		}
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		if meta.Sequence.Stream >= last || meta.NumPending == 0 {
			return nil
		}
	}
}
