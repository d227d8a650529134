package normalizer_test

import (
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// buildNormalizer compiles the real binary: a crash is a SIGKILL of a
// process, which no in-process cancellation imitates.
func buildNormalizer(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "normalizer")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/normalizer").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func (h *harness) spawn(bin string) *exec.Cmd {
	h.t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = os.Environ()
	for k, v := range h.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "WAYBILL_LOG_LEVEL=warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// TestCrashLosesNothingAndDuplicatesNothing kills the normalizer with
// events in its reorder buffers and in mid-flush, twice, under load; a new
// process takes over, and SHIPMENTS ends with every event exactly once.
func TestCrashLosesNothingAndDuplicatesNothing(t *testing.T) {
	bin := buildNormalizer(t)
	h := newHarness(t, map[string]string{"NORMALIZER_REORDER_WINDOW": "1s", "NORMALIZER_ACK_WAIT": "7s"})
	rng := rand.New(rand.NewSource(7))
	want := map[string]bool{}
	cmd := h.spawn(bin)
	publish := func(from, to int) {
		for s := from; s < to; s++ {
			tn := fmt.Sprintf("1ZCRASH%04d", s)
			cps := randomShipment(rng, 3)
			for i, c := range cps {
				h.publishRaw("wineshipping", wineshippingBody(fmt.Sprintf("%s-%d", tn, i), tn, []checkpoint{c}), nil)
				e := expectedEvent(tn, c)
				want[e] = true
			}
		}
	}
	publish(0, 150)
	time.Sleep(300 * time.Millisecond) // mapped, held in the buffers
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	cmd = h.spawn(bin)
	publish(150, 300)
	time.Sleep(1100 * time.Millisecond) // some flushes under way
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	h.spawn(bin)

	var evs []tracking.Event
	poll.Until(t, 90*time.Second, func() error { // generous: each crash costs an AckWait of redelivery, and CI machines are loaded
		if err := h.settled(); err != nil {
			return err
		}
		evs = h.events()
		if len(evs) < len(want) {
			return fmt.Errorf("%d of %d events", len(evs), len(want))
		}
		return nil
	})
	seen := map[string]int{}
	for _, e := range evs {
		seen[e.ShipmentKey+"|"+e.OccurredAt.Format(time.RFC3339)+"|"+e.CarrierStatus]++
		if seen[e.ShipmentKey+"|"+e.OccurredAt.Format(time.RFC3339)+"|"+e.CarrierStatus] > 1 {
			t.Errorf("event %s (%s) stored twice", e.ID, e.ShipmentKey)
		}
	}
	for k := range want {
		if seen[k] == 0 {
			t.Errorf("event %s lost", k)
		}
	}
	if len(evs) != len(want) {
		t.Errorf("%d events stored, want %d", len(evs), len(want))
	}
}

func expectedEvent(tn string, c checkpoint) string {
	return "ups:" + tn + "|" + c.At.UTC().Format(time.RFC3339) + "|" + c.RawTag
}
