package uspspoller

import "time"

// Clock is the poller's source of time. Every schedule decision (due
// times, leases, token expiry, rate-limit slots, max age) reads it, so tests
// run hours of schedule in milliseconds with a fake one.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock reaches t (at once
	// when it already has). Waiting on a deadline rather than a duration
	// keeps a fake clock race-free: advancing it before the waiter
	// registers cannot lose the wake-up.
	At(t time.Time) <-chan time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// At fires at t by the wall clock.
func (SystemClock) At(t time.Time) <-chan time.Time { return time.After(time.Until(t)) }
