package projector_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Postgres refuses connections for a while in the middle of the stream:
// the projector holds its batches, reports not-ready, retries, and once
// Postgres is back every event lands exactly once, nothing is
// dead-lettered and it is ready again.
func TestPostgresOutage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, map[string]string{
		// A short AckWait, so batches waiting in the iterator during the
		// outage are redelivered too: duplicates the projection absorbs.
		"PROJECTOR_ACK_WAIT": "3s", "PROJECTOR_RETRY_MAX": "200ms", "PROJECTOR_BATCH_SIZE": "20",
	})
	proxy, viaProxy := newPGProxy(t, h.dbURL)
	h.env["DATABASE_URL"] = viaProxy
	h.start()

	events := history(40, 6)
	third := len(events) / 3
	h.publish(events[:third]...)
	h.waitEvents(third)

	proxy.Cut()
	h.publish(events[third : 2*third]...)
	poll.Until(t, 20*time.Second, func() error {
		failed := h.ops.Ready(context.Background())
		if failed["postgres"] == "" {
			return errors.New("still ready with Postgres unreachable")
		}
		if h.metric("waybill_projector_postgres_up") != 0 {
			return errors.New("waybill_projector_postgres_up is not 0")
		}
		// Down for a while: several retries, not one blip.
		if n := h.metric("waybill_projector_write_retries_total"); n < 5 {
			return fmt.Errorf("%v retries so far", n)
		}
		return nil
	})
	h.publish(events[2*third:]...)
	// Still down: nothing was acked since the cut.
	if err := h.settled(); err == nil {
		t.Fatal("consumer settled while Postgres was unreachable")
	}

	proxy.Restore()
	h.waitEvents(len(events))
	if got, want := tableHash(t, h.pool()), expectedHash(t, events); got != want {
		t.Errorf("projection hash %s, want %s", got, want)
	}
	var dups int
	if err := h.pool().QueryRow(context.Background(),
		"SELECT count(*) - count(DISTINCT id) FROM waybill.shipment_events").Scan(&dups); err != nil || dups != 0 {
		t.Errorf("%d duplicate rows (%v)", dups, err)
	}
	if dl := h.stored(streams.DeadLetter); len(dl) > 0 {
		t.Errorf("%d messages dead-lettered by an outage", len(dl))
	}
	if h.metric("waybill_projector_write_retries_total") == 0 {
		t.Error("no write was retried")
	}
	poll.Until(t, 10*time.Second, func() error {
		if failed := h.ops.Ready(context.Background()); len(failed) > 0 {
			return fmt.Errorf("not ready after Postgres returned: %v", failed)
		}
		return nil
	})
}
