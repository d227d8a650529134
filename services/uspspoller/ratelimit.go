package uspspoller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// quotaKey holds the shared rate limiter's state in the schedule bucket.
const quotaKey = "quota"

// slotTolerance is how late a request may use its slot. The emission
// interval is widened by it, so that even a request sent that late keeps
// every hour-long window within the limit (see newLimiter).
const slotTolerance = time.Second

// limiter spaces USPS requests (tracking and token requests alike) evenly
// at the configured hourly rate across every replica. It is a GCRA (the
// "theoretical arrival time" of the next request) kept in KV and advanced
// by compare-and-set, so replicas draw slots from one timeline: no two
// slots are closer than the emission interval, whichever replica holds
// them.
//
// Even spacing rather than a bucket that allows bursts is deliberate: USPS
// counts requests per hour, a burst of a full hour's quota followed by the
// next hour's would break a sliding window, and evenly spaced polls are
// what the schedule wants anyway.
type limiter struct {
	st       *store
	clock    Clock
	interval time.Duration
	batch    int

	mu    sync.Mutex
	slots []time.Time // reserved, ascending
	state quotaState
	rev   uint64
	// pausedUntil voids the slots this replica took before a pause it
	// learnt of: they would otherwise be used right after the 429.
	pausedUntil time.Time
}

type quotaState struct {
	// TAT is the first instant not yet given out as a slot.
	TAT time.Time `json:"tat"`
}

// newLimiter allows perHour requests per hour. A request may be sent up to
// slotTolerance after its slot, so the interval is (1h + tolerance) /
// perHour: any L+1 slots then span more than an hour plus the tolerance,
// and no hour can hold L+1 requests.
func newLimiter(st *store, clock Clock, perHour int) *limiter {
	iv := (time.Hour + slotTolerance) / time.Duration(perHour)
	if iv <= 0 {
		iv = 1
	}
	// Reserve up to ~50ms of slots per round trip at high rates, one at a
	// time at USPS's real quota (a minute apart).
	batch := int(min(max(int64(50*time.Millisecond/iv), 1), 512))
	return &limiter{st: st, clock: clock, interval: iv, batch: batch}
}

// wait returns a slot: the time from which one request may be sent, and
// until which (plus slotTolerance) it must be. It sleeps until the slot.
func (l *limiter) wait(ctx context.Context) (time.Time, error) {
	for {
		l.mu.Lock()
		now := l.clock.Now()
		for len(l.slots) > 0 && l.slots[0].Add(slotTolerance).Before(now) {
			l.slots = l.slots[1:] // unused and too late now: spent
		}
		if len(l.slots) == 0 {
			if err := l.reserve(ctx, now); err != nil {
				l.mu.Unlock()
				return time.Time{}, err
			}
		}
		slot := l.slots[0]
		l.slots = l.slots[1:]
		l.mu.Unlock()
		if slot.After(now) {
			select {
			case <-l.clock.At(slot):
			case <-ctx.Done():
				return time.Time{}, ctx.Err() // the slot is lost: never a second use
			}
		}
		if l.valid(slot, l.clock.Now()) {
			return slot, nil
		}
		// A pause came while we slept: take a slot after it.
	}
}

// valid reports whether a slot may still be used at now: not too late,
// and not voided by a pause.
func (l *limiter) valid(slot, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !now.After(slot.Add(slotTolerance)) && !slot.Before(l.pausedUntil)
}

// reserve takes slots from the shared timeline: a batch when they are
// free now, one when the timeline is ahead of now (no point holding more).
func (l *limiter) reserve(ctx context.Context, now time.Time) error {
	for range 32 {
		start := l.state.TAT
		if start.Before(now) {
			start = now
		}
		n := l.batch
		if start.After(now) {
			n = 1
		}
		next := quotaState{TAT: start.Add(time.Duration(n) * l.interval)}
		rev, err := l.put(ctx, next)
		if err == nil {
			l.state, l.rev = next, rev
			for i := range n {
				l.slots = append(l.slots, start.Add(time.Duration(i)*l.interval))
			}
			return nil
		}
		if !errors.Is(err, errConflict) {
			return err
		}
		if err := l.refresh(ctx); err != nil {
			return err
		}
	}
	return errors.New("uspspoller: rate limiter: too many concurrent writers")
}

// pause pushes the shared timeline to now+d for every replica: USPS said
// 429 or 503 with Retry-After. Slots held here are given up; another
// replica learns of the pause at its next reservation, so it may still use
// the slots it holds (one at USPS's quota).
func (l *limiter) pause(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.slots = nil
	until := l.clock.Now().Add(d)
	if until.After(l.pausedUntil) {
		l.pausedUntil = until
	}
	for range 32 {
		if !l.state.TAT.Before(until) {
			return nil
		}
		next := quotaState{TAT: until}
		rev, err := l.put(ctx, next)
		if err == nil {
			l.state, l.rev = next, rev
			return nil
		}
		if !errors.Is(err, errConflict) {
			return err
		}
		if err := l.refresh(ctx); err != nil {
			return err
		}
	}
	return errors.New("uspspoller: rate limiter: too many concurrent writers")
}

func (l *limiter) put(ctx context.Context, q quotaState) (uint64, error) {
	data, err := json.Marshal(q)
	if err != nil {
		return 0, err
	}
	return l.st.writeRaw(ctx, quotaKey, data, l.rev, 0)
}

func (l *limiter) refresh(ctx context.Context) error {
	m, err := l.st.readRaw(ctx, quotaKey)
	if err != nil {
		return err
	}
	l.state, l.rev = quotaState{}, 0
	if m == nil {
		return nil
	}
	l.rev = m.Sequence
	if len(m.Data) > 0 {
		if err := json.Unmarshal(m.Data, &l.state); err != nil {
			return fmt.Errorf("uspspoller: rate limiter state: %w", err)
		}
	}
	return nil
}
