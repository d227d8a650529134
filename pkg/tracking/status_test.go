package tracking_test

import (
	"testing"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// The lifecycle order of DESIGN.md: the rank breaks ties at equal carrier
// time, so changing it changes which event "wins".
func TestStatusRanks(t *testing.T) {
	order := []tracking.Status{
		tracking.Unknown, tracking.Pending, tracking.InfoReceived, tracking.InTransit,
		tracking.OutForDelivery, tracking.AvailableForPickup, tracking.FailedAttempt,
		tracking.Exception, tracking.ReturnToSender, tracking.Delivered, tracking.Returned,
		tracking.Failed, tracking.Cancelled, tracking.Expired,
	}
	if len(tracking.Statuses) != len(order) {
		t.Fatalf("Statuses has %d entries, want %d", len(tracking.Statuses), len(order))
	}
	for i, s := range order {
		if tracking.Statuses[i] != s {
			t.Errorf("Statuses[%d] = %q, want %q", i, tracking.Statuses[i], s)
		}
		if s.Rank() != i {
			t.Errorf("%q.Rank() = %d, want %d", s, s.Rank(), i)
		}
		if !s.Valid() {
			t.Errorf("%q not Valid", s)
		}
		if got, err := tracking.ParseStatus(string(s)); err != nil || got != s {
			t.Errorf("ParseStatus(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []tracking.Status{"", "Delivered", "DELIVERED", "lost", "in-transit"} {
		if s.Valid() || s.Rank() != 0 {
			t.Errorf("%q: Valid %v, Rank %d; want invalid, rank 0", s, s.Valid(), s.Rank())
		}
		if _, err := tracking.ParseStatus(string(s)); err == nil {
			t.Errorf("ParseStatus(%q) accepted it", s)
		}
	}
	// The pairs the tie-break exists for.
	for _, p := range [][2]tracking.Status{
		{tracking.OutForDelivery, tracking.Delivered},
		{tracking.FailedAttempt, tracking.Delivered},
		{tracking.InTransit, tracking.Exception},
		{tracking.ReturnToSender, tracking.Returned},
		{tracking.Unknown, tracking.Pending},
	} {
		if p[0].Rank() >= p[1].Rank() {
			t.Errorf("%q ranks %d, not below %q (%d)", p[0], p[0].Rank(), p[1], p[1].Rank())
		}
	}
}

func TestStatusTerminal(t *testing.T) {
	terminal := map[tracking.Status]bool{
		tracking.Delivered: true, tracking.Returned: true, tracking.Failed: true,
		tracking.Cancelled: true, tracking.Expired: true,
	}
	for _, s := range tracking.Statuses {
		if s.Terminal() != terminal[s] {
			t.Errorf("%q.Terminal() = %v, want %v", s, s.Terminal(), terminal[s])
		}
	}
	if tracking.Status("lost").Terminal() {
		t.Error(`Status("lost").Terminal() = true`)
	}
}
