package projection

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Schemas a replay builds in and swaps through.
const (
	rebuildSchema = "waybill_rebuild"
	oldSchema     = "waybill_old"
)

// catchUpMargin widens the catch-up window of Swap for clock skew between
// the database (which dates the rebuild's start) and the projectors (which
// date received_at). Copying events the replay also had is harmless.
const catchUpMargin = 5 * time.Minute

// Rebuild is a projection being rebuilt from a replay of SHIPMENTS in the
// schema waybill_rebuild, beside the live one. Feed it with Apply (then
// Finish, in bulk), then Swap it in, or Abort. One rebuild at a time per
// database.
type Rebuild struct {
	live      *Store
	target    *Store
	startedAt time.Time

	// A bulk rebuild (BulkLoad): its load statement, the steps of Finish,
	// and whether they all committed.
	bulk     bool
	loadSQL  string
	steps    []*finishStep
	mu       sync.Mutex
	finished bool
}

// BeginRebuild creates an empty projection in the schema waybill_rebuild,
// with the same migrations as the live one, dropping what an earlier
// unfinished rebuild left there. With BulkLoad, its secondary indexes are
// dropped until Finish builds them.
func (s *Store) BeginRebuild(ctx context.Context, opts ...RebuildOption) (*Rebuild, error) {
	var cfg rebuildConfig
	for _, o := range opts {
		o(&cfg)
	}
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("projection: begin rebuild: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var startedAt time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&startedAt); err != nil {
		return nil, fmt.Errorf("projection: begin rebuild: %w", err)
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+rebuildSchema+" CASCADE"); err != nil {
		return nil, fmt.Errorf("projection: begin rebuild: %w", err)
	}
	if err := migrateSchema(ctx, conn, rebuildSchema); err != nil {
		return nil, err
	}
	r := &Rebuild{live: s, target: newStore(s.pool, rebuildSchema), startedAt: startedAt}
	if cfg.bulk {
		r.bulk = true
		r.loadSQL = schemaReplacer(rebuildSchema).Replace(loadEventsSQL)
		if r.steps, err = bulkSteps(ctx, conn); err != nil {
			return nil, fmt.Errorf("projection: begin rebuild: %w", err)
		}
	}
	return r, nil
}

// Apply stores events in the rebuilt projection, like Store.Apply; in a
// bulk rebuild, until Finish, it stores the events only (see BulkLoad).
func (r *Rebuild) Apply(ctx context.Context, events []tracking.Event, receivedAt time.Time) (Result, error) {
	if r.bulk {
		r.mu.Lock()
		finished := r.finished
		r.mu.Unlock()
		if !finished {
			return r.load(ctx, events, receivedAt)
		}
	}
	return r.target.Apply(ctx, events, receivedAt)
}

// Abort drops the rebuilt projection.
func (r *Rebuild) Abort(ctx context.Context) error {
	if _, err := r.live.pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+rebuildSchema+" CASCADE"); err != nil {
		return fmt.Errorf("projection: abort rebuild: %w", err)
	}
	return nil
}

// catchUpSQL copies into the rebuild the events the live projectors stored
// since the rebuild began that the replay did not reach, and returns their
// shipments. $1 is the start of the window.
const catchUpSQL = `
WITH inserted AS (
	INSERT INTO {rebuild}.shipment_events (` + eventColumns + `)
	SELECT ` + eventColumns + `
	FROM {live}.shipment_events
	WHERE received_at >= $1
	ON CONFLICT (id) DO NOTHING
	RETURNING shipment_key, refs
),` + insertRefsCTE + `
SELECT DISTINCT shipment_key FROM inserted`

// keepStallMarksSQL carries stall alerts over to rows whose state the
// rebuild did not change, so the swap does not make the alerts go out again.
const keepStallMarksSQL = `
UPDATE {rebuild}.shipments AS r SET stalled_at = l.stalled_at
FROM {live}.shipments AS l
WHERE l.shipment_key = r.shipment_key
	AND l.last_event_id = r.last_event_id
	AND l.stalled_at IS NOT NULL`

// Swap makes the rebuilt projection the live one in one transaction:
// readers see the old tables until it commits and the new ones after, never
// a mix. Live writers wait while it runs; their events stored since the
// rebuild began are copied in first, so a replay that stopped short of the
// live projector's position loses nothing. Stall marks of unchanged
// shipments are kept. Statements prepared on pooled connections re-plan
// against the new tables by themselves. Call Swap once the replay's Apply
// calls have returned (a bulk rebuild is finished first, if it was not);
// the Rebuild is spent afterwards.
func (r *Rebuild) Swap(ctx context.Context) error {
	if err := r.Finish(ctx); err != nil {
		return err
	}
	sql := strings.NewReplacer(
		"{live}", pgx.Identifier{Schema}.Sanitize(),
		"{rebuild}", pgx.Identifier{rebuildSchema}.Sanitize(),
		"{schema}", pgx.Identifier{rebuildSchema}.Sanitize(),
	)
	err := pgx.BeginFunc(ctx, r.live.pool, func(tx pgx.Tx) error {
		// EXCLUSIVE blocks writers and lets readers on: they keep seeing
		// the old state until the renames.
		if _, err := tx.Exec(ctx, sql.Replace(
			"LOCK TABLE {live}.shipment_events, {live}.shipments, {live}.shipment_refs IN EXCLUSIVE MODE")); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql.Replace(catchUpSQL), r.startedAt.Add(-catchUpMargin))
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			if _, err := tx.Exec(ctx, r.target.sql.recomputeShipments, keys); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, sql.Replace(keepStallMarksSQL)); err != nil {
			return err
		}
		for _, stmt := range []string{
			"ALTER SCHEMA " + Schema + " RENAME TO " + oldSchema,
			"ALTER SCHEMA " + rebuildSchema + " RENAME TO " + Schema,
			"DROP SCHEMA " + oldSchema + " CASCADE",
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("projection: swap rebuild in: %w", err)
	}
	return nil
}

// TableHash digests the projection in schema: every row of shipments (but
// updated_at and stalled_at, which are not functions of the events),
// shipment_events (but received_at) and shipment_refs, in key order. Equal
// digests mean a rebuilt projection matches the live one. conn is a pool or
// a connection.
func TableHash(ctx context.Context, conn interface {
	Begin(context.Context) (pgx.Tx, error)
}, schema string) (string, error) {
	var sum string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Timestamps render in the session's zone and date style: pin them.
		if _, err := tx.Exec(ctx, "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'"); err != nil {
			return err
		}
		return tx.QueryRow(ctx, schemaReplacer(schema).Replace(tableHashSQL)).Scan(&sum)
	})
	if err != nil {
		return "", fmt.Errorf("projection: hash %s: %w", schema, err)
	}
	return sum, nil
}

// tableHashSQL hashes each row, then the row hashes in key order: 33 bytes
// of memory per row rather than the rows themselves.
const tableHashSQL = `
SELECT md5(concat(
	(SELECT string_agg(md5(s::text), '' ORDER BY s.shipment_key)
	 FROM (SELECT shipment_key, carrier, tracking_number, status, status_rank,
			status_at, last_event_id, delivered_at, estimated_delivery, refs,
			event_count, first_seen_at
		FROM {schema}.shipments) AS s), E'\n',
	(SELECT string_agg(md5(e::text), '' ORDER BY e.id)
	 FROM (SELECT id, shipment_key, carrier, tracking_number, status, status_rank,
			substatus, carrier_status, message, occurred_at, occurred_at_precision,
			local_time, timezone, timezone_source, timezone_inferred, location,
			source, raw_event_id, refs, estimated_delivery, late
		FROM {schema}.shipment_events) AS e), E'\n',
	(SELECT string_agg(md5(r::text), '' ORDER BY r.value, r.shipment_key, r.name)
	 FROM {schema}.shipment_refs AS r)))`
