package main

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// cleanRun is the check input of a run where everything went right: the
// workload's webhooks accepted (retries answered with the same id) and
// stored on RAW as ingress stores them, every event projected once, every
// malformed webhook answered 400 and dead-lettered.
func cleanRun(t *testing.T) checkInput {
	t.Helper()
	in := checkInput{stored: map[rawKey][]tracking.Event{}, mapErr: map[rawKey]error{}, deadLetters: map[[32]byte]bool{}}
	received := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	byKey := map[string][]tracking.Event{}
	for i, w := range webhookload.Generate(webhookload.Config{Shipments: 60, Seed: 3}) {
		if w.Malformed {
			in.malformed = append(in.malformed, w.Body)
			in.malformedCodes = append(in.malformedCodes, 400)
			in.deadLetters[sha256.Sum256(w.Body)] = true
			continue
		}
		k := rawKey{w.Source, w.EventID}
		in.accepted = append(in.accepted, k)
		if _, ok := in.stored[k]; ok {
			continue // a retry: JetStream keeps the first
		}
		// The RAW message as ingress stores it.
		p, _ := providers.Lookup(w.Source)
		id, err := p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()})
		if err != nil {
			t.Fatal(err)
		}
		e := event.New(cloudevent.SpecVersion)
		e.SetID(id.ID)
		e.SetSource("/webhooks/" + w.Source)
		e.SetType(id.Type)
		if id.Subject != "" {
			e.SetSubject(id.Subject)
		}
		e.SetTime(received.Add(time.Duration(i) * time.Millisecond))
		for _, x := range id.Extensions {
			e.SetExtension(x.Name, x.Value)
		}
		e.SetDataContentType(cloudevent.ContentTypeJSON)
		e.DataEncoded = w.Body
		msg, err := cloudevent.ToMsg(streams.RawSubject(w.Source), e)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := mapRaw(w.Source, msg.Header, msg.Data)
		if err != nil {
			t.Fatalf("%s webhook %d: %v", w.Source, i, err)
		}
		in.stored[k] = evs
		for _, ev := range evs {
			if len(byKey[ev.ShipmentKey]) > 0 && containsID(byKey[ev.ShipmentKey], ev.ID) {
				continue
			}
			byKey[ev.ShipmentKey] = append(byKey[ev.ShipmentKey], ev)
			in.pgEvents = append(in.pgEvents, [2]string{ev.ID, ev.ShipmentKey})
			in.streamIDs = append(in.streamIDs, ev.ID)
		}
	}
	for key, evs := range byKey {
		latest := evs[0]
		for i := range evs {
			if tracking.Before(&latest, &evs[i]) {
				latest = evs[i]
			}
		}
		in.pgShips = append(in.pgShips, pgShipment{key: key, status: string(latest.Status), lastEventID: latest.ID, eventCount: len(evs)})
	}
	return in
}

func containsID(evs []tracking.Event, id string) bool {
	for _, e := range evs {
		if e.ID == id {
			return true
		}
	}
	return false
}

func TestPipelineCheck(t *testing.T) {
	clean := cleanRun(t)
	if r := check(clean); !r.ok() || r.expected == 0 || r.present != r.expected || r.malformed == 0 {
		t.Fatalf("a clean run fails: %s %v", r.String(), r.examples)
	}

	cases := []struct {
		name  string
		spoil func(in *checkInput)
		got   func(r checkResult) int
	}{
		{"missing event", func(in *checkInput) { in.pgEvents = in.pgEvents[1:] }, func(r checkResult) int { return r.missing }},
		{"duplicated event row", func(in *checkInput) { in.pgEvents = append(in.pgEvents, in.pgEvents[3]) },
			func(r checkResult) int { return r.duplicatedRows }},
		{"duplicated on SHIPMENTS", func(in *checkInput) { in.streamIDs = append(in.streamIDs, in.streamIDs[5]) },
			func(r checkResult) int { return r.duplicatedOnStream }},
		{"unexplained row", func(in *checkInput) { in.pgEvents = append(in.pgEvents, [2]string{"f00", "ups:X"}) },
			func(r checkResult) int { return r.extra }},
		{"accepted, not on RAW", func(in *checkInput) { in.stored = without(in.stored, in.accepted[0]) },
			func(r checkResult) int { return r.lostAtIngress }},
		{"unmappable", func(in *checkInput) {
			in.mapErr = map[rawKey]error{in.accepted[2]: errors.Join(providers.ErrUnmappable, errors.New("bad"))}
		}, func(r checkResult) int { return r.unmappable }},
		{"wrong status", func(in *checkInput) {
			in.pgShips = append([]pgShipment(nil), in.pgShips...)
			in.pgShips[0].status = "returned"
		}, func(r checkResult) int { return r.statusWrong }},
		{"wrong event_count", func(in *checkInput) {
			in.pgShips = append([]pgShipment(nil), in.pgShips...)
			in.pgShips[1].eventCount++
		}, func(r checkResult) int { return r.countWrong }},
		{"malformed accepted", func(in *checkInput) {
			in.malformedCodes = append([]int{200}, in.malformedCodes[1:]...)
		}, func(r checkResult) int { return r.malformedNot400 }},
		{"malformed not dead-lettered", func(in *checkInput) { in.deadLetters = map[[32]byte]bool{} },
			func(r checkResult) int { return min(r.malformedNotDeadLettered, 1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := clean.clone()
			c.spoil(&in)
			r := check(in)
			if r.ok() || c.got(r) != 1 {
				t.Errorf("%s: ok=%v, counted %d: %s", c.name, r.ok(), c.got(r), r.String())
			}
		})
	}

	// Not a shipment (a SwiftPOD order notification) is acked, not an error.
	in := clean.clone()
	in.mapErr = map[rawKey]error{{"x", "y"}: providers.ErrNotShipment}
	if r := check(in); !r.ok() {
		t.Errorf("a not-shipment message fails the check: %s", r.String())
	}
}

// clone copies what the cases change.
func (in checkInput) clone() checkInput {
	c := in
	c.accepted = append([]rawKey(nil), in.accepted...)
	c.stored = without(in.stored, rawKey{})
	c.malformedCodes = append([]int(nil), in.malformedCodes...)
	c.streamIDs = append([]string(nil), in.streamIDs...)
	c.pgEvents = append([][2]string(nil), in.pgEvents...)
	c.pgShips = append([]pgShipment(nil), in.pgShips...)
	return c
}

func without(m map[rawKey][]tracking.Event, k rawKey) map[rawKey][]tracking.Event {
	c := make(map[rawKey][]tracking.Event, len(m))
	for kk, v := range m {
		if kk != k {
			c[kk] = v
		}
	}
	return c
}

func TestNormalizedRate(t *testing.T) {
	t0 := time.Unix(0, 0)
	var s []countSample
	// 1000 events/s for 10 s after a 1 s idle start, then idle.
	for ms := 0; ms <= 14000; ms += 100 {
		n := uint64(0)
		if ms > 1000 {
			n = uint64(min(ms-1000, 10000))
		}
		s = append(s, countSample{t0.Add(time.Duration(ms) * time.Millisecond), n})
	}
	rate, n := normalizedRate(s)
	if n != 10000 || rate < 990 || rate > 1010 {
		t.Errorf("rate %.0f of %d events, want 1000 of 10000", rate, n)
	}
}

func TestTrackedSample(t *testing.T) {
	hooks := webhookload.Generate(webhookload.Config{Shipments: 40, Seed: 9})
	track, size := trackedSample(hooks, 1)
	if size < 200 || size > 4000 {
		t.Errorf("mean event size %d", size)
	}
	seen := map[string]bool{}
	for i, ids := range track {
		w := hooks[i]
		if w.Retry || w.Malformed || w.Source == "tenovi" || len(ids) == 0 {
			t.Fatalf("webhook %d (%s retry=%v malformed=%v) tracked with %v", i, w.Source, w.Retry, w.Malformed, ids)
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("event %s tracked twice", id)
			}
			seen[id] = true
		}
	}
	if len(track) < len(hooks)/2 {
		t.Errorf("%d of %d webhooks tracked with share 1", len(track), len(hooks))
	}
	if few, _ := trackedSample(hooks, 0.05); len(few) == 0 || len(few) > len(track)/5 {
		t.Errorf("share 0.05 tracks %d of %d", len(few), len(track))
	}
}
