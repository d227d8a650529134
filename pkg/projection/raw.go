package projection

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// The raw batched upsert is the Postgres limit the benchmarks divide the
// projection's figures by (pkg/projection's BenchmarkRawUpsert,
// services/projector's BenchmarkReplay, loadgen's replay limit): the same
// event rows Apply writes, inserted, and each shipment's row upserted from
// its batch's latest event, in one statement, with no history read, lock,
// guard or reference index. It is not a way to write the projection: the
// rows it leaves are not what Apply would (counts, estimates and references
// are not folded, late events are not recomputed).

// rawUpsertSQL is the limit's statement; its parameters are eventBatch.args.
const rawUpsertSQL = `
WITH b AS (
	SELECT * FROM ` + batchRows + `
), inserted AS (
	INSERT INTO {schema}.shipment_events (` + eventColumns + `)
	SELECT id, shipment_key, carrier, tracking_number, status, status_rank,
		substatus, carrier_status, message, occurred_at, occurred_at_precision,
		local_time, timezone, timezone_source, timezone_inferred, location::jsonb,
		source, raw_event_id, refs::jsonb, estimated_delivery, late, $22
	FROM b
	ON CONFLICT (id) DO NOTHING
)
INSERT INTO {schema}.shipments AS s (shipment_key, carrier, tracking_number, status,
	status_rank, status_at, last_event_id, estimated_delivery, refs, event_count,
	first_seen_at)
SELECT DISTINCT ON (shipment_key) shipment_key, carrier, tracking_number, status,
	status_rank, occurred_at, id, estimated_delivery, refs::jsonb, 1, occurred_at
FROM b
ORDER BY shipment_key, occurred_at DESC
ON CONFLICT (shipment_key) DO UPDATE SET
	status = excluded.status, status_rank = excluded.status_rank,
	status_at = excluded.status_at, last_event_id = excluded.last_event_id,
	estimated_delivery = excluded.estimated_delivery, refs = excluded.refs,
	event_count = s.event_count + 1, updated_at = now()`

// rawUpsertLive is rawUpsertSQL for the live schema, rendered once.
var rawUpsertLive = schemaReplacer(Schema).Replace(rawUpsertSQL)

// RawBatch is one batch of events prepared for RawUpsert: the parameters
// Apply would send for them, so the limit writes the same rows the same way.
// Preparing is kept apart from writing so a benchmark can leave it out of
// the time it measures.
type RawBatch struct {
	args []any
	n    int
}

// NewRawBatch prepares events (checked as Apply checks them; repeated ids
// written once) with receivedAt as their received_at.
func NewRawBatch(events []tracking.Event, receivedAt time.Time) (RawBatch, error) {
	b, err := newEventBatch(events)
	if err != nil {
		return RawBatch{}, err
	}
	return RawBatch{args: b.args(receivedAt), n: len(b.ids)}, nil
}

// RawBatches splits events into batches of at most size (> 0), each
// prepared by NewRawBatch.
func RawBatches(events []tracking.Event, size int, receivedAt time.Time) ([]RawBatch, error) {
	if size < 1 {
		return nil, fmt.Errorf("projection: raw batch size %d", size)
	}
	var out []RawBatch
	for from := 0; from < len(events); from += size {
		b, err := NewRawBatch(events[from:min(from+size, len(events))], receivedAt)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Len is the number of events in the batch.
func (b RawBatch) Len() int { return b.n }

// RawUpsert is the benchmarks' raw Postgres limit: it writes batches into
// schema's (migrated) tables with the bare upsert statement, one statement a
// batch, from writers goroutines at once (at least one), each taking the
// next batch not yet taken. It returns when every batch is written or,
// after the others finish theirs, with the first error; a writer stops at
// its error.
func RawUpsert(ctx context.Context, pool *pgxpool.Pool, schema string, batches []RawBatch, writers int) error {
	sql := rawUpsertLive
	if schema != Schema {
		sql = schemaReplacer(schema).Replace(rawUpsertSQL)
	}
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	for range max(writers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < len(batches); i = int(next.Add(1)) - 1 {
				if _, err := pool.Exec(ctx, sql, batches[i].args...); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("projection: raw upsert into %s: %w", schema, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
