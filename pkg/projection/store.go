// Package projection keeps the Postgres projection of the SHIPMENTS stream:
// waybill.shipment_events (one row per normalized event) and
// waybill.shipments (each shipment's current state), plus
// waybill.shipment_refs for lookup by reference. The projector feeds Store
// batches of events; the console only reads the tables.
//
// A shipment's row is a pure function of the set of its events, so
// at-least-once delivery, disorder and replays all converge on the same
// table. A replay can also rebuild the whole projection beside the live one
// and swap it in atomically (Store.BeginRebuild).
package projection

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Store writes the projection in one schema. It is safe for concurrent use,
// also by several processes: writers of the same shipment take turns.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	sql    queries
}

// New returns a Store writing the live projection (schema waybill) through
// pool. The schema must be migrated (Migrate).
func New(pool *pgxpool.Pool) *Store { return newStore(pool, Schema) }

func newStore(pool *pgxpool.Pool, schema string) *Store {
	return &Store{pool: pool, schema: schema, sql: queriesFor(schema)}
}

// Result says what an Apply changed.
type Result struct {
	// Inserted counts events stored for the first time.
	Inserted int
	// Duplicates counts events already stored, or repeated in the batch.
	Duplicates int
}

// Apply stores events in one transaction: each event id is inserted once
// (later copies are ignored: the first stored wins), the new events'
// references are indexed, and the row of every shipment with a new event is
// brought up to date. The row is a pure function of the shipment's stored
// events, so the outcome does not depend on how events are batched, ordered
// or repeated: new events newer than the row's state are folded into it;
// a shipment that got an event older than its state is recomputed from all
// its events. receivedAt is when the projector received the batch; it is
// stored on new events only.
//
// An event that breaks the contract (no id, key not carrier:tracking, status
// outside the taxonomy, no occurred_at...) fails the whole batch with an
// error wrapping tracking.ErrInvalidEvent, before anything is written. Other
// errors come from Postgres; Retryable tells whether trying again can help.
func (s *Store) Apply(ctx context.Context, events []tracking.Event, receivedAt time.Time) (Result, error) {
	if len(events) == 0 {
		return Result{}, nil
	}
	b, err := newEventBatch(events)
	if err != nil {
		return Result{}, err
	}

	var (
		inserted int
		late     []string
	)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// One round trip after BEGIN in the usual case. Each statement
		// takes its own snapshot, so applySQL sees every event and row
		// committed before the locks were granted.
		batch := &pgx.Batch{}
		batch.Queue(lockShipmentsSQL, shipmentLockClass, b.keys)
		batch.Queue(s.sql.apply, b.args(receivedAt)...).QueryRow(func(row pgx.Row) error {
			return row.Scan(&inserted, &late)
		})
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		if len(late) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, s.sql.recomputeShipments, late)
		return err
	})
	if err != nil {
		return Result{}, fmt.Errorf("projection: apply %d events to %s: %w", len(b.ids), s.schema, err)
	}
	return Result{Inserted: inserted, Duplicates: len(events) - inserted}, nil
}

// eventBatch holds a batch column by column, as insertEventsCTE takes it:
// one array per column, the batch's repeated ids dropped.
type eventBatch struct {
	ids, shipmentKeys, carriers, trackingNumbers, statuses []string
	ranks                                                  []int16
	substatuses, carrierStatuses, messages                 []string
	occurredAt                                             []time.Time
	precisions, localTimes, timezones, zoneSources         []string
	zoneInferred                                           []bool
	locations, sources, rawEventIDs, refs, estimates       []string
	late                                                   []bool

	// keys are the batch's distinct shipment keys.
	keys []string
}

func newEventBatch(events []tracking.Event) (*eventBatch, error) {
	b := &eventBatch{}
	seen := make(map[string]struct{}, len(events))
	keys := make(map[string]struct{})
	for i := range events {
		e := &events[i]
		if err := check(e); err != nil {
			return nil, fmt.Errorf("projection: event %q of %s: %w", e.ID, e.ShipmentKey, err)
		}
		if _, dup := seen[e.ID]; dup {
			continue
		}
		seen[e.ID] = struct{}{}
		if _, ok := keys[e.ShipmentKey]; !ok {
			keys[e.ShipmentKey] = struct{}{}
			b.keys = append(b.keys, e.ShipmentKey)
		}
		location, err := json.Marshal(e.Location)
		if err != nil {
			return nil, fmt.Errorf("projection: event %q: location: %w", e.ID, err)
		}
		refs := []byte("{}")
		if len(e.References) > 0 {
			if refs, err = json.Marshal(e.References); err != nil {
				return nil, fmt.Errorf("projection: event %q: references: %w", e.ID, err)
			}
		}
		b.ids = append(b.ids, e.ID)
		b.shipmentKeys = append(b.shipmentKeys, e.ShipmentKey)
		b.carriers = append(b.carriers, e.Carrier)
		b.trackingNumbers = append(b.trackingNumbers, e.TrackingNumber)
		b.statuses = append(b.statuses, string(e.Status))
		b.ranks = append(b.ranks, int16(e.Status.Rank()))
		b.substatuses = append(b.substatuses, e.Substatus)
		b.carrierStatuses = append(b.carrierStatuses, e.CarrierStatus)
		b.messages = append(b.messages, e.Message)
		b.occurredAt = append(b.occurredAt, e.OccurredAt)
		b.precisions = append(b.precisions, string(e.OccurredAtPrecision))
		b.localTimes = append(b.localTimes, e.LocalTime)
		b.timezones = append(b.timezones, e.Timezone)
		b.zoneSources = append(b.zoneSources, string(e.TimezoneSource))
		b.zoneInferred = append(b.zoneInferred, e.TimezoneInferred)
		b.locations = append(b.locations, string(location))
		b.sources = append(b.sources, e.Source)
		b.rawEventIDs = append(b.rawEventIDs, e.RawEventID)
		b.refs = append(b.refs, string(refs))
		b.estimates = append(b.estimates, e.EstimatedDelivery)
		b.late = append(b.late, e.Late)
	}
	return b, nil
}

// args are insertEventsCTE's parameters.
func (b *eventBatch) args(receivedAt time.Time) []any {
	return []any{
		b.ids, b.shipmentKeys, b.carriers, b.trackingNumbers, b.statuses,
		b.ranks, b.substatuses, b.carrierStatuses, b.messages, b.occurredAt,
		b.precisions, b.localTimes, b.timezones, b.zoneSources, b.zoneInferred,
		b.locations, b.sources, b.rawEventIDs, b.refs, b.estimates,
		b.late, receivedAt,
	}
}

// check rejects what the projection cannot store or order: the contract
// checks of tracking.Event.Validate plus the identity the normalizer derives.
func check(e *tracking.Event) error {
	switch {
	case e.ID == "":
		return fmt.Errorf("%w: no id", tracking.ErrInvalidEvent)
	case e.ShipmentKey != tracking.ShipmentKey(e.Carrier, e.TrackingNumber):
		return fmt.Errorf("%w: shipment key is not carrier:tracking_number", tracking.ErrInvalidEvent)
	}
	return e.Validate()
}
