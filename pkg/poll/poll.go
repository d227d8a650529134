// Package poll is for tests that wait on other goroutines, processes or
// servers: a condition is checked until it holds or a deadline passes.
// Timeouts in waybill's tests are generous (the machine is shared); only
// termination is guaranteed, never speed.
package poll

import (
	"testing"
	"time"
)

// Interval is the pause between two checks.
const Interval = 50 * time.Millisecond

// Until calls check until it returns nil; when timeout has passed the test
// fails with check's last error.
func Until(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(Interval)
	}
}
