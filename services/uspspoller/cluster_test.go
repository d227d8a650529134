package uspspoller_test

import (
	"context"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/services/uspspoller"
)

// TestReplicasNeverDoublePollAcrossNodeFailure: two replicas share the R3
// schedule bucket on a 3-node cluster; the node leading the bucket is shut
// down while a round of polls is due, and brought back. The compare-and-set
// claims are decided by whichever node leads the bucket, so across the
// election every shipment is still polled exactly once per due time.
func TestReplicasNeverDoublePollAcrossNodeFailure(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	c.EnsureStreams(3)
	h := newClusterHarness(t, c)
	nums := numbers("9400CLUSTER", 30)
	h.start("a", nil)
	h.start("b", nil)
	ctx := context.Background()
	s, err := h.js.Stream(ctx, "KV_"+uspspoller.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	if r := s.CachedInfo().Config.Replicas; r != 3 {
		t.Fatalf("schedule bucket has %d replicas, want 3", r)
	}

	h.scheduleAll(nums)
	h.waitFound(len(nums))
	h.checkEachPolled(nums, 1)

	due := h.latestDue(nums)
	leader := c.WaitStreamLeader("KV_"+uspspoller.Bucket, 30*time.Second)
	c.Shutdown(leader)
	h.clock.Set(due) // a whole round due while the bucket elects a leader
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if n := h.usps.Counts().Found; n >= 2*len(nums) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d found answers after the node failure, want %d", h.usps.Counts().Found, 2*len(nums))
		}
		h.clock.Step(100 * time.Millisecond)
		time.Sleep(20 * time.Millisecond)
	}
	c.Restart(leader)
	if err := c.WaitHealthy(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	h.latestDue(nums) // every claim written back
	h.checkEachPolled(nums, 2)
	if n := h.usps.Counts().Found; n != 2*len(nums) {
		t.Errorf("%d polls answered, want %d", n, 2*len(nums))
	}
}
