package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/waybill-dev/waybill/pkg/lookup"
)

type streamStatus struct {
	Name      string           `json:"name"`
	Messages  uint64           `json:"messages"`
	Bytes     uint64           `json:"bytes"`
	Consumers []consumerStatus `json:"consumers"`
}

type consumerStatus struct {
	Name       string `json:"name"`
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
}

// cmdStatus is `waybill status`: streams, consumers, readiness, shipments by status.
func cmdStatus(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: waybill status [--json]\n\nStreams (messages, bytes, consumers and what they have pending), each service's readiness\n(WAYBILL_<SERVICE>_ADDR or the defaults) and shipments by status.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, js, closeNATS, err := connectNATS()
	if err != nil {
		return err
	}
	defer closeNATS()
	var streamsOut []streamStatus
	names := js.StreamNames(ctx)
	var list []string
	for n := range names.Name() {
		list = append(list, n)
	}
	sort.Strings(list)
	for _, n := range list {
		s, err := js.Stream(ctx, n)
		if err != nil {
			return err
		}
		st := streamStatus{Name: n, Messages: s.CachedInfo().State.Msgs, Bytes: s.CachedInfo().State.Bytes, Consumers: []consumerStatus{}}
		for ci := range s.ListConsumers(ctx).Info() {
			st.Consumers = append(st.Consumers, consumerStatus{Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending})
		}
		sort.Slice(st.Consumers, func(i, j int) bool { return st.Consumers[i].Name < st.Consumers[j].Name })
		streamsOut = append(streamsOut, st)
	}

	ready := map[string]string{}
	client := &http.Client{Timeout: 2 * time.Second}
	for _, name := range runServices {
		resp, err := client.Get(baseURL(name) + "/readyz")
		switch {
		case err != nil:
			ready[name] = "unreachable"
		case resp.StatusCode == 200:
			ready[name] = "ready"
		default:
			ready[name] = "not ready"
		}
		if resp != nil {
			resp.Body.Close()
		}
	}

	// Shipments by status: only the statuses some shipment is in
	// (lookup.Counts has every status of the taxonomy, zeros too); none when
	// Postgres cannot answer or the projection is not migrated.
	byStatus := map[string]int{}
	if db, err := connectDB(ctx); err == nil {
		if c, err := lookup.New(db).Counts(ctx); err == nil {
			for s, n := range c.ByStatus {
				if n > 0 {
					byStatus[string(s)] = int(n)
				}
			}
		}
		db.Close()
	}

	if *asJSON {
		return writeJSON(os.Stdout, map[string]any{"streams": streamsOut, "services": ready, "shipments_by_status": byStatus})
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tMESSAGES\tBYTES\tCONSUMER\tPENDING\tACK PENDING")
	for _, s := range streamsOut {
		fmt.Fprintf(tw, "%s\t%d\t%d\t\t\t\n", s.Name, s.Messages, s.Bytes)
		for _, c := range s.Consumers {
			fmt.Fprintf(tw, "\t\t\t%s\t%d\t%d\n", c.Name, c.Pending, c.AckPending)
		}
	}
	tw.Flush()
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tREADINESS")
	for _, name := range runServices {
		fmt.Fprintf(tw, "%s\t%s\n", name, ready[name])
	}
	tw.Flush()
	fmt.Println()
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tSHIPMENTS")
	var statuses []string
	for s := range byStatus {
		statuses = append(statuses, s)
	}
	sort.Strings(statuses)
	for _, s := range statuses {
		fmt.Fprintf(tw, "%s\t%d\n", s, byStatus[s])
	}
	return tw.Flush()
}

// cmdHealth is `waybill health <url>`: exit 0 when the URL answers 200.
// Container health checks use it (the images have no curl).
func cmdHealth(ctx context.Context, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: waybill health <url>")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: 3 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d", args[0], resp.StatusCode)
	}
	return nil
}
