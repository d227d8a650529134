package proof

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/services/projector"
)

// normalizerRSSLimit is the bound the normalizer's resident memory must
// stay under while its output is not being consumed. The normalizer does
// not depend on the projector at all (SHIPMENTS is a limits stream), and
// its own buffers are bounded by NORMALIZER_MAX_BUFFERED, so a stalled
// consumer downstream must not grow it.
const normalizerRSSLimit = 128 << 20

// The projector is stopped (SIGSTOP) for a minute while the load goes on:
// SHIPMENTS backs up, the projector catches up once resumed (its
// unacknowledged batches are redelivered meanwhile: duplicates the
// projection absorbs), and the normalizer's memory stays bounded.
func TestSlowConsumer(t *testing.T) {
	if !soak {
		t.Skip("soak only (WAYBILL_SOAK=1)")
	}
	const pause = time.Minute
	var (
		mu      sync.Mutex
		samples []int64
		stop    = make(chan struct{})
		stopped sync.WaitGroup
	)
	sc := scenario{
		size: size{shipments: 2000, duration: 2 * time.Minute}, seed: 7, points: []float64{0.15},
		fault: func(s *stack, _ int) {
			stopped.Add(1)
			go func() { // the normalizer's RSS every second, for the log
				defer stopped.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Second):
					}
					if now, _, err := s.normalizer.rss(); err == nil {
						mu.Lock()
						samples = append(samples, now)
						mu.Unlock()
					}
				}
			}()
			s.projector.signal(syscall.SIGSTOP)
			time.Sleep(pause)
			pending, unacked, err := consumerBacklog(s)
			s.projector.signal(syscall.SIGCONT)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("projector resumed after %v: %d events pending, %d unacknowledged on SHIPMENTS", pause, pending, unacked)
			if pending == 0 {
				t.Error("the pause built no backlog: the test proves nothing")
			}
		},
	}
	t.Cleanup(func() { close(stop); stopped.Wait() })
	st := sc.run(t)

	now, peak, err := st.normalizer.rss()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var highest int64
	for _, v := range samples {
		highest = max(highest, v)
	}
	t.Logf("normalizer RSS: %d MiB now, %d MiB peak (VmHWM), %d MiB highest of %d samples; limit %d MiB",
		now>>20, peak>>20, highest>>20, len(samples), normalizerRSSLimit>>20)
	if peak > normalizerRSSLimit {
		t.Errorf("normalizer peak RSS %d MiB exceeds the %d MiB limit", peak>>20, normalizerRSSLimit>>20)
	}
}

// consumerBacklog is the projector consumer's backlog.
func consumerBacklog(s *stack) (pending uint64, unacked int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := s.js.Consumer(ctx, streams.Shipments, projector.ConsumerName)
	if err != nil {
		return 0, 0, err
	}
	ci, err := c.Info(ctx)
	if err != nil {
		return 0, 0, err
	}
	return ci.NumPending, ci.NumAckPending, nil
}
