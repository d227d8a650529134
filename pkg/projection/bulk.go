package projection

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// A bulk rebuild fills the rebuilt tables the way fresh, private tables are
// best filled: Apply only inserts the events, and Finish derives every
// shipments row and every reference from all the events at once, then
// builds the secondary indexes, which were dropped when the rebuild began.
// That saves per batch what Store.Apply does to keep the tables readable
// after every commit (the shipments locks, folding the batch into the rows,
// recomputing the shipments that got a late event, maintaining the
// references and seven secondary indexes row by row), none of which matters
// in tables nobody reads until the swap. The outcome is the projection
// Store.Apply makes: a shipments row is a pure function of its shipment's
// events, and Finish derives the row recomputeShipmentsSQL would write.

// RebuildOption configures BeginRebuild.
type RebuildOption func(*rebuildConfig)

type rebuildConfig struct {
	bulk bool
}

// BulkLoad makes the rebuild load in bulk: Apply stores the events only,
// and the rebuilt projection is complete after Finish (Swap finishes first
// when it was not called). Until then waybill_rebuild holds the events
// alone: no shipments rows, no references, no secondary indexes. For a
// replay of the whole stream (projector.Replay calls Finish); events
// applied after Finish are applied as Store.Apply applies them.
func BulkLoad() RebuildOption {
	return func(c *rebuildConfig) { c.bulk = true }
}

// loadEventsSQL inserts a batch's events (each id once, the first stored
// wins) through insertEventsCTE, so the rows are the ones Apply writes,
// but not their references: concurrent batches would insert the same
// references (every event of a shipment carries its order's) in different
// orders and deadlock. Finish indexes them all at once.
var loadEventsSQL = func() string {
	cte, ok := strings.CutSuffix(insertEventsCTE, ","+insertRefsCTE)
	if !ok {
		panic("projection: insertEventsCTE no longer ends with insertRefsCTE")
	}
	return "WITH " + cte + "\nSELECT count(*) FROM inserted"
}()

// deriveShipmentsSQL writes every shipments row from all the stored
// events, in key order (the primary key is then built by appending): the
// row recomputeShipmentsSQL would write, by the same summary (see
// summarizeCTEs) but for the references, which are merged from each
// shipment's distinct sets of references rather than from every event's:
// the events of a shipment mostly repeat one set, and a set that a newer
// event repeats gives its names the same values at a newer place.
const deriveShipmentsSQL = `
WITH latest AS (
	SELECT DISTINCT ON (shipment_key) shipment_key, carrier, tracking_number,
		id, status, status_rank, occurred_at
	FROM {schema}.shipment_events
	ORDER BY shipment_key, occurred_at DESC, status_rank DESC, id DESC
), totals AS (
	SELECT shipment_key, count(*) AS event_count, min(occurred_at) AS first_seen_at,
		(array_agg(estimated_delivery ORDER BY occurred_at DESC, status_rank DESC, id DESC)
			FILTER (WHERE estimated_delivery IS NOT NULL))[1] AS estimated_delivery
	FROM {schema}.shipment_events
	GROUP BY shipment_key
), ref_sets AS (
	-- Each distinct set once, at its newest event.
	SELECT DISTINCT ON (shipment_key, refs) shipment_key, refs, occurred_at, status_rank, id
	FROM {schema}.shipment_events
	WHERE refs <> '{}'
	ORDER BY shipment_key, refs, occurred_at DESC, status_rank DESC, id DESC
), merged_refs AS (
	-- jsonb keeps the last value of a repeated name: the newest event's.
	SELECT e.shipment_key, jsonb_object_agg(r.key, r.value ORDER BY e.occurred_at, e.status_rank, e.id) AS refs
	FROM ref_sets AS e CROSS JOIN LATERAL jsonb_each(e.refs) AS r
	GROUP BY e.shipment_key
)` + insertSummaries + `
ORDER BY l.shipment_key`

// deriveRefsSQL indexes the references of every stored event, as
// insertRefsCTE does batch by batch, in key order, reading each shipment's
// distinct sets of references once.
const deriveRefsSQL = `
INSERT INTO {schema}.shipment_refs (shipment_key, name, value)
SELECT DISTINCT e.shipment_key, r.key COLLATE "C", r.value COLLATE "C"
FROM (SELECT DISTINCT shipment_key, refs FROM {schema}.shipment_events) AS e
	CROSS JOIN LATERAL jsonb_each_text(e.refs) AS r
ORDER BY 3, 1, 2`

// secondaryIndexesSQL lists the indexes in schema that neither enforce
// uniqueness nor belong to a constraint (primary keys stay: the inserts
// rely on them), by table, with the statements that create them again.
const secondaryIndexesSQL = `
SELECT t.relname, i.relname, pg_get_indexdef(x.indexrelid)
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_namespace AS n ON n.oid = i.relnamespace
WHERE n.nspname = $1 AND NOT x.indisunique
	AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conindid = x.indexrelid)
ORDER BY t.relname, i.relname`

// finishStep is one transaction of Finish.
type finishStep struct {
	name  string
	stmts []string
	done  bool
}

// bulkSteps drops the secondary indexes of the (empty) rebuild schema and
// returns Finish's steps: the shipments rows, then their indexes; the
// references, then theirs; the indexes of the events (and of any other
// table). The steps touch different tables, so they run at once.
func bulkSteps(ctx context.Context, conn *pgx.Conn) ([]*finishStep, error) {
	rows, err := conn.Query(ctx, secondaryIndexesSQL, rebuildSchema)
	if err != nil {
		return nil, err
	}
	type index struct{ Table, Name, Def string }
	indexes, err := pgx.CollectRows(rows, pgx.RowToStructByPos[index])
	if err != nil {
		return nil, err
	}
	sql := schemaReplacer(rebuildSchema)
	steps := []*finishStep{
		{name: "shipments", stmts: []string{sql.Replace(deriveShipmentsSQL)}},
		{name: "shipment_refs", stmts: []string{sql.Replace(deriveRefsSQL)}},
	}
	for _, ix := range indexes {
		if _, err := conn.Exec(ctx, "DROP INDEX "+pgx.Identifier{rebuildSchema, ix.Name}.Sanitize()); err != nil {
			return nil, err
		}
		i := slices.IndexFunc(steps, func(s *finishStep) bool { return s.name == ix.Table })
		if i < 0 {
			steps = append(steps, &finishStep{name: ix.Table})
			i = len(steps) - 1
		}
		steps[i].stmts = append(steps[i].stmts, ix.Def)
	}
	return steps, nil
}

// load is Apply of a bulk rebuild before Finish.
func (r *Rebuild) load(ctx context.Context, events []tracking.Event, receivedAt time.Time) (Result, error) {
	if len(events) == 0 {
		return Result{}, nil
	}
	// In id order, the order of the primary key: two batches that share
	// events (repeated on the stream) then wait for each other on their
	// first common one only, never in a cycle.
	events = slices.Clone(events)
	slices.SortStableFunc(events, func(a, b tracking.Event) int { return cmp.Compare(a.ID, b.ID) })
	b, err := newEventBatch(events)
	if err != nil {
		return Result{}, err
	}
	var inserted int
	if err := r.target.pool.QueryRow(ctx, r.loadSQL, b.args(receivedAt)...).Scan(&inserted); err != nil {
		return Result{}, fmt.Errorf("projection: load %d events into %s: %w", len(b.ids), rebuildSchema, err)
	}
	return Result{Inserted: inserted, Duplicates: len(events) - inserted}, nil
}

// Finish completes a bulk rebuild: it derives the shipments rows and the
// references from the events loaded and builds the secondary indexes. Its
// steps run at once, each in a transaction of its own; a step that failed
// is run again by the next call, one that committed is not. Call Finish
// once the Apply calls have returned; it does nothing once it succeeded,
// or for a rebuild that is not in bulk. Errors are Postgres's (Retryable
// tells whether trying again can help).
func (r *Rebuild) Finish(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.bulk || r.finished {
		return nil
	}
	errs := make([]error, len(r.steps))
	var wg sync.WaitGroup
	for i, step := range r.steps {
		if step.done {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = pgx.BeginFunc(ctx, r.target.pool, func(tx pgx.Tx) error {
				// Sorts in memory, not temporary files. No JIT: the fresh
				// tables have no statistics, so the planner overestimates
				// them and would compile statements that run in
				// milliseconds.
				if _, err := tx.Exec(ctx, "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off"); err != nil {
					return err
				}
				for _, stmt := range step.stmts {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("%s: %w", step.name, errs[i])
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			r.steps[i].done = true
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("projection: finish rebuild: %w", err)
	}
	r.finished = true
	return nil
}
