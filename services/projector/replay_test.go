package projector_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/services/projector"
)

// A replay into a bulk rebuild (projection.BulkLoad, as `waybill replay
// projection` runs it) is, once Replay returns, the projection the live
// projector wrote from the same stream: late events, the same event
// stored twice, a message that is not an event, small batches written by
// four writers at once.
func TestReplayBulkRebuildMatchesLive(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{"PROJECTOR_MAX_DELIVER": "2", "PROJECTOR_RETRY_MAX": "100ms", "PROJECTOR_BATCH_WAIT": "50ms"})
	h.start()
	events := history(40, 6)
	h.publish(events[:100]...)
	bad := &nats.Msg{Subject: "shipments.ups.1ZBAD1.in_transit", Header: nats.Header{}, Data: []byte("{not json")}
	h.publishMsg(bad)
	h.publish(events[100:]...)
	const repeated = 12
	for _, e := range events[50 : 50+repeated] {
		msg, err := shipments.Message(e.Subject(), &e)
		if err != nil {
			t.Fatal(err)
		}
		msg.Header.Set(nats.MsgIdHdr, "again-"+e.ID)
		h.publishMsg(msg)
	}
	h.waitEvents(len(events))
	live := tableHash(t, h.pool())

	ctx := context.Background()
	rb, err := projection.New(h.pool()).BeginRebuild(ctx, projection.BulkLoad())
	if err != nil {
		t.Fatal(err)
	}
	res, err := projector.Replay(ctx, h.js, rb, projector.ReplayOptions{BatchSize: 7, Writers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(len(events) + 1 + repeated); res.Messages != want || res.Inserted != len(events) ||
		res.Duplicates != repeated || res.Rejected != 1 {
		t.Errorf("replay %+v, want %d messages: %d inserted, %d duplicates, 1 rejected", res, want, len(events), repeated)
	}
	got, err := projection.TableHash(ctx, h.pool(), "waybill_rebuild")
	if err != nil {
		t.Fatal(err)
	}
	if got != live {
		t.Errorf("bulk rebuild hashes %s, the live projection %s", got, live)
	}
}
