package projection

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// The statements below name their tables {schema}.table: a Store renders
// them once for its schema (waybill, or waybill_rebuild during a replay).

// shipmentLockClass is the first key of the per-shipment advisory locks, so
// they live apart from other users of pg_advisory_lock.
const shipmentLockClass = int32(0x77626c) // "wbl"

// lockShipmentsSQL serializes writers of the same shipments: a row is
// updated from the events and the row committed when its statement starts,
// so two transactions adding events to one shipment must take turns. Locks
// are taken in hash order, the same in every transaction, so writers never
// deadlock; a hash collision only makes two shipments take turns.
const lockShipmentsSQL = `
SELECT pg_advisory_xact_lock($1, h)
FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k) AS keys
ORDER BY h`

// eventColumns are shipment_events' columns in the order the statements
// below write them.
const eventColumns = `id, shipment_key, carrier, tracking_number, status, status_rank,
	substatus, carrier_status, message, occurred_at, occurred_at_precision,
	local_time, timezone, timezone_source, timezone_inferred, location, source,
	raw_event_id, refs, estimated_delivery, late, received_at`

// batchRows is the batch's parameters ($1-$21, one array per column, see
// eventBatch.args) as rows b.
const batchRows = `unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
		$6::smallint[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
		$11::text[], $12::text[], $13::text[], $14::text[], $15::boolean[],
		$16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
		$21::boolean[])
		AS b(id, shipment_key, carrier, tracking_number, status, status_rank,
			substatus, carrier_status, message, occurred_at, occurred_at_precision,
			local_time, timezone, timezone_source, timezone_inferred, location,
			source, raw_event_id, refs, estimated_delivery, late)`

// insertEventsCTE inserts the batch ($1-$21: one array per column, see
// eventBatch.args; $22: received_at) as the CTE "inserted", skipping ids
// already stored, and indexes the new events' references. Empty optional
// texts are stored as NULL.
const insertEventsCTE = `
inserted AS (
	INSERT INTO {schema}.shipment_events (` + eventColumns + `)
	SELECT id, shipment_key, carrier, tracking_number, status, status_rank,
		nullif(substatus, ''), nullif(carrier_status, ''), nullif(message, ''),
		occurred_at, occurred_at_precision, nullif(local_time, ''),
		nullif(timezone, ''), nullif(timezone_source, ''), timezone_inferred,
		location::jsonb, source, nullif(raw_event_id, ''), refs::jsonb,
		nullif(estimated_delivery, ''), late, $22
	FROM ` + batchRows + `
	ON CONFLICT (id) DO NOTHING
	RETURNING shipment_key, carrier, tracking_number, id, status, status_rank,
		occurred_at, refs, estimated_delivery
),` + insertRefsCTE

// insertRefsCTE records every reference of the CTE "inserted" for lookup by
// value.
const insertRefsCTE = `
new_refs AS (
	INSERT INTO {schema}.shipment_refs (shipment_key, name, value)
	SELECT i.shipment_key, r.key, r.value
	FROM inserted AS i CROSS JOIN LATERAL jsonb_each_text(i.refs) AS r
	ON CONFLICT DO NOTHING
)`

// summarizeCTEs reduce the CTE "events" to one row per shipment: latest,
// its newest event in the order of tracking.Before (occurred_at,
// status_rank, id); totals, the count, the earliest carrier time and the
// estimate of the newest event that has one; merged_refs, the union of the
// references where a newer event wins a name.
const summarizeCTEs = `
latest AS (
	SELECT DISTINCT ON (shipment_key) shipment_key, carrier, tracking_number,
		id, status, status_rank, occurred_at
	FROM events
	ORDER BY shipment_key, occurred_at DESC, status_rank DESC, id DESC
), totals AS (
	SELECT shipment_key, count(*) AS event_count, min(occurred_at) AS first_seen_at,
		(array_agg(estimated_delivery ORDER BY occurred_at DESC, status_rank DESC, id DESC)
			FILTER (WHERE estimated_delivery IS NOT NULL))[1] AS estimated_delivery
	FROM events
	GROUP BY shipment_key
), merged_refs AS (
	-- jsonb keeps the last value of a repeated name: the newest event's.
	SELECT e.shipment_key, jsonb_object_agg(r.key, r.value ORDER BY e.occurred_at, e.status_rank, e.id) AS refs
	FROM events AS e CROSS JOIN LATERAL jsonb_each(e.refs) AS r
	GROUP BY e.shipment_key
)`

// insertSummaries writes the summaries as shipments rows.
const insertSummaries = `
INSERT INTO {schema}.shipments AS s (shipment_key, carrier, tracking_number,
	status, status_rank, status_at, last_event_id, delivered_at,
	estimated_delivery, refs, event_count, first_seen_at, updated_at)
SELECT l.shipment_key, l.carrier, l.tracking_number,
	l.status, l.status_rank, l.occurred_at, l.id,
	CASE WHEN l.status = 'delivered' THEN l.occurred_at END,
	t.estimated_delivery, coalesce(r.refs, '{}'), t.event_count, t.first_seen_at, now()
FROM latest AS l
JOIN totals AS t USING (shipment_key)
LEFT JOIN merged_refs AS r USING (shipment_key)`

// applySQL stores a batch and folds its new events into their shipments'
// rows. Folding is exact when every new event is newer than everything
// stored for the shipment, i.e. than its current latest event: the new
// latest event is the batch's, counts add up, the estimate and references of
// the new events override. That is the normal case (the normalizer emits in
// carrier-time order). Shipments where a new event is older than the current
// state are left to recomputeShipmentsSQL, and returned for it, with the
// number of new events.
const applySQL = `
WITH ` + insertEventsCTE + `,
events AS (
	SELECT * FROM inserted
),` + summarizeCTEs + `,
late AS (
	SELECT DISTINCT i.shipment_key
	FROM inserted AS i JOIN {schema}.shipments AS s USING (shipment_key)
	WHERE (i.occurred_at, i.status_rank, i.id) < (s.status_at, s.status_rank, s.last_event_id)
), folded AS (` + insertSummaries + `
	WHERE l.shipment_key NOT IN (SELECT shipment_key FROM late)
	ON CONFLICT (shipment_key) DO UPDATE SET
		status = excluded.status,
		status_rank = excluded.status_rank,
		status_at = excluded.status_at,
		last_event_id = excluded.last_event_id,
		delivered_at = excluded.delivered_at,
		estimated_delivery = coalesce(excluded.estimated_delivery, s.estimated_delivery),
		refs = s.refs || excluded.refs,
		event_count = s.event_count + excluded.event_count,
		first_seen_at = least(s.first_seen_at, excluded.first_seen_at),
		stalled_at = NULL,
		updated_at = excluded.updated_at
)
SELECT (SELECT count(*) FROM inserted), ARRAY(SELECT shipment_key FROM late)`

// recomputeShipmentsSQL rewrites the rows of the shipments $1 from all their
// stored events. A row that comes out unchanged is not rewritten; stalled_at
// survives while the latest event stays the same.
const recomputeShipmentsSQL = `
WITH events AS MATERIALIZED (
	SELECT shipment_key, carrier, tracking_number, id, status, status_rank,
		occurred_at, refs, estimated_delivery
	FROM {schema}.shipment_events
	WHERE shipment_key = ANY($1::text[])
),` + summarizeCTEs + insertSummaries + `
ON CONFLICT (shipment_key) DO UPDATE SET
	status = excluded.status,
	status_rank = excluded.status_rank,
	status_at = excluded.status_at,
	last_event_id = excluded.last_event_id,
	delivered_at = excluded.delivered_at,
	estimated_delivery = excluded.estimated_delivery,
	refs = excluded.refs,
	event_count = excluded.event_count,
	first_seen_at = excluded.first_seen_at,
	stalled_at = CASE WHEN s.last_event_id = excluded.last_event_id THEN s.stalled_at END,
	updated_at = excluded.updated_at
WHERE (s.status, s.status_rank, s.status_at, s.last_event_id, s.delivered_at,
		s.estimated_delivery, s.refs, s.event_count, s.first_seen_at)
	IS DISTINCT FROM (excluded.status, excluded.status_rank, excluded.status_at,
		excluded.last_event_id, excluded.delivered_at, excluded.estimated_delivery,
		excluded.refs, excluded.event_count, excluded.first_seen_at)`

// queries are the statements rendered for one schema.
type queries struct {
	apply, recomputeShipments string
}

func queriesFor(schema string) queries {
	r := schemaReplacer(schema)
	return queries{
		apply:              r.Replace(applySQL),
		recomputeShipments: r.Replace(recomputeShipmentsSQL),
	}
}

func schemaReplacer(schema string) *strings.Replacer {
	return strings.NewReplacer("{schema}", pgx.Identifier{schema}.Sanitize())
}
