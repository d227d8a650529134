// Package lookup reads the Postgres projection (waybill.shipments,
// waybill.shipment_events, waybill.shipment_refs) for people and tools:
// shipments newest first with keyset pagination, search by tracking number
// or reference, one shipment's timeline, and the counts an overview needs.
// It sits beside pkg/projection, which writes those tables; lookup never
// writes. The console's API uses it, and the `waybill` CLI's shipment
// commands can.
package lookup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Errors callers classify with errors.Is.
var (
	// ErrNotFound: no shipment has that key.
	ErrNotFound = errors.New("lookup: no such shipment")
	// ErrNotMigrated: the projection's tables do not exist (yet): the
	// projector creates them at its first start.
	ErrNotMigrated = errors.New("lookup: the projection is not migrated")
)

// MaxLimit bounds one page of List.
const MaxLimit = 1000

// DB is what Reader queries through; *pgxpool.Pool, *pgx.Conn and pgx.Tx
// satisfy it.
type DB interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Reader runs the read queries. It is safe for concurrent use when db is.
type Reader struct {
	db DB
}

// New returns a Reader over the live projection (schema waybill).
func New(db DB) *Reader { return &Reader{db: db} }

// Shipment is a row of waybill.shipments: a shipment's current state.
type Shipment struct {
	ShipmentKey    string          `json:"shipment_key"`
	Carrier        string          `json:"carrier"`
	TrackingNumber string          `json:"tracking_number"`
	Status         tracking.Status `json:"status"`
	// StatusAt is the carrier time (UTC) of the event that set Status.
	StatusAt          time.Time  `json:"status_at"`
	LastEventID       string     `json:"last_event_id"`
	DeliveredAt       *time.Time `json:"delivered_at,omitempty"`
	EstimatedDelivery string     `json:"estimated_delivery,omitempty"`
	// References is the union of the events' references (order ids,
	// partner refs, device ids): personal-adjacent data, never logged.
	References  map[string]string `json:"references"`
	EventCount  int               `json:"event_count"`
	FirstSeenAt time.Time         `json:"first_seen_at"`
	// StalledAt is when the projector alerted that the shipment stalled in
	// its current state; nil when it did not.
	StalledAt *time.Time `json:"stalled_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Event is a row of waybill.shipment_events: one carrier checkpoint as the
// projection stored it.
type Event struct {
	ID                  string             `json:"id"`
	Status              tracking.Status    `json:"status"`
	Substatus           string             `json:"substatus,omitempty"`
	CarrierStatus       string             `json:"carrier_status,omitempty"`
	Message             string             `json:"message,omitempty"`
	OccurredAt          time.Time          `json:"occurred_at"`
	OccurredAtPrecision tracking.Precision `json:"occurred_at_precision"`
	// LocalTime is the carrier's own wall-clock text as given; Timezone
	// the zone the instant was placed in, inferred from the location when
	// TimezoneInferred.
	LocalTime         string              `json:"local_time,omitempty"`
	Timezone          string              `json:"timezone,omitempty"`
	TimezoneSource    tracking.ZoneSource `json:"timezone_source,omitempty"`
	TimezoneInferred  bool                `json:"timezone_inferred"`
	Location          tracking.Location   `json:"location"`
	Source            string              `json:"source"`
	RawEventID        string              `json:"raw_event_id,omitempty"`
	References        map[string]string   `json:"references"`
	EstimatedDelivery string              `json:"estimated_delivery,omitempty"`
	Late              bool                `json:"late"`
	// ReceivedAt is when the projector stored the event.
	ReceivedAt time.Time `json:"received_at"`
}

// Filter selects shipments; zero fields select all.
type Filter struct {
	Status  tracking.Status // one status of the taxonomy
	Carrier string          // a normalized carrier code
	// Query matches a tracking number (normalized: upper case, no spaces)
	// or any reference value, exactly or as a prefix.
	Query string
}

// Position is a place in the newest-first order of List: the last shipment
// of a page.
type Position struct {
	StatusAt    time.Time
	ShipmentKey string
}

// Page is one page of List.
type Page struct {
	Shipments []Shipment
	// Next is where the next page starts; nil on the last page.
	Next *Position
}

const shipmentColumns = `s.shipment_key, s.carrier, s.tracking_number, s.status, s.status_at,
	s.last_event_id, s.delivered_at, s.estimated_delivery, s.refs, s.event_count,
	s.first_seen_at, s.stalled_at, s.updated_at`

// The clauses of listSQL. The order is newest first by status_at, ties by
// shipment_key ascending, which the indexes shipments_by_status_at,
// shipments_by_status and shipments_by_carrier serve as they are. A page
// after a position is a keyset condition on the same two columns, so rows
// with equal status_at are neither skipped nor repeated.
const (
	listSelect   = `SELECT ` + shipmentColumns + ` FROM waybill.shipments AS s WHERE true`
	whereStatus  = ` AND s.status = $%d`
	whereCarrier = ` AND s.carrier = $%d`
	// The first term is implied by the second; it is there because an
	// index can start its scan at it, so a deep page costs what the first
	// does instead of scanning every row before it.
	whereAfter = ` AND s.status_at <= $%[1]d AND (s.status_at < $%[1]d OR (s.status_at = $%[1]d AND s.shipment_key > $%[2]d))`
	// A prefix match is written as the range [prefix, prefixEnd(prefix)) of
	// shipment_refs' primary key (value, ...) and of
	// shipments_by_tracking_number, not as ^@: a range of parameters is what
	// a generic plan can take to an index (see List). The keys come back
	// as an array, so whatever the estimates the rows are read through the
	// primary key, and a key both halves find is still one row.
	whereQuery = ` AND s.shipment_key = ANY (ARRAY(
		SELECT r.shipment_key FROM waybill.shipment_refs AS r WHERE r.value >= $%[1]d AND r.value < $%[2]d
		UNION ALL
		SELECT t.shipment_key FROM waybill.shipments AS t WHERE t.tracking_number >= $%[3]d AND t.tracking_number < $%[4]d))`
	listOrder = ` ORDER BY s.status_at DESC, s.shipment_key LIMIT $%d`
)

// genericPlanSQL makes the statements after it in the same batch (one
// implicit transaction) use their generic plan: see List.
const genericPlanSQL = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`

// List returns up to limit shipments matching f, newest first by status_at
// (ties by shipment key), starting after after (nil: from the newest).
// Errors: ErrNotMigrated, or pgx's.
func (r *Reader) List(ctx context.Context, f Filter, after *Position, limit int) (Page, error) {
	if limit < 1 || limit > MaxLimit {
		return Page{}, fmt.Errorf("lookup: limit %d outside 1..%d", limit, MaxLimit)
	}
	var (
		sql  strings.Builder
		args []any
	)
	sql.WriteString(listSelect)
	arg := func(v any) int { args = append(args, v); return len(args) }
	if f.Status != "" {
		fmt.Fprintf(&sql, whereStatus, arg(string(f.Status)))
	}
	if f.Carrier != "" {
		fmt.Fprintf(&sql, whereCarrier, arg(f.Carrier))
	}
	q := strings.TrimSpace(f.Query)
	if q != "" {
		tn := tracking.NormalizeTrackingNumber(q)
		qEnd, ok1 := prefixEnd(q)
		tnEnd, ok2 := prefixEnd(tn)
		if !ok1 || !ok2 {
			return Page{}, nil // nothing a search should find: see prefixEnd
		}
		fmt.Fprintf(&sql, whereQuery, arg(q), arg(qEnd), arg(tn), arg(tnEnd))
	}
	if after != nil {
		fmt.Fprintf(&sql, whereAfter, arg(after.StatusAt), arg(after.ShipmentKey))
	}
	fmt.Fprintf(&sql, listOrder, arg(limit+1))

	var (
		rows pgx.Rows
		err  error
	)
	if q == "" {
		rows, err = r.db.Query(ctx, sql.String(), args...)
	} else {
		// Postgres plans a prepared statement afresh for each set of
		// values while that looks cheaper than its generic plan, and with
		// the default estimate of a range of parameters a search always
		// does: planning would be most of a search's cost. The generic
		// plan of whereQuery is the plan for every query (the ranges on
		// the indexes, the keys through the primary key, a sort of the few
		// rows), so it is asked for, for this statement only.
		b := &pgx.Batch{}
		b.Queue(genericPlanSQL)
		b.Queue(sql.String(), args...)
		br := r.db.SendBatch(ctx, b)
		defer br.Close()
		if _, err := br.Exec(); err != nil {
			return Page{}, classify("list shipments", err)
		}
		rows, err = br.Query()
	}
	if err != nil {
		return Page{}, classify("list shipments", err)
	}
	list, err := pgx.CollectRows(rows, scanShipment)
	if err != nil {
		return Page{}, classify("list shipments", err)
	}
	page := Page{Shipments: list}
	if len(list) > limit {
		page.Shipments = list[:limit]
		last := list[limit-1]
		page.Next = &Position{StatusAt: last.StatusAt, ShipmentKey: last.ShipmentKey}
	}
	return page, nil
}

// prefixEnd returns the least text above every text that starts with p in
// the bytewise order of the searched columns (COLLATE "C"), so that
// "v ^@ p" is "v >= p AND v < end". UTF-8 sorts bytewise as its code points
// do, so end is p with its last code point incremented (past the
// surrogates), after dropping trailing U+10FFFF, the last code point. When
// p is nothing but U+10FFFF (a noncharacter: no carrier or person writes
// it) no text is above it and ok is false.
func prefixEnd(p string) (end string, ok bool) {
	r := []rune(p)
	for i := len(r) - 1; i >= 0; i-- {
		switch {
		case r[i] == utf8.MaxRune:
			continue
		case r[i] == 0xD7FF: // the next, U+D800..U+DFFF, are surrogates
			r[i] = 0xE000
		default:
			r[i]++
		}
		return string(r[:i+1]), true
	}
	return "", false
}

// GetShipmentSQL reads one shipment by key ($1). Exported, like
// TimelineSQL, so a benchmark can run the statements Detail sends bare.
const GetShipmentSQL = `SELECT ` + shipmentColumns + ` FROM waybill.shipments AS s WHERE s.shipment_key = $1`

// Get returns the shipment with key (tracking.ShipmentKey). Errors:
// ErrNotFound, ErrNotMigrated, or pgx's.
func (r *Reader) Get(ctx context.Context, key string) (Shipment, error) {
	rows, err := r.db.Query(ctx, GetShipmentSQL, key)
	if err != nil {
		return Shipment{}, classify("get shipment", err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanShipment)
	if errors.Is(err, pgx.ErrNoRows) {
		return Shipment{}, ErrNotFound
	}
	if err != nil {
		return Shipment{}, classify("get shipment", err)
	}
	return s, nil
}

// TimelineSQL reads a shipment's events ($1: its key) oldest first by carrier time,
// ties by status rank then id: tracking.Before, the order SHIPMENTS emits
// them in. The index shipment_events_timeline serves it. The location's
// fields come as columns, and the usual empty references as NULL, because
// decoding JSON for each event was a large part of what reading a timeline
// costs (TestTimelineReadsEveryLocationField keeps the columns in step with
// tracking.Location).
const TimelineSQL = `
SELECT id, status, coalesce(substatus, ''), coalesce(carrier_status, ''), coalesce(message, ''),
	occurred_at, occurred_at_precision, coalesce(local_time, ''), coalesce(timezone, ''),
	coalesce(timezone_source, ''), timezone_inferred,
	coalesce(location->>'city', ''), coalesce(location->>'state', ''),
	coalesce(location->>'postal_code', ''), coalesce(location->>'country', ''),
	source, coalesce(raw_event_id, ''), nullif(refs, '{}'), coalesce(estimated_delivery, ''), late, received_at
FROM waybill.shipment_events
WHERE shipment_key = $1
ORDER BY occurred_at, status_rank, id`

// Timeline returns the events of the shipment with key, oldest first by
// carrier time; none when the shipment is unknown. Errors: ErrNotMigrated,
// or pgx's.
func (r *Reader) Timeline(ctx context.Context, key string) ([]Event, error) {
	rows, err := r.db.Query(ctx, TimelineSQL, key)
	if err != nil {
		return nil, classify("timeline", err)
	}
	events, err := appendEvents(nil, rows)
	if err != nil {
		return nil, classify("timeline", err)
	}
	return events, nil
}

// Detail returns what Get and Timeline return, in one round trip: both
// SELECTs go to Postgres as one pipelined batch, one write and one read
// instead of two of each. At the console's concurrency those system calls
// and wake-ups are a large part of what a lookup costs. Errors: ErrNotFound,
// ErrNotMigrated, or pgx's.
func (r *Reader) Detail(ctx context.Context, key string) (Shipment, []Event, error) {
	b := &pgx.Batch{}
	b.Queue(GetShipmentSQL, key)
	b.Queue(TimelineSQL, key)
	br := r.db.SendBatch(ctx, b)
	defer br.Close()

	rows, err := br.Query()
	if err != nil {
		return Shipment{}, nil, classify("get shipment", err)
	}
	s, err := pgx.CollectExactlyOneRow(rows, scanShipment)
	if errors.Is(err, pgx.ErrNoRows) {
		return Shipment{}, nil, ErrNotFound
	}
	if err != nil {
		return Shipment{}, nil, classify("get shipment", err)
	}
	rows, err = br.Query()
	if err != nil {
		return Shipment{}, nil, classify("timeline", err)
	}
	// The row counts the events: room for all of them at once.
	events, err := appendEvents(make([]Event, 0, max(s.EventCount, 0)), rows)
	if err != nil {
		return Shipment{}, nil, classify("timeline", err)
	}
	if err := br.Close(); err != nil {
		return Shipment{}, nil, classify("timeline", err)
	}
	return s, events, nil
}

// appendEvents appends the rows of TimelineSQL to events. It scans every
// row into one Event through one list of destinations: a timeline is the
// bulk of what a lookup allocates, and garbage collection is CPU the
// console shares with Postgres.
func appendEvents(events []Event, rows pgx.Rows) ([]Event, error) {
	defer rows.Close()
	var e Event
	dest := []any{&e.ID, &e.Status, &e.Substatus, &e.CarrierStatus, &e.Message,
		&e.OccurredAt, &e.OccurredAtPrecision, &e.LocalTime, &e.Timezone,
		&e.TimezoneSource, &e.TimezoneInferred,
		&e.Location.City, &e.Location.State, &e.Location.PostalCode, &e.Location.Country,
		&e.Source, &e.RawEventID, &e.References, &e.EstimatedDelivery, &e.Late, &e.ReceivedAt}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		e.OccurredAt, e.ReceivedAt = e.OccurredAt.UTC(), e.ReceivedAt.UTC()
		if e.References == nil {
			e.References = map[string]string{}
		}
		events = append(events, e)
	}
	return events, rows.Err()
}

func scanShipment(row pgx.CollectableRow) (Shipment, error) {
	var (
		s        Shipment
		estimate *string
	)
	err := row.Scan(&s.ShipmentKey, &s.Carrier, &s.TrackingNumber, &s.Status, &s.StatusAt,
		&s.LastEventID, &s.DeliveredAt, &estimate, &s.References, &s.EventCount,
		&s.FirstSeenAt, &s.StalledAt, &s.UpdatedAt)
	if estimate != nil {
		s.EstimatedDelivery = *estimate
	}
	if s.References == nil {
		s.References = map[string]string{}
	}
	s.StatusAt, s.FirstSeenAt, s.UpdatedAt = s.StatusAt.UTC(), s.FirstSeenAt.UTC(), s.UpdatedAt.UTC()
	s.DeliveredAt, s.StalledAt = utc(s.DeliveredAt), utc(s.StalledAt)
	return s, err
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Counts is the projection summarized for an overview.
type Counts struct {
	Total int64 `json:"total"`
	// ByStatus has every status of the taxonomy, zero or not.
	ByStatus  map[tracking.Status]int64 `json:"by_status"`
	ByCarrier map[string]int64          `json:"by_carrier"`
	// Stalled counts shipments the projector alerted as stalled in their
	// current state (stalled_at set; a newer event clears it).
	Stalled int64 `json:"stalled"`
}

// countsSQL reads the whole table once: grouping sets give the counts by
// status and by carrier in one scan.
const countsSQL = `
SELECT status, carrier, count(*), count(*) FILTER (WHERE stalled_at IS NOT NULL)
FROM waybill.shipments
GROUP BY GROUPING SETS ((status), (carrier), ())`

// Counts returns the shipments by status and by carrier, and the stalled
// ones. Errors: ErrNotMigrated, or pgx's.
func (r *Reader) Counts(ctx context.Context) (Counts, error) {
	c := Counts{ByStatus: make(map[tracking.Status]int64, len(tracking.Statuses)), ByCarrier: map[string]int64{}}
	for _, s := range tracking.Statuses {
		c.ByStatus[s] = 0
	}
	rows, err := r.db.Query(ctx, countsSQL)
	if err != nil {
		return Counts{}, classify("counts", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status, carrier *string
			n, stalled      int64
		)
		if err := rows.Scan(&status, &carrier, &n, &stalled); err != nil {
			return Counts{}, classify("counts", err)
		}
		switch {
		case status != nil:
			c.ByStatus[tracking.Status(*status)] = n
		case carrier != nil:
			c.ByCarrier[*carrier] = n
		default:
			c.Total, c.Stalled = n, stalled
		}
	}
	if err := rows.Err(); err != nil {
		return Counts{}, classify("counts", err)
	}
	return c, nil
}

// Rate is how many events the projection stored in one minute.
type Rate struct {
	Minute time.Time `json:"minute"` // the minute's start, UTC
	Events int64     `json:"events"`
}

// ratesSQL counts events by the minute the projector stored them, over
// [$1, $2).
const ratesSQL = `
SELECT date_trunc('minute', received_at), count(*)
FROM waybill.shipment_events
WHERE received_at >= $1 AND received_at < $2
GROUP BY 1`

// EventsPerMinute returns the events stored in each of the n whole minutes
// before until's minute ends (n entries, oldest first, zero-filled), by
// received_at. Errors: ErrNotMigrated, or pgx's.
func (r *Reader) EventsPerMinute(ctx context.Context, until time.Time, n int) ([]Rate, error) {
	end := until.UTC().Truncate(time.Minute).Add(time.Minute)
	start := end.Add(-time.Duration(n) * time.Minute)
	out := make([]Rate, n)
	for i := range out {
		out[i].Minute = start.Add(time.Duration(i) * time.Minute)
	}
	rows, err := r.db.Query(ctx, ratesSQL, start, end)
	if err != nil {
		return nil, classify("events per minute", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m     time.Time
			count int64
		)
		if err := rows.Scan(&m, &count); err != nil {
			return nil, classify("events per minute", err)
		}
		if i := int(m.UTC().Sub(start) / time.Minute); i >= 0 && i < n {
			out[i].Events = count
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify("events per minute", err)
	}
	return out, nil
}

// readySQL checks that every table lookup reads exists.
const readySQL = `
SELECT to_regclass('waybill.shipments') IS NOT NULL
	AND to_regclass('waybill.shipment_events') IS NOT NULL
	AND to_regclass('waybill.shipment_refs') IS NOT NULL`

// Ready reports whether the projection can be read: nil, ErrNotMigrated,
// or pgx's error when Postgres cannot be reached.
func (r *Reader) Ready(ctx context.Context) error {
	var ok bool
	if err := r.db.QueryRow(ctx, readySQL).Scan(&ok); err != nil {
		return fmt.Errorf("lookup: %w", err)
	}
	if !ok {
		return ErrNotMigrated
	}
	return nil
}

// undefinedTable is the SQLSTATE of a query on a table that does not exist.
const undefinedTable = "42P01"

func classify(what string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == undefinedTable || pgErr.Code == "3F000") {
		return fmt.Errorf("lookup: %s: %w", what, ErrNotMigrated)
	}
	return fmt.Errorf("lookup: %s: %w", what, err)
}

// FormatKey builds a shipment key from a carrier and a tracking number as a
// person types them ("UPS", "1z 999"): both normalized as the normalizer
// does.
func FormatKey(carrier, trackingNumber string) string {
	return tracking.ShipmentKey(tracking.NormalizeCarrier(carrier), tracking.NormalizeTrackingNumber(trackingNumber))
}
