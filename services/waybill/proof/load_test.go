package proof

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// outcome is how one webhook's delivery ended.
type outcome struct {
	code     int // final answer: 200, 400 (dead-lettered), another 4xx, or 0: never answered
	attempts int
	last     string // the last failure, for reports
}

// load posts webhooks to ingress the way providers do: at a steady rate,
// each retried on 503 (after Retry-After, capped at a second) and on
// connection errors until it gets a final answer or the load's context
// ends.
type load struct {
	t       *testing.T
	url     string
	hooks   []webhookload.Webhook
	results []outcome
	client  *http.Client

	dispatched atomic.Int64 // webhooks whose first attempt has started
	finished   atomic.Int64
	retries    atomic.Int64 // attempts after the first, all webhooks
	done       chan struct{}
	elapsed    time.Duration
}

// startLoad begins posting hooks to ingress over about d (slower if the
// workers are all retrying: a provider's queue backs up the same way).
func startLoad(ctx context.Context, t *testing.T, s *stack, hooks []webhookload.Webhook, d time.Duration) *load {
	t.Helper()
	const workers = 32
	l := &load{
		t: t, url: "http://" + s.ingress.addr + "/webhooks/", hooks: hooks,
		results: make([]outcome, len(hooks)), done: make(chan struct{}),
		client: &http.Client{
			Timeout:   30 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers, IdleConnTimeout: 30 * time.Second},
		},
	}
	interval := d / time.Duration(max(len(hooks), 1))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				l.deliver(ctx, i)
				l.finished.Add(1)
			}
		}()
	}
	start := time.Now()
	go func() {
		defer close(l.done)
		next := time.Now()
		for i := range hooks {
			if wait := time.Until(next); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
				}
			}
			next = next.Add(interval)
			if now := time.Now(); next.Before(now.Add(-time.Second)) {
				next = now // behind (workers all busy): no burst to catch up
			}
			jobs <- i
			l.dispatched.Add(1)
		}
		close(jobs)
		wg.Wait()
		l.elapsed = time.Since(start)
		l.client.CloseIdleConnections()
	}()
	return l
}

func (l *load) deliver(ctx context.Context, i int) {
	w := l.hooks[i]
	r := &l.results[i]
	for {
		r.attempts++
		if r.attempts > 1 {
			l.retries.Add(1)
		}
		code, retryAfter, err := l.post(ctx, w)
		switch {
		case err != nil:
			r.last = err.Error()
		case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests || code >= 500:
			r.last = "answered " + strconv.Itoa(code)
		default: // 200, or a 4xx: final
			r.code = code
			return
		}
		wait := 250 * time.Millisecond
		if retryAfter > 0 {
			wait = min(retryAfter, time.Second)
		}
		select {
		case <-ctx.Done():
			r.last += " (gave up: " + ctx.Err().Error() + ")"
			return
		case <-time.After(wait):
		}
	}
}

func (l *load) post(ctx context.Context, w webhookload.Webhook) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url+w.Source, bytes.NewReader(w.Body))
	if err != nil {
		return 0, 0, err
	}
	for k, v := range w.Header {
		req.Header.Set(k, v)
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, time.Duration(ra) * time.Second, nil
}

// waitDispatched blocks until frac of the webhooks have been sent at least
// once: "mid-load".
func (l *load) waitDispatched(frac float64) {
	l.t.Helper()
	target := int64(frac * float64(len(l.hooks)))
	poll.Until(l.t, 5*time.Minute, func() error {
		if n := l.dispatched.Load(); n < target {
			return fmt.Errorf("%d of %d webhooks sent, waiting for %d", n, len(l.hooks), target)
		}
		return nil
	})
}

// wait blocks until every webhook has its final answer (or the load's
// context ended), and reports any webhook that did not get the answer its
// kind calls for.
func (l *load) wait() {
	l.t.Helper()
	select {
	case <-l.done:
	case <-time.After(10 * time.Minute): // the context ends long before
		l.t.Fatal("load did not finish within 10 minutes")
	}
	var accepted, rejected, bad int
	for i, r := range l.results {
		w := l.hooks[i]
		switch {
		case r.code == http.StatusOK && !w.Malformed:
			accepted++
		case r.code == http.StatusBadRequest && w.Malformed:
			rejected++
		default:
			bad++
			if bad <= 10 {
				l.t.Errorf("webhook %d (%s, event %s, malformed %v): final answer %d after %d attempts, last failure %q",
					i, w.Source, w.EventID, w.Malformed, r.code, r.attempts, r.last)
			}
		}
	}
	if bad > 10 {
		l.t.Errorf("... %d webhooks in all without the answer they call for", bad)
	}
	l.t.Logf("load: %d webhooks in %v: %d answered 200, %d answered 400 (malformed), %d retries",
		len(l.hooks), l.elapsed.Round(time.Millisecond), accepted, rejected, l.retries.Load())
}
