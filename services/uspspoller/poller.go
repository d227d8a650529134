package uspspoller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// ErrNoCredentials: USPS_CLIENT_ID or USPS_CLIENT_SECRET is not set.
var ErrNoCredentials = errors.New("uspspoller: USPS_CLIENT_ID and USPS_CLIENT_SECRET are required (waybill run falls back to a fake USPS)")

// Poller is one replica of the USPS poller: it follows SHIPMENTS into the
// schedule and polls what is due, most overdue first, within the shared
// rate limit.
//
// A due poll is claimed with a lease (compare-and-set on the entry's KV
// revision), so one replica polls it; the write-back that sets the next
// due time is a compare-and-set on the lease too. A replica that stops
// gracefully finishes or releases its claims. One that dies mid-poll
// leaves a lease that expires after leaseTTL, and the shipment is polled
// again then: a crash costs at most one repeated request per shipment in
// flight (its response is a duplicate downstream), never a lost shipment.
type Poller struct {
	cfg      Config
	log      zerolog.Logger
	clock    Clock
	owner    string
	js       jetstream.JetStream
	sched    *schedule
	st       *store
	lim      *limiter
	client   *Client
	m        *metrics
	leaseTTL time.Duration
	httpc    *http.Client

	rndMu sync.Mutex
	rnd   *rand.Rand

	// globalFails counts consecutive unavailable answers across shipments:
	// it grows the pause when USPS is down without saying for how long.
	globalFails atomic.Int32

	loaded atomic.Bool

	quotaMu     sync.Mutex
	quotaLogged float64 // the stretch factor last logged
	quotaLogAt  time.Time
}

// Option configures a Poller.
type Option func(*Poller)

// WithClock sets the clock every schedule decision reads (tests).
func WithClock(c Clock) Option { return func(p *Poller) { p.clock = c } }

// WithReplicaName names this replica in leases and logs (default: host
// name and a random suffix).
func WithReplicaName(name string) Option { return func(p *Poller) { p.owner = name } }

// WithUSPSHTTPClient sets the HTTP client of USPS requests.
func WithUSPSHTTPClient(h *http.Client) Option { return func(p *Poller) { p.httpc = h } }

// WithRandSeed makes the jitter reproducible (tests).
func WithRandSeed(seed uint64) Option {
	return func(p *Poller) { p.rnd = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }
}

// New prepares a replica over a NATS connection: it creates or updates
// the schedule bucket. ops carries the metrics registry. It fails with
// ErrNoCredentials when USPS credentials are missing.
func New(ctx context.Context, cfg Config, nc *nats.Conn, log zerolog.Logger, ops *service.Ops, opts ...Option) (*Poller, error) {
	cfg = cfg.withDefaults()
	if !cfg.HasCredentials() {
		return nil, ErrNoCredentials
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("uspspoller: jetstream: %w", err)
	}
	p := &Poller{cfg: cfg, log: log, clock: SystemClock{}, js: js, sched: newSchedule()}
	for _, o := range opts {
		o(p)
	}
	if p.owner == "" {
		host, _ := os.Hostname()
		p.owner = host + "-" + nuid.Next()[:8]
	}
	if p.rnd == nil {
		p.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if p.httpc == nil {
		p.httpc = &http.Client{Timeout: cfg.HTTPTimeout}
	}
	p.log = p.log.With().Str("replica", p.owner).Logger()
	if p.st, err = openStore(ctx, js, cfg.Streams.Replicas, cfg.MaxAge, p.sched, p.log); err != nil {
		return nil, err
	}
	p.m = newMetrics(ops.Registry, p.sched, p.clock)
	ops.AddProbe("schedule", func(context.Context) error {
		if !p.loaded.Load() {
			return errors.New("schedule not loaded yet")
		}
		return nil
	})
	p.m.quotaLimit.Set(float64(cfg.RateLimit))
	p.lim = newLimiter(p.st, p.clock, cfg.RateLimit)
	p.client = NewClient(cfg.BaseURL, cfg.ClientID, cfg.ClientSecret,
		WithHTTPClient(p.httpc), WithClientClock(p.clock),
		WithTokenObserver(func(outcome string) { p.m.tokens.WithLabelValues(outcome).Inc() }),
		withGate(p.lim.wait, p.lim.valid))
	// A lease covers the worst case of one poll: a token request and a
	// 401 retry, each waiting for a rate-limit slot, plus the requests.
	p.leaseTTL = max(time.Minute, 3*cfg.HTTPTimeout+2*p.lim.interval+30*time.Second)
	return p, nil
}

// Run polls until ctx ends, then drains: no new claims, polls in flight
// finish (their responses published, the schedule written) within the
// shutdown timeout; SHIPMENTS events in hand are applied and acked.
func (p *Poller) Run(ctx context.Context) error {
	// The mirror and in-flight polls outlive ctx by the drain.
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	ready := make(chan struct{})
	watchErr := make(chan error, 1)
	go func() { watchErr <- p.st.watch(hard, ready) }()
	select {
	case <-ready:
	case err := <-watchErr:
		return err
	case <-ctx.Done():
		return nil
	}
	p.loaded.Store(true)
	p.log.Info().Int("scheduled", p.sched.size()).Int("rate_limit_per_hour", p.cfg.RateLimit).
		Dur("interval", p.cfg.Interval).Dur("jitter", p.cfg.Jitter).Str("usps", p.cfg.BaseURL).Msg("schedule loaded, polling")
	p.stretch()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	followErr := make(chan error, 1)
	go func() {
		err := p.follow(ctx)
		if err != nil {
			cancel()
		}
		followErr <- err
	}()
	var inflight sync.WaitGroup
	p.dispatch(ctx, hard, &inflight)

	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(p.cfg.ShutdownTimeout):
		p.log.Warn().Msg("shutdown timeout: abandoning polls in flight (their leases expire)")
		cancelHard()
		<-done
	}
	return <-followErr
}

// dispatch claims due shipments, most overdue first, one per rate-limit
// slot, and hands each to a worker.
func (p *Poller) dispatch(ctx, hard context.Context, inflight *sync.WaitGroup) {
	sem := make(chan struct{}, p.cfg.Concurrency)
	// held is a slot whose claim found nothing (another replica was
	// faster): kept while valid, since at USPS's quota a slot is a minute.
	var held time.Time
	for {
		if !p.awaitDue(ctx) {
			return
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		// A token before the claim, so that a poll is not held up by a
		// token request (with a slot of its own) after it was claimed:
		// requests then go in claim order, most overdue first.
		if _, err := p.client.token(ctx, ""); err != nil {
			<-sem
			if ctx.Err() != nil {
				return
			}
			outcome, pause := p.failure(err)
			p.log.Warn().Err(err).Str("outcome", outcome).Dur("pause", pause).Msg("USPS token request failed")
			if err := p.lim.pause(ctx, max(pause, time.Second)); err != nil && ctx.Err() == nil {
				p.log.Warn().Err(err).Msg("could not share the pause with other replicas")
			}
			continue
		}
		// The slot first, the claim second: a claim is then held only
		// for the request itself, and the shipment polled is the most
		// overdue at the moment the request may go.
		slot := held
		if held.IsZero() || !p.lim.valid(held, p.clock.Now()) {
			var err error
			if slot, err = p.lim.wait(ctx); err != nil {
				<-sem
				if ctx.Err() != nil {
					return
				}
				p.log.Warn().Err(err).Msg("rate limiter unavailable")
				p.sleep(ctx, time.Second)
				continue
			}
		}
		held = time.Time{}
		key, e, ok := p.claim(ctx)
		if !ok {
			<-sem
			held = slot
			continue
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			defer func() { <-sem }()
			p.poll(hard, key, e, slot)
		}()
	}
}

// awaitDue waits until some shipment may be claimed.
func (p *Poller) awaitDue(ctx context.Context) bool {
	for {
		_, wait, ok := p.sched.next(p.clock.Now(), nil)
		if ok {
			return true
		}
		var at <-chan time.Time
		if !wait.IsZero() {
			at = p.clock.At(wait)
		}
		select {
		case <-ctx.Done():
			return false
		case <-p.sched.wake:
		case <-at:
		}
	}
}

func (p *Poller) sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-p.clock.At(p.clock.Now().Add(d)):
	}
}

// claim leases the most overdue claimable shipment by compare-and-set. A
// lost race moves on to the next one.
func (p *Poller) claim(ctx context.Context) (string, Entry, bool) {
	skip := map[string]bool{}
	for range 8 {
		now := p.clock.Now()
		key, _, ok := p.sched.next(now, skip)
		if !ok {
			return "", Entry{}, false
		}
		id := nuid.Next()
		got, wrote, err := p.st.mutate(ctx, key, func(cur Entry, exists bool) (Entry, bool) {
			if !exists || cur.State != Active || cur.ready().After(now) {
				return cur, false
			}
			cur.Lease = &Lease{Owner: p.owner, ID: id, Due: cur.Due, Until: now.Add(p.leaseTTL)}
			return cur, true
		})
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return "", Entry{}, false
			}
			p.log.Warn().Err(err).Str("key", key).Msg("claim failed")
		case wrote:
			return key, got, true
		default:
			p.m.conflicts.Inc()
		}
		skip[key] = true
	}
	return "", Entry{}, false
}

// result is what one poll found.
type result struct {
	outcome    string
	completed  bool          // USPS answered (a poll to count)
	news       bool          // a response not seen before
	responseID string        // the raw event id of a 200
	pause      time.Duration // how long every replica holds off
	expire     bool
}

// poll makes one claimed poll: request, publish, and write the entry back
// with its next due time, releasing the lease.
func (p *Poller) poll(ctx context.Context, key string, e Entry, slot time.Time) {
	number := e.TrackingNumber
	log := p.log.With().Str("shipment_key", tracking.ShipmentKey("usps", number)).Logger()
	resp, err := p.client.track(ctx, number, slot)
	now := p.clock.Now()
	if err != nil && ctx.Err() != nil {
		p.release(key, e, log) // shutting down before USPS answered
		return
	}
	r := p.classifyResult(ctx, number, &e, resp, err, now, log)
	p.m.polls.WithLabelValues(r.outcome).Inc()

	noNews := r.outcome == outcomeUnchanged || r.outcome == outcomeNotFound || r.outcome == outcomeRejected
	if noNews && !now.Before(e.expiresAt(p.cfg.MaxAge)) {
		r.expire = p.publishExpired(ctx, number, &e, log)
	}
	if r.pause > 0 {
		if err := p.lim.pause(ctx, r.pause); err != nil {
			log.Warn().Err(err).Msg("could not share the pause with other replicas")
		}
	}
	var jitter time.Duration
	if p.cfg.Jitter > 0 {
		p.rndMu.Lock()
		jitter = time.Duration(p.rnd.Int64N(int64(p.cfg.Jitter)))
		p.rndMu.Unlock()
	}
	stretch := p.stretch()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	next, wrote, err := p.st.mutate(wctx, key, func(cur Entry, exists bool) (Entry, bool) {
		if !exists || cur.State != Active || cur.Lease == nil || cur.Lease.ID != e.Lease.ID {
			return cur, false // taken off meanwhile, or the lease ran out and was taken over
		}
		cur.Lease = nil
		if r.completed {
			cur.Polls++
			cur.LastPollAt = now
		}
		switch r.outcome {
		case outcomeNew, outcomeUnchanged:
			cur.LastResponse = r.responseID
			cur.NotFound, cur.Failures = 0, 0
			if r.news && now.After(cur.NewsAt) {
				cur.NewsAt = now
			}
		case outcomeNotFound:
			cur.NotFound++
			cur.Failures = 0
		case outcomeRejected:
			cur.Failures = 0
		default:
			cur.Failures++
		}
		if r.expire {
			cur.State, cur.Reason, cur.OffAt = Off, string(tracking.Expired), now
			return cur, true
		}
		cur.Due = p.nextDue(now, r, cur, jitter, stretch)
		return cur, true
	})
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("schedule write-back failed: the lease will expire and the poll repeat")
	case !wrote:
		log.Debug().Msg("shipment changed during the poll: nothing to write back")
	case r.expire:
		p.m.expired.Inc()
		log.Info().Time("news_at", e.NewsAt).Msg("no USPS news for the max age: expired and off the schedule")
	case r.outcome == outcomeNew:
		log.Info().Str("event_id", r.responseID).Time("next_due", next.Due).Msg("new USPS response published")
	default:
		// Repeats and 404s are routine; failures were logged when classified.
		log.Debug().Str("outcome", r.outcome).Int("failures", next.Failures).Time("next_due", next.Due).Msg("polled")
	}
}

// classifyResult publishes a successful response and turns the answer
// into a result.
func (p *Poller) classifyResult(ctx context.Context, number string, e *Entry, resp *Response, err error, now time.Time, log zerolog.Logger) result {
	var apiErr *APIError
	errors.As(err, &apiErr)
	switch {
	case err == nil:
		id, idErr := usps.EventID(resp.Body, number)
		if idErr != nil {
			log.Warn().Err(idErr).Msg("USPS answered 200 with a body that is not a tracking response")
			return result{outcome: outcomeUnavailable, completed: true}
		}
		if _, err := p.publish(ctx, TrackingType, number, id, resp.Body, now); err != nil {
			log.Warn().Err(err).Msg("USPS response not stored: will poll again")
			return result{outcome: outcomeError}
		}
		p.globalFails.Store(0)
		if id == e.LastResponse {
			return result{outcome: outcomeUnchanged, completed: true, responseID: id}
		}
		return result{outcome: outcomeNew, completed: true, news: true, responseID: id}
	case errors.Is(err, ErrNotFound):
		p.globalFails.Store(0)
		return result{outcome: outcomeNotFound, completed: true}
	case errors.Is(err, ErrRateLimited), errors.Is(err, ErrUnavailable), errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		outcome, pause := p.failure(err)
		ev := log.Warn()
		if outcome == outcomeUnauthorized || outcome == outcomeForbidden {
			ev = log.Error() // nothing works until an operator acts
		}
		ev.Err(err).Dur("pause", pause).Msg("USPS poll failed: backing off")
		completed := apiErr != nil && apiErr.Op == "tracking"
		return result{outcome: outcome, completed: completed, pause: pause}
	case errors.Is(err, ErrRejected):
		log.Warn().Err(err).Msg("USPS rejected the request")
		return result{outcome: outcomeRejected, completed: true}
	default:
		log.Warn().Err(err).Msg("poll failed")
		return result{outcome: outcomeError}
	}
}

// failure classifies a failed USPS request and says how long every
// replica holds off: a 429's Retry-After (a minute without one); for 5xx
// the Retry-After, or after three failures in a row a growing pause (USPS
// is down); five minutes when credentials or access are refused, since
// nothing works until an operator acts.
func (p *Poller) failure(err error) (outcome string, pause time.Duration) {
	var apiErr *APIError
	var retry time.Duration
	if errors.As(err, &apiErr) {
		retry = apiErr.RetryAfter
	}
	switch {
	case errors.Is(err, ErrRateLimited):
		p.m.pauses.WithLabelValues("rate_limited").Inc()
		if retry <= 0 {
			retry = time.Minute
		}
		return outcomeRateLimited, retry
	case errors.Is(err, ErrUnauthorized), errors.Is(err, ErrForbidden):
		p.m.pauses.WithLabelValues("unauthorized").Inc()
		if errors.Is(err, ErrForbidden) {
			return outcomeForbidden, 5 * time.Minute
		}
		return outcomeUnauthorized, 5 * time.Minute
	case errors.Is(err, ErrUnavailable):
		n := p.globalFails.Add(1)
		if retry <= 0 && n >= 3 {
			retry = min(10*time.Second<<min(n-3, 10), 15*time.Minute)
		}
		if retry > 0 {
			p.m.pauses.WithLabelValues("unavailable").Inc()
		}
		return outcomeUnavailable, retry
	}
	return outcomeError, 0
}

// nextDue is the entry's next poll time after result r: the interval plus
// jitter, stretched when the quota is short, or a backoff after a failure;
// never past the moment it would expire, so that it is polled once more
// then.
func (p *Poller) nextDue(now time.Time, r result, cur Entry, jitter time.Duration, stretch float64) time.Time {
	var d time.Duration
	switch r.outcome {
	case outcomeNew, outcomeUnchanged, outcomeNotFound, outcomeRejected:
		d = time.Duration(stretch * float64(p.cfg.Interval+jitter))
	default:
		backoff := min(time.Minute<<min(max(cur.Failures-1, 0), 16), p.cfg.Interval)
		d = max(backoff, r.pause)
	}
	due := now.Add(d)
	if exp := cur.expiresAt(p.cfg.MaxAge); exp.After(now) && exp.Before(due) {
		due = exp
	}
	return due
}

// publishExpired publishes the expired notice of a shipment; it reports
// whether it was stored (only then does the shipment leave the schedule).
func (p *Poller) publishExpired(ctx context.Context, number string, e *Entry, log zerolog.Logger) bool {
	at := e.expiresAt(p.cfg.MaxAge)
	body, id, err := expiredBody(number, at, p.cfg.MaxAge)
	if err == nil {
		_, err = p.publish(ctx, ExpiredType, number, id, body, at)
	}
	if err != nil {
		log.Warn().Err(err).Msg("expired event not stored: will try again")
		return false
	}
	return true
}

// release gives a lease back unused (shutdown before the request).
func (p *Poller) release(key string, e Entry, log zerolog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := p.st.mutate(ctx, key, func(cur Entry, exists bool) (Entry, bool) {
		if !exists || cur.Lease == nil || cur.Lease.ID != e.Lease.ID {
			return cur, false
		}
		cur.Lease = nil
		return cur, true
	})
	if err != nil {
		log.Warn().Err(err).Msg("lease not released: it will expire")
	}
}

// stretch is the factor every interval is stretched by so that the
// schedule fits the quota: the requests per hour the active shipments
// need at the configured interval, over 90% of the limit (the rest is
// left to token requests and retries). Every shipment is stretched alike
// and polled most-overdue-first, so a short quota slows all of them and
// starves none. It reports the need in metrics, and in the log when it
// starts, changes much, or ends.
func (p *Poller) stretch() float64 {
	mean := p.cfg.Interval + p.cfg.Jitter/2
	need := float64(p.sched.size()) * float64(time.Hour) / float64(mean)
	f := math.Max(1, need/(0.9*float64(p.cfg.RateLimit)))
	p.m.quotaNeeded.Set(need)
	p.m.stretch.Set(f)

	p.quotaMu.Lock()
	defer p.quotaMu.Unlock()
	now := p.clock.Now()
	last := p.quotaLogged
	switch {
	case f > 1 && (last <= 1 || (math.Abs(f-last)/last > 0.25 && now.Sub(p.quotaLogAt) > 10*time.Minute)):
		p.log.Warn().Float64("needed_per_hour", math.Round(need)).Int("limit_per_hour", p.cfg.RateLimit).
			Float64("stretch", math.Round(f*100)/100).Dur("effective_interval", time.Duration(f*float64(p.cfg.Interval))).
			Msg("USPS quota too small for the schedule: every poll interval is stretched (raise USPS_RATE_LIMIT with USPS)")
	case f <= 1 && last > 1:
		p.log.Info().Float64("needed_per_hour", math.Round(need)).Int("limit_per_hour", p.cfg.RateLimit).
			Msg("USPS quota sufficient again: intervals back to normal")
	default:
		return f
	}
	p.quotaLogged, p.quotaLogAt = f, now
	return f
}
