package projector

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// AlertSource is the CloudEvent source of the projector's alerts.
const AlertSource = "/waybill/projector"

// Clock is the stall detector's source of time: tests move it by days.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Option configures Run.
type Option func(*options)

type options struct {
	clock Clock
}

// WithClock sets the clock stall detection reads (tests).
func WithClock(c Clock) Option { return func(o *options) { o.clock = c } }

// stallPage is how many stalled shipments one scan step alerts and marks.
const stallPage = 500

// stallLock keeps two replicas from scanning at once (they would only
// publish duplicates, which ALERTS drops, but the work is wasted). It is a
// two-key advisory lock in its own class, apart from the per-shipment
// locks of pkg/projection.
var stallLock = [2]int32{0x77627374, 1} // "wbst"

// stallCandidatesSQL pages through the shipments that are stalled and not
// yet alerted, oldest first. Its predicate is the one of the partial index
// shipments_stall_scan (migrations/001_projection.sql), which a test keeps
// in step with tracking.Status.Terminal.
const stallCandidatesSQL = `
SELECT shipment_key, carrier, tracking_number, status, status_at, last_event_id, refs
FROM waybill.shipments
WHERE stalled_at IS NULL
	AND status NOT IN ('delivered', 'returned', 'failed', 'cancelled', 'expired')
	AND status_at < $1
	AND (status_at, shipment_key) > ($2, $3)
ORDER BY status_at, shipment_key
LIMIT $4`

// markStalledSQL marks the shipments alerted ($1 keys, $2 the last event
// each alert named) as of $3, unless an event moved them meanwhile: a
// newer event clears stalled_at, so the next silence alerts again.
const markStalledSQL = `
UPDATE waybill.shipments AS s SET stalled_at = $3
FROM unnest($1::text[], $2::text[]) AS m(shipment_key, last_event_id)
WHERE s.shipment_key = m.shipment_key
	AND s.last_event_id = m.last_event_id
	AND s.stalled_at IS NULL`

// stallDetector periodically alerts on ALERTS about every shipment in a
// non-terminal status without an event for StallAfter (by carrier time),
// once per stall: the alert's id is derived from the shipment and its last
// event (ALERTS drops a repeat within its duplicate window) and the row is
// marked stalled_at (no repeat after it) once the alert is stored.
type stallDetector struct {
	pool  *pgxpool.Pool
	js    jetstream.JetStream
	cons  jetstream.Consumer
	clock Clock
	after time.Duration
	// maxLag is how far behind SHIPMENTS the projector may be for a scan
	// to run: a shipment whose news is still in the backlog is not stalled.
	maxLag  uint64
	writing func() bool
	m       *metrics
	log     zerolog.Logger
}

// run scans every interval until ctx ends.
func (d *stallDetector) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, skipped, err := d.scan(ctx)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			d.m.stallScans.WithLabelValues("failed").Inc()
			d.log.Warn().Err(err).Int("alerted", n).Msg("stall scan failed")
		case skipped != "":
			d.m.stallScans.WithLabelValues("skipped").Inc()
			d.log.Debug().Str("why", skipped).Msg("stall scan skipped")
		default:
			d.m.stallScans.WithLabelValues("done").Inc()
			if n > 0 {
				d.log.Info().Int("alerted", n).Msg("stalled shipments alerted")
			}
		}
	}
}

// stalledRow is a shipment the scan found stalled.
type stalledRow struct {
	ShipmentKey    string
	Carrier        string
	TrackingNumber string
	Status         tracking.Status
	StatusAt       time.Time
	LastEventID    string
	Refs           map[string]string
}

// scan alerts on every stalled shipment not alerted yet and returns how
// many it alerted, or why it did not scan.
func (d *stallDetector) scan(ctx context.Context) (alerted int, skipped string, err error) {
	if !d.writing() {
		return 0, "postgres writes failing", nil
	}
	info, err := d.cons.Info(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("consumer info: %w", err)
	}
	if info.NumPending > d.maxLag {
		return 0, fmt.Sprintf("projection behind by %d events", info.NumPending), nil
	}
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return 0, "", err
	}
	defer conn.Release()
	var locked bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", stallLock[0], stallLock[1]).Scan(&locked); err != nil {
		return 0, "", err
	}
	if !locked {
		return 0, "another replica is scanning", nil
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1, $2)", stallLock[0], stallLock[1]); uerr != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // the lock goes with the session
		}
	}()

	now := d.clock.Now()
	cutoff := now.Add(-d.after)
	var afterAt time.Time
	var afterKey string
	for {
		rows, err := conn.Query(ctx, stallCandidatesSQL, cutoff, afterAt, afterKey, stallPage)
		if err != nil {
			return alerted, "", err
		}
		page, err := pgx.CollectRows(rows, pgx.RowToStructByPos[stalledRow])
		if err != nil {
			return alerted, "", err
		}
		if len(page) == 0 {
			return alerted, "", nil
		}
		keys, ids := d.publish(ctx, page, now)
		if len(keys) > 0 {
			if _, err := conn.Exec(ctx, markStalledSQL, keys, ids, now); err != nil {
				// Alerts stored but not marked: the next scan sends them
				// again and ALERTS drops them within its duplicate window.
				return alerted, "", fmt.Errorf("mark stalled: %w", err)
			}
		}
		alerted += len(keys)
		if len(page) < stallPage {
			return alerted, "", nil
		}
		last := page[len(page)-1]
		afterAt, afterKey = last.StatusAt, last.ShipmentKey
	}
}

// publish stores one alert per row and returns the rows whose alert has
// its PubAck, as keys and last event ids.
func (d *stallDetector) publish(ctx context.Context, page []stalledRow, now time.Time) (keys, ids []string) {
	type pending struct {
		row *stalledRow
		f   jetstream.PubAckFuture
	}
	var inflight []pending
	for i := range page {
		r := &page[i]
		msg, err := StalledMessage(&tracking.Stalled{
			ShipmentKey: r.ShipmentKey, Carrier: r.Carrier, TrackingNumber: r.TrackingNumber,
			Status: r.Status, LastEventAt: r.StatusAt, LastEventID: r.LastEventID,
			StalledAfter: d.after, DetectedAt: now, References: r.Refs,
		})
		if err == nil {
			var f jetstream.PubAckFuture
			if f, err = d.js.PublishMsgAsync(msg, jetstream.WithMsgID(msg.Header.Get(nats.MsgIdHdr))); err == nil {
				inflight = append(inflight, pending{row: r, f: f})
				continue
			}
		}
		d.log.Warn().Err(err).Str("shipment_key", r.ShipmentKey).Str("event_id", r.LastEventID).Msg("stall alert not published")
	}
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, p := range inflight {
		select {
		case ack := <-p.f.Ok():
			keys = append(keys, p.row.ShipmentKey)
			ids = append(ids, p.row.LastEventID)
			if !ack.Duplicate {
				d.m.stalled.Inc()
			}
		case err := <-p.f.Err():
			d.log.Warn().Err(err).Str("shipment_key", p.row.ShipmentKey).Str("event_id", p.row.LastEventID).Msg("stall alert not stored")
		case <-wait.Done():
			return keys, ids
		}
	}
	return keys, ids
}

// StalledMessage encodes a stalled-shipment alert for ALERTS: a
// dev.waybill.shipment.stalled.v1 CloudEvent in binary mode on
// alerts.stalled.<carrier>.<tracking>, whose id (and Nats-Msg-Id) is
// derived from the shipment and its last event, so one stall is one alert.
func StalledMessage(s *tracking.Stalled) (*nats.Msg, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("projector: encode stall alert of %s: %w", s.ShipmentKey, err)
	}
	id := providers.HashID([]byte(tracking.StalledType), []byte(s.ShipmentKey), []byte(s.LastEventID))
	ce := event.New(cloudevent.SpecVersion)
	ce.SetID(id)
	ce.SetSource(AlertSource)
	ce.SetType(tracking.StalledType)
	ce.SetSubject(s.ShipmentKey)
	ce.SetTime(s.DetectedAt)
	ce.SetDataContentType(cloudevent.ContentTypeJSON)
	ce.DataEncoded = data
	msg, err := cloudevent.ToMsg(s.Subject(), ce)
	if err != nil {
		return nil, fmt.Errorf("projector: stall alert of %s: %w", s.ShipmentKey, err)
	}
	msg.Header.Set(nats.MsgIdHdr, id)
	return msg, nil
}
