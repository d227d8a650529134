package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// BenchmarkConsoleSpeed is issue 9's speed benchmark: N shipments and 10N
// events COPYed into a fresh migrated database, then the console's
// shipment lookup and reference search at 50 concurrent clients, each next
// to the same SELECTs pkg/lookup issues run bare through pgxpool at the same
// concurrency over the same rows, the two sides taking turns. It also weighs
// the shipment page.
//
// Run it once per invocation (-benchtime 1x): the seed dominates.
//
//	WAYBILL_CONSOLE_BENCH_SHIPMENTS  shipments to seed (default 1000000)
//	WAYBILL_CONSOLE_BENCH_REQUESTS   requests measured per side and operation (default 20000)
//	WAYBILL_CONSOLE_BENCH_ONLY       run only this operation (lookup, search
//	    or search-prefix), e.g. to profile it
//	WAYBILL_CONSOLE_BENCH_DATABASE_URL  an existing database to use and keep
//	    instead of a fresh one: seeded when empty, reused as it is when it
//	    holds the same number of shipments (for profiling without the
//	    minutes of seeding; the figures to publish come from a fresh one)
func BenchmarkConsoleSpeed(b *testing.B) {
	n := benchEnvInt(b, "WAYBILL_CONSOLE_BENCH_SHIPMENTS", 1_000_000)
	requests := benchEnvInt(b, "WAYBILL_CONSOLE_BENCH_REQUESTS", 20_000)
	const (
		clients  = 50
		poolSize = 8 // the console's default WAYBILL_CONSOLE_DB_CONNS; the bare pool gets the same
	)
	ctx := context.Background()

	dbURL := os.Getenv("WAYBILL_CONSOLE_BENCH_DATABASE_URL")
	if dbURL == "" {
		dbURL = pgtest.Database(b)
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	if err := projection.Migrate(ctx, conn); err != nil {
		b.Fatal(err)
	}
	var have, haveEvents int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM waybill.shipments), (SELECT count(*) FROM waybill.shipment_events)").Scan(&have, &haveEvents); err != nil {
		b.Fatal(err)
	}
	conn.Close(ctx)

	var seedTook time.Duration
	switch {
	case have == 0 && haveEvents == 0:
		start := time.Now()
		if err := seedSpeed(ctx, dbURL, n); err != nil {
			b.Fatal(err)
		}
		seedTook = time.Since(start)
		b.Logf("seeded %d shipments, %d events in %s", n, 10*n, seedTook.Round(time.Millisecond))
	case have == n && haveEvents == 10*n:
		b.Logf("reusing the %d shipments already in the database", n)
	default:
		b.Fatalf("the database holds %d shipments and %d events, not %d and %d: use an empty one", have, haveEvents, n, 10*n)
	}

	bareCfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	bareCfg.MaxConns = poolSize
	bare, err := pgxpool.NewWithConfig(ctx, bareCfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bare.Close)

	base, token := startSpeedConsole(b, dbURL, poolSize)
	// One keep-alive connection per client, as a browser keeps one; the
	// pool hands each request one that is free.
	conns := make(chan *benchConn, clients)
	for range clients {
		c := &benchConn{host: strings.TrimPrefix(base, "http://"), token: token}
		b.Cleanup(c.close)
		conns <- c
	}
	get := func(path string) error {
		c := <-conns
		defer func() { conns <- c }()
		return c.get(path)
	}

	type op struct {
		name, target string
		short        string // in the CPU table, the metrics and WAYBILL_CONSOLE_BENCH_ONLY
		console      func(i int) error
		bare         func(i int) error
	}
	seed := uint64(time.Now().UnixNano())
	pick := func(i int) int { // the same shipment for request i of the bare and the console phase
		r := rand.New(rand.NewPCG(seed, uint64(i)))
		return r.IntN(n)
	}
	prefixes := max(n/10, 1) // "ORD-" + all but the last digit: ~10 shipments each
	ops := []op{
		{
			name: "lookup `GET /api/v1/shipments/{carrier}/{tracking}`", target: "p99 < 10 ms", short: "lookup",
			console: func(i int) error {
				sh := speedShipment(pick(i))
				return get(apiPrefix + "/shipments/" + sh.carrier + "/" + url.PathEscape(sh.tracking))
			},
			bare: func(i int) error { return bareLookup(ctx, bare, speedShipment(pick(i)).key()) },
		},
		{
			name: "search `?q=<order id>` (exact, 1 hit)", target: "p99 < 50 ms", short: "search",
			console: func(i int) error {
				return get(apiPrefix + "/shipments?q=" + url.QueryEscape(speedShipment(pick(i)).orderID()))
			},
			bare: func(i int) error { return bareSearch(ctx, bare, speedShipment(pick(i)).orderID()) },
		},
		{
			name: "search `?q=<order id prefix>` (~10 hits)", target: "p99 < 50 ms", short: "search-prefix",
			console: func(i int) error {
				q := speedShipment(pick(i) % (prefixes * 10)).orderID()
				return get(apiPrefix + "/shipments?q=" + url.QueryEscape(q[:len(q)-1]))
			},
			bare: func(i int) error {
				q := speedShipment(pick(i) % (prefixes * 10)).orderID()
				return bareSearch(ctx, bare, q[:len(q)-1])
			},
		},
	}

	b.ResetTimer()
	var table strings.Builder
	fmt.Fprintf(&table, "\nConsole speed: %d shipments, %d events (seeded by COPY in %s), %d concurrent clients, %d requests per side and operation in %d alternating rounds, Postgres pool %d (console and bare)\n\n",
		n, 10*n, seedTook.Round(time.Second), clients, rounds*(requests/rounds), rounds, poolSize)
	table.WriteString("| operation | bare pgx p50 | bare pgx p99 | console p50 | console p99 | console p99 / bare p99 | target: ratio ≤ 2x | target: absolute |\n")
	table.WriteString("|---|---:|---:|---:|---:|---:|---|---|\n")
	var cpuTable strings.Builder
	cpuTable.WriteString("\nWhere the CPU goes (per request; this process is the 50 clients plus the console or the bare pool; Postgres is the backends serving this database):\n\n")
	cpuTable.WriteString("| phase | requests/s | this process µs | Postgres µs |\n|---|---:|---:|---:|\n")
	for _, o := range ops {
		if only := os.Getenv("WAYBILL_CONSOLE_BENCH_ONLY"); only != "" && o.short != only {
			continue
		}
		// Each side is warmed up, then the two take turns in rounds, the
		// first of a round alternating, so that a burst of load from
		// elsewhere on the shared machine, and the cache one side warms with
		// the same rows for the other, fall on both alike.
		sides := [2]measured{{side: "bare", do: o.bare}, {side: "console", do: o.console}}
		for _, s := range sides {
			if _, err := runClients(clients, requests/10, s.do); err != nil {
				b.Fatalf("%s %s: %v", o.name, s.side, err)
			}
		}
		chunk := requests / rounds
		for r := range rounds {
			for k := range sides {
				s := &sides[(r+k)%2]
				before := sampleCPU(ctx, bare)
				lat, err := runClients(clients, chunk, func(i int) error { return s.do(r*chunk + i) })
				if err != nil {
					b.Fatalf("%s %s: %v", o.name, s.side, err)
				}
				proc, pg, took := sampleCPU(ctx, bare).since(before)
				s.lat = append(s.lat, lat...)
				s.proc, s.pg, s.took = s.proc+proc, s.pg+pg, s.took+took
			}
		}
		for k := range sides {
			s := &sides[k]
			slices.Sort(s.lat)
			n := float64(len(s.lat))
			fmt.Fprintf(&cpuTable, "| %s, %s | %.0f | %.0f | %.0f |\n", o.short, s.side,
				n/s.took.Seconds(), float64(s.proc.Microseconds())/n, float64(s.pg.Microseconds())/n)
		}
		bareLat, conLat := sides[0].lat, sides[1].lat
		bp50, bp99 := pct(bareLat, 50), pct(bareLat, 99)
		cp50, cp99 := pct(conLat, 50), pct(conLat, 99)
		ratio := float64(cp99) / float64(bp99)
		limit := 10 * time.Millisecond
		if strings.HasPrefix(o.name, "search") {
			limit = 50 * time.Millisecond
		}
		fmt.Fprintf(&table, "| %s | %s | %s | %s | %s | %.2fx | %s | %s %s |\n",
			o.name, ms(bp50), ms(bp99), ms(cp50), ms(cp99), ratio,
			verdict(ratio <= 2), o.target, verdict(cp99 < limit))
		b.ReportMetric(float64(cp99)/1e6, o.short+"-p99-ms")
		b.ReportMetric(ratio, o.short+"-p99-ratio")
	}
	table.WriteString(cpuTable.String())

	weight, files, err := pageWeight("web/static")
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(&table, "\nPage weight of the shipment page (web/static index.html + %d JS and CSS files, uncompressed): %.1f KB (%d bytes); target < 100 KB: %s\n",
		files-1, float64(weight)/1024, weight, verdict(weight < 100*1024))
	b.ReportMetric(float64(weight)/1024, "page-KB")
	// To stdout: go test cuts a benchmark's b.Log output at 10 lines.
	fmt.Print(table.String())
}

// rounds is how many turns each side takes in a measured phase.
const rounds = 4

// measured is one side of a phase: its requests, and what they took.
type measured struct {
	side           string
	do             func(i int) error
	lat            []time.Duration
	proc, pg, took time.Duration
}

// speedRow is shipment i of the seed; everything about it is a function of i.
type speedRow struct {
	i                 int
	carrier, tracking string
}

var speedCarriers = []string{"ups", "usps", "fedex", "dhl", "ups", "usps", "ups", "fedex"}

func speedShipment(i int) speedRow {
	c := speedCarriers[i%len(speedCarriers)]
	var tn string
	switch c {
	case "ups":
		tn = fmt.Sprintf("1Z%06X03%08d", mix(uint64(i))&0xFFFFFF, i)
	case "usps":
		tn = fmt.Sprintf("9400%08d%010d", mix(uint64(i))%100000000, i)
	case "fedex":
		tn = fmt.Sprintf("77%010d", i)
	default:
		tn = fmt.Sprintf("JD01%012d", i)
	}
	return speedRow{i: i, carrier: c, tracking: tn}
}

func (s speedRow) key() string     { return tracking.ShipmentKey(s.carrier, s.tracking) }
func (s speedRow) orderID() string { return fmt.Sprintf("ORD-%09d", s.i) }

func mix(x uint64) uint64 { // splitmix64
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

var speedCities = []tracking.Location{
	{City: "Louisville", State: "KY", PostalCode: "40209", Country: "US"},
	{City: "Memphis", State: "TN", PostalCode: "38118", Country: "US"},
	{City: "Chicago", State: "IL", PostalCode: "60666", Country: "US"},
	{City: "Atlanta", State: "GA", PostalCode: "30320", Country: "US"},
	{City: "Dallas", State: "TX", PostalCode: "75261", Country: "US"},
	{City: "Ontario", State: "CA", PostalCode: "91761", Country: "US"},
	{City: "Newark", State: "NJ", PostalCode: "07114", Country: "US"},
	{City: "Seattle", State: "WA", PostalCode: "98108", Country: "US"},
}

// speedEvents are the 10 checkpoints of shipment s: label created, pickup,
// hub scans, out for delivery, and a delivery (or, for some, an exception
// and a pending retry).
func speedEvents(s speedRow, epoch time.Time) []tracking.Status {
	st := []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.InTransit, tracking.InTransit,
		tracking.InTransit, tracking.InTransit, tracking.InTransit, tracking.InTransit, tracking.OutForDelivery, tracking.Delivered}
	switch mix(uint64(s.i)) % 10 {
	case 0: // still moving
		st[8], st[9] = tracking.InTransit, tracking.InTransit
	case 1:
		st[9] = tracking.FailedAttempt
	case 2:
		st[9] = tracking.Exception
	}
	return st
}

var speedMessages = map[tracking.Status]string{
	tracking.InfoReceived:   "Shipper created a label, carrier has not received the package yet",
	tracking.InTransit:      "Arrived at facility",
	tracking.OutForDelivery: "Out for delivery",
	tracking.Delivered:      "Delivered, front door",
	tracking.FailedAttempt:  "Delivery attempted, no access to delivery location",
	tracking.Exception:      "Weather delay, package will be delivered on the next business day",
}

// seedSpeed COPYs n shipments, 10n events and their references into the
// migrated database at url. The secondary indexes are dropped first and
// built again after the load (the primary keys stay), as a bulk load into
// Postgres does; then the tables are analyzed.
func seedSpeed(ctx context.Context, url string, n int) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `
		SELECT i.indexname, i.indexdef FROM pg_indexes AS i
		WHERE i.schemaname = 'waybill' AND i.tablename IN ('shipments', 'shipment_events', 'shipment_refs')
		AND NOT EXISTS (SELECT FROM pg_constraint AS c WHERE c.conname = i.indexname AND c.connamespace = 'waybill'::regnamespace)`)
	if err != nil {
		return err
	}
	type index struct{ name, def string }
	indexes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		return ix, r.Scan(&ix.name, &ix.def)
	})
	if err != nil {
		return err
	}
	for _, ix := range indexes {
		if _, err := conn.Exec(ctx, "DROP INDEX waybill."+pgx.Identifier{ix.name}.Sanitize()); err != nil {
			return err
		}
	}

	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	received := time.Now().UTC()
	workers := 4
	chunk := (n + workers - 1) / workers
	var wg sync.WaitGroup
	errs := make(chan error, 3*workers)
	for w := range workers {
		lo, hi := w*chunk, min((w+1)*chunk, n)
		if lo >= hi {
			continue
		}
		for _, table := range []string{"shipments", "shipment_events", "shipment_refs"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- copySpeed(ctx, url, table, lo, hi, epoch, received)
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}

	// Build the indexes again, a few at a time.
	if _, err := conn.Exec(ctx, "SET maintenance_work_mem = '512MB'"); err != nil {
		return err
	}
	sem := make(chan struct{}, 2)
	ierrs := make(chan error, len(indexes))
	for _, ix := range indexes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := pgx.Connect(ctx, url)
			if err != nil {
				ierrs <- err
				return
			}
			defer c.Close(ctx)
			_, err = c.Exec(ctx, "SET maintenance_work_mem = '512MB'")
			if err == nil {
				_, err = c.Exec(ctx, ix.def)
			}
			ierrs <- err
		}()
	}
	wg.Wait()
	close(ierrs)
	for err := range ierrs {
		if err != nil {
			return err
		}
	}
	// VACUUM as well, so autovacuum does not start on the fresh tables in the
	// middle of a measured phase, and a checkpoint to flush the load first.
	if _, err = conn.Exec(ctx, "VACUUM (ANALYZE) waybill.shipments, waybill.shipment_events, waybill.shipment_refs"); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "CHECKPOINT")
	return err
}

// copySpeed COPYs the rows of table for shipments [lo, hi).
func copySpeed(ctx context.Context, url, table string, lo, hi int, epoch, received time.Time) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return err
	}
	var (
		cols []string
		next func() ([]any, bool)
	)
	i, j := lo, 0
	emptyJSON := json.RawMessage(`{}`)
	switch table {
	case "shipments":
		cols = []string{"shipment_key", "carrier", "tracking_number", "status", "status_rank", "status_at",
			"last_event_id", "delivered_at", "estimated_delivery", "refs", "event_count", "first_seen_at", "stalled_at", "updated_at"}
		next = func() ([]any, bool) {
			if i >= hi {
				return nil, false
			}
			s := speedShipment(i)
			i++
			st := speedEvents(s, epoch)
			first := speedAt(s, 0, epoch)
			last := speedAt(s, 9, epoch)
			var delivered, estimate any
			if st[9] == tracking.Delivered {
				delivered = last
			} else {
				estimate = last.Add(48 * time.Hour).Format(time.DateOnly)
			}
			return []any{s.key(), s.carrier, s.tracking, string(st[9]), int16(st[9].Rank()), last,
				speedEventID(s, 9), delivered, estimate, speedRefs(s), 10, first, nil, received}, true
		}
	case "shipment_events":
		cols = []string{"id", "shipment_key", "carrier", "tracking_number", "status", "status_rank", "substatus",
			"carrier_status", "message", "occurred_at", "occurred_at_precision", "local_time", "timezone",
			"timezone_source", "timezone_inferred", "location", "source", "raw_event_id", "refs",
			"estimated_delivery", "late", "received_at"}
		var (
			s  speedRow
			st []tracking.Status
		)
		next = func() ([]any, bool) {
			if j == 0 {
				if i >= hi {
					return nil, false
				}
				s, st = speedShipment(i), speedEvents(speedShipment(i), epoch)
			}
			k := j
			if j++; j == 10 {
				j = 0
				i++
			}
			at := speedAt(s, k, epoch)
			loc, _ := json.Marshal(speedCities[(s.i+k)%len(speedCities)])
			var refs any = emptyJSON
			if k == 0 {
				refs = speedRefs(s)
			}
			var estimate any
			if k == 0 {
				estimate = speedAt(s, 9, epoch).Format(time.DateOnly)
			}
			return []any{speedEventID(s, k), s.key(), s.carrier, s.tracking, string(st[k]), int16(st[k].Rank()), nil,
				strings.ToUpper(string(st[k][:2])), speedMessages[st[k]], at, string(tracking.PrecisionSecond),
				at.Format("2006-01-02T15:04:05"), "America/New_York", string(tracking.ZoneFromState), true,
				json.RawMessage(loc), s.carrier, fmt.Sprintf("raw-%016x", mix(uint64(s.i*16+k+7))), refs,
				estimate, false, received}, true
		}
	case "shipment_refs":
		cols = []string{"shipment_key", "name", "value"}
		next = func() ([]any, bool) {
			for i < hi {
				s := speedShipment(i)
				refs := speedRefList(s)
				if j < len(refs) {
					r := refs[j]
					j++
					return []any{s.key(), r[0], r[1]}, true
				}
				i, j = i+1, 0
			}
			return nil, false
		}
	}
	var rowErr error
	_, err = conn.CopyFrom(ctx, pgx.Identifier{"waybill", table}, cols, pgx.CopyFromFunc(func() ([]any, error) {
		row, ok := next()
		if !ok {
			return nil, rowErr
		}
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}

// speedAt is when checkpoint k of s happened: shipments spread over ~300
// days, checkpoints ~7 hours apart.
func speedAt(s speedRow, k int, epoch time.Time) time.Time {
	start := epoch.Add(time.Duration(mix(uint64(s.i))%(300*24*3600)) * time.Second)
	return start.Add(time.Duration(k)*7*time.Hour + time.Duration(mix(uint64(s.i*16+k))%3600)*time.Second)
}

func speedEventID(s speedRow, k int) string {
	return fmt.Sprintf("%016x%08x", mix(uint64(s.i*16+k)), s.i*16+k)
}

// speedRefList: every shipment has an order id; half a customer reference;
// a tenth a device id.
func speedRefList(s speedRow) [][2]string {
	refs := [][2]string{{"order_id", s.orderID()}}
	h := mix(uint64(s.i) ^ 0xabcdef)
	if h%2 == 0 {
		refs = append(refs, [2]string{"customer_ref", fmt.Sprintf("CUST-%07d", h%10_000_000)})
	}
	if h%10 == 3 {
		refs = append(refs, [2]string{"device_id", fmt.Sprintf("dev-%012x", h>>16&0xffffffffffff)})
	}
	return refs
}

func speedRefs(s speedRow) map[string]string {
	m := map[string]string{}
	for _, r := range speedRefList(s) {
		m[r[0]] = r[1]
	}
	return m
}

// The SELECTs pkg/lookup issues, run bare: Detail's two for a lookup
// (lookup.GetShipmentSQL, lookup.TimelineSQL), and List's with a query
// filter and limit 50+1 for a search, as List builds it.
const (
	bareShipmentColumns = `s.shipment_key, s.carrier, s.tracking_number, s.status, s.status_at,
	s.last_event_id, s.delivered_at, s.estimated_delivery, s.refs, s.event_count,
	s.first_seen_at, s.stalled_at, s.updated_at`
	bareSearchSQL = `SELECT ` + bareShipmentColumns + ` FROM waybill.shipments AS s WHERE true AND s.shipment_key = ANY (ARRAY(
		SELECT r.shipment_key FROM waybill.shipment_refs AS r WHERE r.value >= $1 AND r.value < $2
		UNION ALL
		SELECT t.shipment_key FROM waybill.shipments AS t WHERE t.tracking_number >= $3 AND t.tracking_number < $4)) ORDER BY s.status_at DESC, s.shipment_key LIMIT $5`
)

func scanBareShipment(rows pgx.Rows) (int, error) {
	defer rows.Close()
	var (
		key, carrier, tn, status, last string
		statusAt, first, updated       time.Time
		delivered, stalled             *time.Time
		estimate                       *string
		refs                           map[string]string
		count, n                       int
	)
	for rows.Next() {
		if err := rows.Scan(&key, &carrier, &tn, &status, &statusAt, &last, &delivered, &estimate,
			&refs, &count, &first, &stalled, &updated); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// bareLookup reads what lookup.Detail reads, as pgx does it best: both
// SELECTs in one pipelined batch, as the console sends them.
func bareLookup(ctx context.Context, db *pgxpool.Pool, key string) error {
	b := &pgx.Batch{}
	b.Queue(lookup.GetShipmentSQL, key)
	b.Queue(lookup.TimelineSQL, key)
	br := db.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if n, err := scanBareShipment(rows); err != nil || n != 1 {
		return fmt.Errorf("bare get %s: %d rows, %v", key, n, err)
	}
	rows, err = br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	var (
		id, status, sub, cs, msg, prec, lt, tz, tzs, src, raw, est string
		at, recv                                                   time.Time
		inferred, late                                             bool
		loc                                                        tracking.Location
		refs                                                       map[string]string
		n                                                          int
	)
	for rows.Next() {
		if err := rows.Scan(&id, &status, &sub, &cs, &msg, &at, &prec, &lt, &tz, &tzs, &inferred,
			&loc.City, &loc.State, &loc.PostalCode, &loc.Country, &src, &raw, &refs, &est, &late, &recv); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n != 10 {
		return fmt.Errorf("bare timeline %s: %d events", key, n)
	}
	return br.Close()
}

// bareSearch reads what lookup.List reads for a search, as it reads it: the
// prefix as ranges, in one batch with the generic plan asked for.
func bareSearch(ctx context.Context, db *pgxpool.Pool, q string) error {
	tn := tracking.NormalizeTrackingNumber(q)
	b := &pgx.Batch{}
	b.Queue(`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)`)
	b.Queue(bareSearchSQL, q, bareSuccessor(q), tn, bareSuccessor(tn), defaultLimit+1)
	br := db.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	if n, err := scanBareShipment(rows); err != nil || n == 0 {
		return fmt.Errorf("bare search %q: %d rows, %v", q, n, err)
	}
	return br.Close()
}

// bareSuccessor is lookup's prefixEnd for the benchmark's ASCII queries: the
// last byte incremented.
func bareSuccessor(p string) string { return p[:len(p)-1] + string(p[len(p)-1]+1) }

// cpuSample is the CPU time used so far by this process and by each
// Postgres backend connected to the benchmark's database.
type cpuSample struct {
	at   time.Time
	proc time.Duration
	pg   map[string]time.Duration // by pid
}

// sampleCPU reads getrusage and /proc/<pid>/stat of the backends
// pg_stat_activity lists for the database: best effort, a Postgres on another
// host reads as zero.
func sampleCPU(ctx context.Context, db *pgxpool.Pool) cpuSample {
	s := cpuSample{at: time.Now(), pg: map[string]time.Duration{}}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.proc = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	// All of them, the one answering this too: leaving it out of one
	// sample and not the next would count its whole past.
	rows, err := db.Query(ctx, "SELECT pid::text FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		return s
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, pid := range pids {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			continue
		}
		// utime and stime (clock ticks of 1/100 s) are fields 14 and 15:
		// the 12th and 13th after the command name, which ends with the
		// last ')'.
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		k, _ := strconv.ParseInt(f[12], 10, 64)
		s.pg[pid] = time.Duration(u+k) * 10 * time.Millisecond
	}
	return s
}

// since returns the CPU time used between before and s, and the wall time.
func (s cpuSample) since(before cpuSample) (proc, pg, took time.Duration) {
	for pid, t := range s.pg {
		pg += t - before.pg[pid] // a backend that started since counts from zero
	}
	return s.proc - before.proc, pg, s.at.Sub(before.at)
}

// benchConn is a keep-alive HTTP/1.1 connection to the console that speaks
// just enough of the protocol for GETs answered with a Content-Length. The
// clients share the console's two cores, and net/http's client spends about
// as much CPU on a request as the console's handler does: it would be
// measured as the console's latency. Browsers run elsewhere.
type benchConn struct {
	host, token string
	conn        net.Conn // nil until the first request, and after an error
	r           *bufio.Reader
}

// get sends GET path and reads the answer, which must be a 200 with a
// Content-Length. Like net/http it sends the request again on a new
// connection when a kept-alive one turns out closed (the server closes
// those that stay idle too long).
func (c *benchConn) get(path string) error {
	reused := c.conn != nil
	err := c.roundTrip(path)
	if err != nil {
		c.close()
		if reused && errors.Is(err, io.EOF) {
			err = c.roundTrip(path)
		}
	}
	return err
}

func (c *benchConn) roundTrip(path string) error {
	if c.conn == nil {
		conn, err := net.Dial("tcp", c.host)
		if err != nil {
			return err
		}
		c.conn, c.r = conn, bufio.NewReaderSize(conn, 64<<10)
	}
	req := "GET " + path + " HTTP/1.1\r\nHost: " + c.host + "\r\nAuthorization: Bearer " + c.token + "\r\n\r\n"
	if _, err := io.WriteString(c.conn, req); err != nil {
		return err
	}
	status, err := c.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(status, []byte("HTTP/1.1 200 ")) {
		return fmt.Errorf("GET %s: %s", path, bytes.TrimSpace(status))
	}
	length := -1
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		if strings.EqualFold(string(name), "Content-Length") {
			if length, err = strconv.Atoi(string(bytes.TrimSpace(value))); err != nil {
				return fmt.Errorf("GET %s: Content-Length %q", path, value)
			}
		}
	}
	if length < 0 {
		return fmt.Errorf("GET %s: no Content-Length", path)
	}
	_, err = c.r.Discard(length)
	return err
}

func (c *benchConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// runClients runs total calls of do (with indexes 0..total-1) from clients
// goroutines and returns each call's latency.
func runClients(clients, total int, do func(i int) error) ([]time.Duration, error) {
	lat := make([]time.Duration, total)
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		first atomic.Pointer[error]
	)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= total || first.Load() != nil {
					return
				}
				t0 := time.Now()
				if err := do(i); err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return nil, *e
	}
	slices.Sort(lat)
	return lat, nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// pageWeight sums the bytes of dir's index.html, every .js and every .css
// file: what the browser loads for the shipment page.
func pageWeight(dir string) (total int64, files int, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		ext := filepath.Ext(path)
		if path != filepath.Join(dir, "index.html") && ext != ".js" && ext != ".css" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		total += info.Size()
		files++
		return nil
	})
	return total, files, err
}

// startSpeedConsole runs the console as harness_test.go does (newHarness
// takes a *testing.T), over dbURL with a pool of poolSize, and returns its
// base URL and token.
func startSpeedConsole(b *testing.B, dbURL string, poolSize int) (string, string) {
	cfg, ln := testConfig(b, natstest.Start(b).URL(), dbURL, poolSize)
	runCtx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- serve(runCtx, cfg, zerolog.Nop(), service.NewOps(), ln) }()
	b.Cleanup(func() {
		cancel()
		select {
		case err := <-stopped:
			if err != nil {
				b.Errorf("console: %v", err)
			}
		case <-time.After(30 * time.Second):
			b.Errorf("console did not stop within 30s")
		}
	})
	base := "http://" + ln.Addr().String()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, cfg.Token
			}
		}
		if time.Now().After(deadline) {
			b.Fatalf("console /readyz not OK after 30s (last: %v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func benchEnvInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 10 {
		b.Fatalf("%s=%q: want an integer ≥ 10", name, v)
	}
	return n
}
