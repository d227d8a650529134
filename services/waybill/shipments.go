package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// shipmentRow is a row of waybill.shipments as the CLI shows it.
type shipmentRow struct {
	ShipmentKey       string            `json:"shipment_key"`
	Carrier           string            `json:"carrier"`
	TrackingNumber    string            `json:"tracking_number"`
	Status            string            `json:"status"`
	StatusAt          time.Time         `json:"status_at"`
	DeliveredAt       *time.Time        `json:"delivered_at,omitempty"`
	EstimatedDelivery *string           `json:"estimated_delivery,omitempty"`
	EventCount        int               `json:"event_count"`
	Refs              map[string]string `json:"references,omitempty"`
}

type eventRow struct {
	ID               string    `json:"id"`
	Status           string    `json:"status"`
	CarrierStatus    *string   `json:"carrier_status"`
	Message          *string   `json:"message"`
	OccurredAt       time.Time `json:"occurred_at"`
	LocalTime        *string   `json:"local_time"`
	Timezone         *string   `json:"timezone"`
	TimezoneInferred bool      `json:"timezone_inferred"`
	Source           string    `json:"source"`
	Late             bool      `json:"late"`
	City             *string   `json:"city"`
	State            *string   `json:"state"`
}

const listShipmentsSQL = `
SELECT shipment_key, carrier, tracking_number, status, status_at, delivered_at, estimated_delivery, event_count, refs
FROM waybill.shipments
WHERE ($1 = '' OR status = $1) AND ($2 = '' OR carrier = $2)
ORDER BY status_at DESC, shipment_key
LIMIT $3`

const getShipmentSQL = `
SELECT shipment_key, carrier, tracking_number, status, status_at, delivered_at, estimated_delivery, event_count, refs
FROM waybill.shipments WHERE shipment_key = $1`

// The timeline: oldest first by carrier time, ties by rank then id (the
// order the normalizer emits).
const timelineSQL = `
SELECT id, status, carrier_status, message, occurred_at, local_time, timezone, timezone_inferred, source, late,
       location->>'city', location->>'state'
FROM waybill.shipment_events WHERE shipment_key = $1
ORDER BY occurred_at, status_rank, id`

func scanShipment(row pgx.Row) (shipmentRow, error) {
	var s shipmentRow
	err := row.Scan(&s.ShipmentKey, &s.Carrier, &s.TrackingNumber, &s.Status, &s.StatusAt, &s.DeliveredAt,
		&s.EstimatedDelivery, &s.EventCount, &s.Refs)
	return s, err
}

func listShipments(ctx context.Context, db *pgxpool.Pool, status, carrier string, limit int) ([]shipmentRow, error) {
	rows, err := db.Query(ctx, listShipmentsSQL, status, carrier, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []shipmentRow
	for rows.Next() {
		s, err := scanShipment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func connectDB(ctx context.Context) (*pgxpool.Pool, error) {
	url := envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/waybill?sslmode=disable")
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return db, nil
}

// cmdShipments is `waybill shipments [--status S] [--carrier C]`.
func cmdShipments(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("shipments", flag.ContinueOnError)
	status := fs.String("status", "", "only shipments in this status (e.g. failed_attempt)")
	carrier := fs.String("carrier", "", "only this carrier (e.g. ups)")
	limit := fs.Int("limit", 50, "at most this many, newest first")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: waybill shipments [--status S] [--carrier C] [--limit N] [--json]\n\nShipments by their latest carrier time, newest first.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := connectDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := listShipments(ctx, db, *status, strings.ToLower(*carrier), *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, map[string]any{"shipments": orEmpty(list)})
	}
	printShipments(os.Stdout, list)
	return nil
}

func printShipments(w io.Writer, list []shipmentRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SHIPMENT\tSTATUS\tSTATUS AT (UTC)\tEVENTS\tEST. DELIVERY")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.ShipmentKey, s.Status, s.StatusAt.UTC().Format("2006-01-02 15:04"), s.EventCount, deref(s.EstimatedDelivery))
	}
	tw.Flush()
}

// cmdShipment is `waybill shipment <carrier:tracking>`.
func cmdShipment(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("shipment", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: waybill shipment [--json] <carrier:tracking>\n\nA shipment's current state and its event timeline, oldest first; late events are marked.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 || !strings.Contains(fs.Arg(0), ":") {
		fs.Usage()
		return errUsage
	}
	key := fs.Arg(0)
	if c, t, ok := strings.Cut(key, ":"); ok {
		key = strings.ToLower(c) + ":" + strings.ToUpper(strings.Join(strings.Fields(t), ""))
	}
	db, err := connectDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := scanShipment(db.QueryRow(ctx, getShipmentSQL, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("no shipment %s", key)
	}
	if err != nil {
		return err
	}
	rows, err := db.Query(ctx, timelineSQL, key)
	if err != nil {
		return err
	}
	events, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventRow, error) {
		var e eventRow
		err := r.Scan(&e.ID, &e.Status, &e.CarrierStatus, &e.Message, &e.OccurredAt, &e.LocalTime, &e.Timezone,
			&e.TimezoneInferred, &e.Source, &e.Late, &e.City, &e.State)
		return e, err
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, map[string]any{"shipment": s, "events": orEmpty(events)})
	}
	printShipment(os.Stdout, s, events)
	return nil
}

func printShipment(w io.Writer, s shipmentRow, events []eventRow) {
	fmt.Fprintf(w, "%s  %s since %s UTC  (%d events)\n", s.ShipmentKey, strings.ToUpper(s.Status), s.StatusAt.UTC().Format("2006-01-02 15:04"), s.EventCount)
	if s.EstimatedDelivery != nil {
		fmt.Fprintf(w, "estimated delivery %s\n", *s.EstimatedDelivery)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OCCURRED (UTC)\tCARRIER LOCAL TIME\tSTATUS\tCODE\tWHERE\tSOURCE\tMESSAGE")
	for _, e := range events {
		local := deref(e.LocalTime)
		if z := deref(e.Timezone); z != "" && !strings.HasSuffix(local, z) {
			local += " " + z
			if e.TimezoneInferred {
				local += " (inferred)"
			}
		}
		status := e.Status
		if e.Late {
			status += " [late]"
		}
		where := strings.Trim(deref(e.City)+", "+deref(e.State), ", ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.OccurredAt.UTC().Format("2006-01-02 15:04:05"), local, status,
			deref(e.CarrierStatus), where, e.Source, deref(e.Message))
	}
	tw.Flush()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var errUsage = errors.New("usage")
