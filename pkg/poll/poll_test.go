package poll_test

import (
	"errors"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
)

func TestUntilReturnsOnceTheCheckPasses(t *testing.T) {
	n := 0
	poll.Until(t, 5*time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 {
		t.Fatalf("checked %d times, want 3", n)
	}
}

// fatalRecorder records Fatalf instead of stopping the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	r.msg = "failed"
	panic(r)
}

func TestUntilFailsAtTheTimeout(t *testing.T) {
	r := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		poll.Until(r, 120*time.Millisecond, func() error { return errors.New("never") })
	}()
	if r.msg == "" {
		t.Fatal("Until returned without the check passing")
	}
}
