package normalizer_test

import (
	"testing"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestSeedWebhooksNormalized(t *testing.T) {
	h := newHarness(t, nil)
	h.start()
	body, hdr := fixture(t, "wineshipping", "seed-tracking-update")
	h.publishRaw("wineshipping", body, hdr)
	body, hdr = fixture(t, "carriyo", "seed-delivered")
	h.publishRaw("carriyo", body, hdr)

	evs := h.waitEvents(12 + 4)
	groups := byShipment(evs)
	ups := groups["ups:1Z59E877A871526000"]
	if len(ups) != 12 {
		t.Fatalf("wineshipping: %d events, want 12", len(ups))
	}
	for i := 1; i < len(ups); i++ {
		if tracking.Before(&ups[i], &ups[i-1]) {
			t.Errorf("event %d emitted before an earlier one", i)
		}
	}
	if last := ups[len(ups)-1]; last.Status != tracking.Delivered || last.Late {
		t.Errorf("last event %+v", last)
	}
	dhl := groups["dhl:DHL-9123-7700-1234"]
	want := []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.OutForDelivery, tracking.Delivered}
	if len(dhl) != len(want) {
		t.Fatalf("carriyo: %+v", dhl)
	}
	for i, s := range want {
		if dhl[i].Status != s {
			t.Errorf("carriyo event %d: %s, want %s", i, dhl[i].Status, s)
		}
	}
}
