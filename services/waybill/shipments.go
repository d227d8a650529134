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

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// listShipments is up to limit shipments matching f, newest first by their
// latest carrier time (lookup's order), read a page of at most
// lookup.MaxLimit at a time so --limit has no upper bound.
func listShipments(ctx context.Context, r *lookup.Reader, f lookup.Filter, limit int) ([]lookup.Shipment, error) {
	if limit < 0 {
		return nil, fmt.Errorf("--limit %d: must not be negative", limit)
	}
	var (
		out   []lookup.Shipment
		after *lookup.Position
	)
	for len(out) < limit {
		page, err := r.List(ctx, f, after, min(limit-len(out), lookup.MaxLimit))
		if err != nil {
			return nil, err
		}
		out = append(out, page.Shipments...)
		if page.Next == nil {
			break
		}
		after = page.Next
	}
	return out, nil
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
	f := lookup.Filter{Status: tracking.Status(*status), Carrier: tracking.NormalizeCarrier(*carrier)}
	list, err := listShipments(ctx, lookup.New(db), f, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, map[string]any{"shipments": orEmpty(list)})
	}
	printShipments(os.Stdout, list)
	return nil
}

func printShipments(w io.Writer, list []lookup.Shipment) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SHIPMENT\tSTATUS\tSTATUS AT (UTC)\tEVENTS\tEST. DELIVERY")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", s.ShipmentKey, s.Status, s.StatusAt.UTC().Format("2006-01-02 15:04"), s.EventCount, s.EstimatedDelivery)
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
	c, t, _ := strings.Cut(fs.Arg(0), ":")
	key := lookup.FormatKey(c, t)
	db, err := connectDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	r := lookup.New(db)
	s, err := r.Get(ctx, key)
	if errors.Is(err, lookup.ErrNotFound) {
		return fmt.Errorf("no shipment %s", key)
	}
	if err != nil {
		return err
	}
	events, err := r.Timeline(ctx, key)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, map[string]any{"shipment": s, "events": orEmpty(events)})
	}
	printShipment(os.Stdout, s, events)
	return nil
}

func printShipment(w io.Writer, s lookup.Shipment, events []lookup.Event) {
	fmt.Fprintf(w, "%s  %s since %s UTC  (%d events)\n", s.ShipmentKey, strings.ToUpper(string(s.Status)), s.StatusAt.UTC().Format("2006-01-02 15:04"), s.EventCount)
	if s.EstimatedDelivery != "" {
		fmt.Fprintf(w, "estimated delivery %s\n", s.EstimatedDelivery)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OCCURRED (UTC)\tCARRIER LOCAL TIME\tSTATUS\tCODE\tWHERE\tSOURCE\tMESSAGE")
	for _, e := range events {
		local := e.LocalTime
		if z := e.Timezone; z != "" && !strings.HasSuffix(local, z) {
			local += " " + z
			if e.TimezoneInferred {
				local += " (inferred)"
			}
		}
		status := string(e.Status)
		if e.Late {
			status += " [late]"
		}
		where := strings.Trim(e.Location.City+", "+e.Location.State, ", ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.OccurredAt.UTC().Format("2006-01-02 15:04:05"), local, status,
			e.CarrierStatus, where, e.Source, e.Message)
	}
	tw.Flush()
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
