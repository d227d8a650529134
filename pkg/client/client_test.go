package client_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/client"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func publish(t *testing.T, js jetstream.JetStream, tn string, s tracking.Status, at time.Time) tracking.Event {
	t.Helper()
	e := tracking.Event{Carrier: "ups", TrackingNumber: tn, Status: s, CarrierStatus: string(s), OccurredAt: at,
		OccurredAtPrecision: tracking.PrecisionSecond, Source: "wineshipping", RawEventID: "r"}
	e.Normalize()
	msg, err := shipments.Message(e.Subject(), &e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	return e
}

type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) add(id string) { r.mu.Lock(); r.seen = append(r.seen, id); r.mu.Unlock() }
func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

func waitFor(t *testing.T, check func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for err := check(); err != nil; err = check() {
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestFilterBackfillAndResume(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	old := publish(t, js, "1ZOLD", tracking.FailedAttempt, at)
	publish(t, js, "1ZOLD", tracking.Delivered, at.Add(time.Hour))

	rec := &recorder{}
	h := func(_ context.Context, e tracking.Event) error {
		if e.Status != tracking.FailedAttempt {
			return fmt.Errorf("filter let %s through", e.Status)
		}
		rec.add(e.ID)
		return nil
	}
	sub, err := client.Subscribe(ctx, js, client.Filter{Status: tracking.FailedAttempt}, "alerts", h, client.Since(time.Now().Add(-time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	live := publish(t, js, "1ZNEW", tracking.FailedAttempt, at)
	publish(t, js, "1ZNEW", tracking.OutForDelivery, at)
	waitFor(t, func() error {
		if got := rec.list(); len(got) != 2 || got[0] != old.ID || got[1] != live.ID {
			return fmt.Errorf("delivered %v, want the backfilled then the live failed attempt", got)
		}
		return nil
	})
	sub.Stop()

	// A restart with the same durable name resumes: nothing handled twice.
	later := publish(t, js, "1ZLATER", tracking.FailedAttempt, at)
	sub, err = client.Subscribe(ctx, js, client.Filter{Status: tracking.FailedAttempt}, "alerts", h)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	waitFor(t, func() error {
		if got := rec.list(); len(got) != 3 || got[2] != later.ID {
			return fmt.Errorf("after resume %v", got)
		}
		return nil
	})
	if n, err := sub.Pending(ctx); err != nil || n != 0 {
		t.Errorf("pending %d %v", n, err)
	}
}

func TestRetriesThenGivesUp(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx := context.Background()
	at := time.Now()
	flaky := publish(t, js, "1ZFLAKY", tracking.Exception, at)
	poison := publish(t, js, "1ZPOISON", tracking.Exception, at)
	after := publish(t, js, "1ZAFTER", tracking.Exception, at)

	var mu sync.Mutex
	attempts := map[string]int{}
	var finals []string
	ok := &recorder{}
	sub, err := client.Subscribe(ctx, js, client.Filter{Carrier: "UPS"}, "ops", func(_ context.Context, e tracking.Event) error {
		mu.Lock()
		attempts[e.ID]++
		n := attempts[e.ID]
		mu.Unlock()
		if e.ID == poison.ID || (e.ID == flaky.ID && n < 3) {
			return errors.New("downstream unavailable")
		}
		ok.add(e.ID)
		return nil
	}, client.Since(at.Add(-time.Minute)), client.MaxDeliver(4), client.Backoff(10*time.Millisecond, 50*time.Millisecond),
		client.OnError(func(e tracking.Event, _ error, final bool) {
			if final {
				mu.Lock()
				finals = append(finals, e.ID)
				mu.Unlock()
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	waitFor(t, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(finals) != 1 || len(ok.list()) != 2 {
			return fmt.Errorf("finals %v, handled %v", finals, ok.list())
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	if finals[0] != poison.ID || attempts[poison.ID] != 4 || attempts[flaky.ID] != 3 || attempts[after.ID] != 1 {
		t.Errorf("attempts %v finals %v", attempts, finals)
	}
}

func TestFilterSubject(t *testing.T) {
	tests := []struct {
		f    client.Filter
		want string
	}{
		{client.Filter{}, "shipments.*.*.*"},
		{client.Filter{Status: tracking.FailedAttempt}, "shipments.*.*.failed_attempt"},
		{client.Filter{Carrier: "UPS", TrackingNumber: "1z 59.x"}, "shipments.ups.1Z59_X.*"},
	}
	for _, tt := range tests {
		if got := tt.f.Subject(); got != tt.want {
			t.Errorf("%+v: %s, want %s", tt.f, got, tt.want)
		}
	}
}
