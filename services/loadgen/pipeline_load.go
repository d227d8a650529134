package main

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/tidwall/gjson"
	"github.com/valyala/fasthttp"

	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// postResult is ingress's answer to one webhook of the workload.
type postResult struct {
	code      int // HTTP status; -1 when the request failed; 0 not posted
	dup       bool
	id        string // the event id ingress answered with
	sent, got time.Time
}

// poster posts the workload's webhooks, each at most once, and keeps the
// answers by webhook index.
type poster struct {
	hc    *fasthttp.HostClient
	base  string
	hooks []webhookload.Webhook
	res   []postResult
}

func newPoster(addr string, hooks []webhookload.Webhook, conns int) *poster {
	return &poster{
		hc:    &fasthttp.HostClient{Addr: addr, MaxConns: conns, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second},
		base:  "http://" + addr + "/webhooks/",
		hooks: hooks,
		res:   make([]postResult, len(hooks)),
	}
}

func (p *poster) post(i int, req *fasthttp.Request, resp *fasthttp.Response) *postResult {
	w := &p.hooks[i]
	req.Reset()
	req.SetRequestURI(p.base + w.Source)
	req.Header.SetMethod(fasthttp.MethodPost)
	for k, v := range w.Header {
		req.Header.Set(k, v)
	}
	req.SetBodyRaw(w.Body)
	r := &p.res[i]
	r.sent = time.Now()
	err := p.hc.Do(req, resp)
	r.got = time.Now()
	if err != nil {
		r.code = -1
		return r
	}
	r.code = resp.StatusCode()
	if r.code == fasthttp.StatusOK {
		b := resp.Body()
		r.id = gjson.GetBytes(b, "id").String()
		r.dup = gjson.GetBytes(b, "duplicate").Bool()
	}
	return r
}

// loadPhase is what one phase of posting did.
type loadPhase struct {
	name          string
	from, to      int     // webhook indexes posted: [from, to)
	target        float64 // paced rate (0: closed loop)
	elapsed       time.Duration
	ok, failed    int // 200s; answers other than 200 and 400, and errors
	rejected      int // 400s
	httpLatencies []time.Duration
	// e2e: HTTP 200 -> the webhook's new events visible in Postgres, of
	// the tracked webhooks of the phase.
	e2e        []time.Duration
	tracked    int
	notVisible int
}

func (ph *loadPhase) rate() float64 { return float64(ph.ok) / ph.elapsed.Seconds() }

func (ph *loadPhase) count(p *poster) {
	for i := ph.from; i < ph.to; i++ {
		r := &p.res[i]
		switch r.code {
		case fasthttp.StatusOK:
			ph.ok++
			ph.httpLatencies = append(ph.httpLatencies, r.got.Sub(r.sent))
		case fasthttp.StatusBadRequest:
			ph.rejected++
		default:
			ph.failed++
		}
	}
}

// closedLoop posts from index from with clients keep-alive clients, each
// waiting for its answer before the next (saturation), for d or until the
// workload runs out. It returns the phase; webhooks [from, to) were posted.
func (p *poster) closedLoop(from, clients int, d time.Duration) loadPhase {
	var next atomic.Int64
	next.Store(int64(from))
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= len(p.hooks) {
					return
				}
				p.post(i, req, resp)
			}
		}()
	}
	wg.Wait()
	ph := loadPhase{name: "saturation", from: from, to: min(int(next.Load()), len(p.hooks)), elapsed: time.Since(start)}
	ph.count(p)
	return ph
}

// openLoop posts webhooks [from, from+n) at rate per second on a fixed
// schedule, whatever the answers take (open loop: a slow pipeline does not
// slow the arrivals down), from up to workers requests in flight. answered
// is called after each answer.
func (p *poster) openLoop(from, n int, rate float64, workers int, answered func(i int, r *postResult)) loadPhase {
	jobs := make(chan int, n)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for i := range jobs {
				r := p.post(i, req, resp)
				if answered != nil {
					answered(i, r)
				}
			}
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	for k := 0; k < n; k++ {
		if wait := time.Until(start.Add(time.Duration(k) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		jobs <- from + k
	}
	close(jobs)
	wg.Wait()
	ph := loadPhase{from: from, to: from + n, target: rate, elapsed: time.Since(start)}
	ph.count(p)
	return ph
}

// tracker measures the time from a webhook's HTTP 200 to its new events
// being visible in waybill.shipment_events, by polling Postgres for the
// pending event ids of a sample of webhooks (a primary-key lookup of a few
// hundred ids every interval: low overhead, no LISTEN, no change to the
// services). The resolution is the poll interval.
type tracker struct {
	db       *pgxpool.Pool
	interval time.Duration

	mu      sync.Mutex
	pending map[string][]*trackedHook // event id -> webhooks waiting for it
	hooks   []*trackedHook
}

type trackedHook struct {
	index     int
	remaining int
	ok        time.Time // HTTP 200
	visible   time.Time
}

func newTracker(db *pgxpool.Pool, interval time.Duration) *tracker {
	return &tracker{db: db, interval: interval, pending: map[string][]*trackedHook{}}
}

// add tracks webhook i, answered 200 at ok, until every one of ids is
// visible.
func (t *tracker) add(i int, ids []string, ok time.Time) {
	h := &trackedHook{index: i, remaining: len(ids), ok: ok}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hooks = append(t.hooks, h)
	for _, id := range ids {
		t.pending[id] = append(t.pending[id], h)
	}
}

// run polls until ctx ends.
func (t *tracker) run(ctx context.Context) {
	tick := time.NewTicker(t.interval)
	defer tick.Stop()
	var ids []string
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids = ids[:0]
		t.mu.Lock()
		for id := range t.pending {
			ids = append(ids, id)
		}
		t.mu.Unlock()
		if len(ids) == 0 {
			continue
		}
		// A row found by this query was visible when it started.
		at := time.Now()
		rows, err := t.db.Query(ctx, `SELECT id FROM waybill.shipment_events WHERE id = ANY($1)`, ids)
		if err != nil {
			continue
		}
		var found []string
		for rows.Next() {
			var id string
			if rows.Scan(&id) == nil {
				found = append(found, id)
			}
		}
		rows.Close()
		t.mu.Lock()
		for _, id := range found {
			for _, h := range t.pending[id] {
				if h.remaining--; h.remaining == 0 {
					h.visible = at
				}
			}
			delete(t.pending, id)
		}
		t.mu.Unlock()
	}
}

// wait waits until every webhook of [from, to) tracked so far is visible,
// or timeout.
func (t *tracker) wait(from, to int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		done := true
		t.mu.Lock()
		for _, h := range t.hooks {
			if h.index >= from && h.index < to && h.visible.IsZero() {
				done = false
				break
			}
		}
		t.mu.Unlock()
		if done {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// latencies are the e2e latencies of the tracked webhooks of [from, to),
// and how many were never seen.
func (t *tracker) latencies(from, to int) (lat []time.Duration, tracked, missing int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range t.hooks {
		if h.index < from || h.index >= to {
			continue
		}
		tracked++
		if h.visible.IsZero() {
			missing++
			continue
		}
		lat = append(lat, max(h.visible.Sub(h.ok), 0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return lat, tracked, missing
}
