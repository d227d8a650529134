package uspspoller_test

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/uspspoller"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

// scheduleAll scripts and ships every number, each with the Delivered
// progression.
func (h *harness) scheduleAll(nums []string) {
	h.t.Helper()
	for _, n := range nums {
		h.usps.Script(n, uspsfake.Script{Every: 24 * time.Hour, Events: uspsfake.Delivered})
		h.ship("tenovi", n, tracking.InTransit, h.clock.Now())
	}
}

// waitFound waits until the fake has answered n tracking requests with 200.
func (h *harness) waitFound(n int) {
	h.t.Helper()
	h.advanceUntil(100*time.Millisecond, 200, func() error {
		if c := h.usps.Counts(); c.Found < n {
			return fmt.Errorf("%d found answers, want %d (%+v)", c.Found, n, c)
		}
		return nil
	})
}

// latestDue is when every entry will have been due again, once every
// poll in flight is written back.
func (h *harness) latestDue(nums []string) time.Time {
	h.t.Helper()
	var last time.Time
	checkFor(h.t, 5*time.Second, 5*time.Millisecond, func() error {
		last = time.Time{}
		for _, n := range nums {
			e, ok := h.entry(n)
			if !ok || e.Lease != nil {
				return fmt.Errorf("%s not written back: %+v", n, e)
			}
			if e.Due.After(last) {
				last = e.Due
			}
		}
		return nil
	})
	return last
}

// checkEachPolled fails unless every number was polled exactly want
// times. A 401 and its retry with a fresh token are one poll.
func (h *harness) checkEachPolled(nums []string, want int) {
	h.t.Helper()
	hits := h.trackingHits()
	for _, n := range nums {
		got := 0
		for _, hit := range hits[n] {
			if hit.Status != 401 {
				got++
			}
		}
		if got != want {
			h.t.Errorf("%s polled %d times, want %d", n, got, want)
		}
	}
}

func TestOneTokenForManyPollsAndOneRefreshWhenExpired(t *testing.T) {
	h := newHarness(t)
	nums := numbers("9400TOKEN", 25)
	r := h.start("a", map[string]string{"USPS_POLL_CONCURRENCY": "8"})
	h.scheduleAll(nums)
	h.waitFound(len(nums))
	if c := h.usps.Counts(); c.Token != 1 {
		t.Fatalf("%d token requests for %d polls, want 1", c.Token, c.Found)
	}

	// The token is revoked early: the next polls get 401, and the first
	// to notice refreshes it for all.
	h.usps.ExpireTokens()
	h.clock.Set(h.latestDue(nums))
	h.waitFound(2 * len(nums))
	c := h.usps.Counts()
	if c.Token != 2 {
		t.Errorf("%d token requests after a revocation, want 2", c.Token)
	}
	if c.Unauthorized < 1 || c.Unauthorized > 8 {
		t.Errorf("%d 401 answers, want 1 to the concurrency (8)", c.Unauthorized)
	}
	if got := r.metric("waybill_uspspoller_token_requests_total", map[string]string{"outcome": "ok"}); got != 2 {
		t.Errorf("token metric %v, want 2", got)
	}
	h.checkEachPolled(nums, 2)
}

// TestTokenRefreshedBeforeExpiry: a token is replaced shortly before its
// expires_in runs out, whether USPS sends it as a number or a string, so
// no poll meets a 401.
func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []uspsfake.Option
	}{
		{"number", []uspsfake.Option{uspsfake.WithTokenTTL(30 * time.Minute)}},
		{"string", []uspsfake.Option{uspsfake.WithTokenTTL(30 * time.Minute), uspsfake.WithExpiresInString()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.opts...)
			const number = "9400TTL1"
			h.start("a", map[string]string{"USPS_POLL_INTERVAL": "20m", "USPS_POLL_JITTER": "0s"})
			h.scheduleAll([]string{number})
			for i := 1; i <= 3; i++ { // polls at 0, 20 and 40 minutes
				var e uspspoller.Entry
				checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
					if e, _ = h.entry(number); e.Polls != i || e.Lease != nil {
						return fmt.Errorf("entry %+v", e)
					}
					return nil
				})
				h.clock.Set(e.Due)
			}
			c := h.usps.Counts()
			if c.Token != 2 || c.Unauthorized != 0 {
				t.Errorf("%d token requests and %d 401s over 40 minutes of 30-minute tokens, want 2 and 0", c.Token, c.Unauthorized)
			}
		})
	}
}

func TestNotFoundRetriedAfterTheInterval(t *testing.T) {
	h := newHarness(t)
	const number = "9400NOTYET"
	r := h.start("a", nil)
	h.ship("tenovi", number, tracking.InTransit, t0)
	var e uspspoller.Entry
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		e, _ = h.entry(number)
		if e.NotFound != 1 || e.Lease != nil {
			return fmt.Errorf("entry %+v", e)
		}
		return nil
	})
	if d := e.Due.Sub(t0); d < 4*time.Hour || d >= 6*time.Hour+time.Second {
		t.Errorf("retry after %v, want the 4-6h interval", d)
	}
	if n := len(h.raw()); n != 0 {
		t.Errorf("%d raw.usps messages for a 404, want none", n)
	}
	if got := r.metric("waybill_uspspoller_polls_total", map[string]string{"outcome": "not_found"}); got != 1 {
		t.Errorf("not_found polls %v", got)
	}

	// The label reaches the USPS system; the retry finds it.
	h.usps.Script(number, uspsfake.Script{Events: uspsfake.Delivered})
	h.clock.Set(e.Due)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if len(h.raw()) != 1 {
			return fmt.Errorf("%d raw messages", len(h.raw()))
		}
		if e, _ := h.entry(number); e.NotFound != 0 || e.Polls != 2 {
			return fmt.Errorf("entry %+v", e)
		}
		return nil
	})
}

// TestRateLimitHeldAndBackoff runs a dozen shipments at USPS's default
// quota of 60 requests an hour through a 429: requests (token ones too)
// are never closer than the quota allows, and after the 429 nothing is
// sent until its Retry-After has passed.
func TestRateLimitHeldAndBackoff(t *testing.T) {
	h := newHarness(t)
	// Requests are timed by the fake clock when they arrive: let each
	// step's request arrive before the next step (a claim is a KV round
	// trip between the slot and the request).
	h.quiet = 50 * time.Millisecond
	nums := numbers("9400QUOTA", 12)
	r := h.start("a", map[string]string{"USPS_RATE_LIMIT": "60"})
	h.scheduleAll(nums)
	// The first request (the token) takes the first slot, now: no step
	// before it has arrived.
	checkFor(t, 5*time.Second, time.Millisecond, func() error {
		if c := h.usps.Counts(); c.Token != 1 {
			return fmt.Errorf("%+v", c)
		}
		return nil
	})
	h.settle()
	// The third tracking request is answered 429, Retry-After 10 minutes.
	// Steps land on the poller's own wake-ups (its rate-limit slots).
	h.advanceUntil(time.Minute, 100, func() error {
		if c := h.usps.Counts(); c.Tracking < 2 {
			return fmt.Errorf("%d tracking requests", c.Tracking)
		}
		return nil
	})
	h.usps.FailNext(1, 429, 10*time.Minute)
	h.advanceUntil(time.Minute, 400, func() error {
		if c := h.usps.Counts(); c.Found < len(nums) {
			return fmt.Errorf("%+v", c)
		}
		return nil
	})

	hits := h.usps.Hits()
	sort.Slice(hits, func(i, j int) bool { return hits[i].At.Before(hits[j].At) })
	for i := 1; i < len(hits); i++ {
		if gap := hits[i].At.Sub(hits[i-1].At); gap < time.Minute {
			t.Errorf("requests %d and %d only %v apart at 60/h: %+v %+v", i-1, i, gap, hits[i-1], hits[i])
		}
	}
	for i, hit := range hits {
		if hit.Status == 429 && i+1 < len(hits) {
			if gap := hits[i+1].At.Sub(hit.At); gap < 10*time.Minute {
				t.Errorf("request %v after a 429 with Retry-After 10m", gap)
			}
		}
	}
	// Any hour holds at most 60 requests.
	for i := range hits {
		n := 0
		for j := i; j < len(hits) && hits[j].At.Sub(hits[i].At) < time.Hour; j++ {
			n++
		}
		if n > 60 {
			t.Errorf("%d requests in the hour from %v", n, hits[i].At)
		}
	}
	if got := r.metric("waybill_uspspoller_backoffs_total", map[string]string{"cause": "rate_limited"}); got != 1 {
		t.Errorf("rate_limited backoffs %v, want 1", got)
	}
	hitsBy := h.trackingHits()
	for _, n := range nums {
		found := 0
		for _, hit := range hitsBy[n] {
			if hit.Status == 200 {
				found++
			}
		}
		if found != 1 {
			t.Errorf("%s found %d times", n, found)
		}
	}
}

func TestServerErrorsBackOff(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter time.Duration
		wantDue    time.Duration // after the failed poll
	}{
		{"503 with Retry-After", 503, 3 * time.Minute, 3 * time.Minute},
		{"500 without", 500, 0, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			const number = "9400DOWN"
			h.usps.FailNext(1, tt.status, tt.retryAfter)
			r := h.start("a", nil)
			h.scheduleAll([]string{number})
			var e uspspoller.Entry
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				e, _ = h.entry(number)
				if e.Failures != 1 || e.Lease != nil {
					return fmt.Errorf("entry %+v", e)
				}
				return nil
			})
			if d := e.Due.Sub(e.LastPollAt); d < tt.wantDue || d > tt.wantDue+time.Second {
				t.Errorf("retry after %v, want %v", d, tt.wantDue)
			}
			if got := r.metric("waybill_uspspoller_polls_total", map[string]string{"outcome": "unavailable"}); got != 1 {
				t.Errorf("unavailable polls %v", got)
			}
			h.clock.Set(e.Due)
			h.waitFound(1)
			checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
				if e, _ := h.entry(number); e.Failures != 0 || e.Polls != 2 {
					return fmt.Errorf("entry %+v", e)
				}
				return nil
			})
		})
	}
}

// TestRestartMidSchedule stops the poller halfway through a round of due
// polls and starts another: every shipment is polled exactly once for
// that due time, and every one is still on the schedule for the next.
func TestRestartMidSchedule(t *testing.T) {
	h := newHarness(t)
	nums := numbers("9400RESTART", 30)
	env := map[string]string{"USPS_RATE_LIMIT": "600"} // one request per 6s
	first := h.start("first", env)
	h.scheduleAll(nums)
	h.advanceUntil(6*time.Second, 100, func() error {
		if c := h.usps.Counts(); c.Found < 10 {
			return fmt.Errorf("%d polls", c.Found)
		}
		return nil
	})
	first.stop()
	polledBefore := h.usps.Counts().Found
	if polledBefore >= len(nums) {
		t.Fatalf("all %d polled before the restart", polledBefore)
	}

	h.start("second", env)
	h.advanceUntil(6*time.Second, 200, func() error {
		if c := h.usps.Counts(); c.Found < len(nums) {
			return fmt.Errorf("%d polls", c.Found)
		}
		return nil
	})
	h.checkEachPolled(nums, 1)

	h.clock.Set(h.latestDue(nums))
	h.advanceUntil(6*time.Second, 400, func() error {
		if c := h.usps.Counts(); c.Found < 2*len(nums) {
			return fmt.Errorf("%d polls", c.Found)
		}
		return nil
	})
	h.checkEachPolled(nums, 2)
	t.Logf("%d of %d polled before the restart", polledBefore, len(nums))
}

// TestTwoReplicasNeverDoublePoll runs two replicas over one schedule.
func TestTwoReplicasNeverDoublePoll(t *testing.T) {
	h := newHarness(t)
	nums := numbers("9400REPLICA", 40)
	a := h.start("a", nil)
	b := h.start("b", nil)
	h.scheduleAll(nums)
	h.waitFound(len(nums))
	h.checkEachPolled(nums, 1)

	h.clock.Set(h.latestDue(nums))
	h.waitFound(2 * len(nums))
	h.checkEachPolled(nums, 2)

	polls := func(r *replica) float64 {
		return r.metric("waybill_uspspoller_polls_total", map[string]string{"outcome": "new"}) +
			r.metric("waybill_uspspoller_polls_total", map[string]string{"outcome": "unchanged"})
	}
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := polls(a) + polls(b); got != float64(2*len(nums)) {
			return fmt.Errorf("replicas counted %v polls", got)
		}
		return nil
	})
	t.Logf("replica a polled %v, b %v; claim conflicts a %v, b %v", polls(a), polls(b),
		a.metric("waybill_uspspoller_claim_conflicts_total", nil), b.metric("waybill_uspspoller_claim_conflicts_total", nil))
}

// TestExpiredWithoutNews: a parcel USPS never knows is polled every
// interval until USPS_MAX_AGE, then gets an expired event and leaves the
// schedule.
func TestExpiredWithoutNews(t *testing.T) {
	h := newHarness(t)
	const number = "9400NEVER"
	r := h.start("a", map[string]string{"USPS_MAX_AGE": "24h", "USPS_POLL_JITTER": "0s"})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s\nhits %+v", r.logs, h.usps.Hits())
		}
	})
	h.ship("tenovi", number, tracking.InTransit, t0)
	var e uspspoller.Entry
	for polls := 1; polls <= 20; polls++ {
		checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			var ok bool
			if e, ok = h.entry(number); !ok || e.State == uspspoller.Active && (e.Lease != nil || e.Polls != polls) {
				return fmt.Errorf("entry %+v, want %d polls", e, polls)
			}
			return nil
		})
		if e.State == uspspoller.Off {
			break
		}
		h.clock.Set(e.Due)
	}
	if e.State != uspspoller.Off || e.Reason != "expired" {
		t.Fatalf("entry %+v, want off, expired", e)
	}
	if polls := h.usps.Requests(number); polls != 7 {
		t.Errorf("%d polls over 24h at 4h, want 7 (the last at 24h)", polls)
	}
	raws := h.raw()
	if len(raws) != 1 || raws[0].Type() != uspspoller.ExpiredType || raws[0].Subject() != number {
		t.Fatalf("raw.usps %v, want one %s", raws, uspspoller.ExpiredType)
	}
	var body struct {
		TrackingEvents []struct{ EventCode, GMTTimestamp string }
	}
	if err := json.Unmarshal(raws[0].Data(), &body); err != nil || len(body.TrackingEvents) != 1 ||
		body.TrackingEvents[0].EventCode != uspspoller.ExpiredEventCode ||
		body.TrackingEvents[0].GMTTimestamp != t0.Add(24*time.Hour).Format(time.RFC3339) {
		t.Errorf("expired body %s (%v)", raws[0].Data(), err)
	}
	// The normalizer maps it with the usps provider like any poll.
	events, err := usps.Provider{}.Map(providers.Raw{Source: "usps", ID: raws[0].ID(), Type: raws[0].Type(),
		Subject: raws[0].Subject(), Time: raws[0].Time(), Data: raws[0].Data()})
	if err != nil || len(events) != 1 || events[0].CarrierStatus != uspspoller.ExpiredEventCode {
		t.Errorf("usps provider maps the expired notice to %+v, %v", events, err)
	} else if events[0].Status != tracking.Expired {
		t.Logf("usps provider maps %s to %q (pkg/providers/usps needs the code for %q)", uspspoller.ExpiredEventCode, events[0].Status, tracking.Expired)
	}
	if got := r.metric("waybill_uspspoller_expired_total", nil); got != 1 {
		t.Errorf("expired metric %v", got)
	}
}

// TestShortQuotaStretchesIntervals: 600 shipments at a 4-6h interval need
// 120 requests an hour; with 60 the poller says so and stretches every
// interval alike.
func TestShortQuotaStretchesIntervals(t *testing.T) {
	h := newHarness(t)
	h.start("setup", nil).stop()
	nums := numbers("9400STRETCH", 600)
	for i, n := range nums {
		h.putEntry(uspspoller.Entry{TrackingNumber: n, State: uspspoller.Active, Source: "tenovi",
			ScheduledAt: t0, NewsAt: t0, Due: t0.Add(time.Duration(i) * time.Minute)})
	}
	r := h.start("a", map[string]string{"USPS_RATE_LIMIT": "60"})
	if got := r.metric("waybill_uspspoller_quota_needed_per_hour", nil); got != 120 {
		t.Errorf("quota needed %v/h, want 120", got)
	}
	wantStretch := 120 / (0.9 * 60)
	if got := r.metric("waybill_uspspoller_interval_stretch", nil); got < wantStretch-0.01 || got > wantStretch+0.01 {
		t.Errorf("stretch %v, want %.2f", got, wantStretch)
	}
	if !hasLine(r.logs.String(), "USPS quota too small") {
		t.Errorf("no log line about the quota:\n%s", r.logs)
	}
	h.advanceUntil(time.Minute, 100, func() error {
		if c := h.usps.Counts(); c.Tracking < 5 {
			return fmt.Errorf("%d polls", c.Tracking)
		}
		return nil
	})
	for _, n := range nums[:3] {
		checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
			e, _ := h.entry(n)
			if e.Polls != 1 || e.Lease != nil {
				return fmt.Errorf("%s: %+v", n, e)
			}
			if d := e.Due.Sub(e.LastPollAt); d < time.Duration(wantStretch*float64(4*time.Hour)) {
				return fmt.Errorf("%s next poll after %v, want the stretched interval", n, d)
			}
			return nil
		})
	}
}

// TestCredentialsNeverLogged runs with credentials USPS refuses.
func TestCredentialsNeverLogged(t *testing.T) {
	h := newHarness(t)
	const id, secret = "client-id-4f1c9a", "s3cr3t-7d2e55"
	env := map[string]string{"USPS_CLIENT_ID": id, "USPS_CLIENT_SECRET": secret}
	r := h.start("a", env)
	h.ship("tenovi", "9400CREDS", tracking.InTransit, t0)
	checkFor(t, 5*time.Second, 5*time.Millisecond, func() error {
		if got := r.metric("waybill_uspspoller_backoffs_total", map[string]string{"cause": "unauthorized"}); got != 1 {
			return fmt.Errorf("unauthorized backoffs %v", got)
		}
		return nil
	})
	logs := r.logs.String()
	if !strings.Contains(logs, "invalid_client") {
		t.Errorf("logs do not say why:\n%s", logs)
	}
	cfg := h.config(env)
	for _, s := range []string{logs, fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg)} {
		if strings.Contains(s, secret) || strings.Contains(s, id) {
			t.Errorf("credentials leak in %q", s)
		}
	}
	if got := r.metric("waybill_uspspoller_token_requests_total", map[string]string{"outcome": "error"}); got != 1 {
		t.Errorf("token errors %v", got)
	}
}
