package uspspoller_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/ingress"
	"github.com/waybill-dev/waybill/services/normalizer"
	"github.com/waybill-dev/waybill/services/uspspoller"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

// TestTenoviShipmentEndToEnd: a Tenovi "Shipped" webhook with a USPS link
// goes through ingress and the normalizer to SHIPMENTS; the poller puts it
// on the schedule and polls the fake USPS (short intervals, real clock);
// each response goes through raw.usps and the normalizer back to
// SHIPMENTS, in carrier order; the delivered event takes the shipment off
// the schedule and the polls stop.
func TestTenoviShipmentEndToEnd(t *testing.T) {
	const number = "9400111899223512345670"
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithCancel(context.Background())
	var running []chan error
	t.Cleanup(func() {
		cancel()
		for _, done := range running {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
	run := func(f func() error) {
		done := make(chan error, 1)
		running = append(running, done)
		go func() { done <- f() }()
	}
	connect := func() *nats.Conn {
		nc, err := nats.Connect(srv.URL(), nats.MaxReconnects(-1))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		return nc
	}
	load := func(vars map[string]string) *service.Env {
		vars["NATS_URL"] = srv.URL()
		vars["HTTP_ADDR"] = "127.0.0.1:0"
		return service.EnvFrom(vars)
	}

	// ingress
	env := load(map[string]string{"WAYBILL_AUTH_TENOVI": "header:Authorization:tenovi-token"})
	icfg := ingress.LoadConfig(env)
	in, err := ingress.New(icfg, connect(), zerolog.Nop(), service.NewOps())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := service.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	run(func() error { return in.Serve(ctx, ln) })

	// normalizer
	env = load(map[string]string{"NORMALIZER_REORDER_WINDOW": "200ms", "NORMALIZER_ACK_WAIT": "6s"})
	ncfg := normalizer.LoadConfig(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	run(func() error { return normalizer.Run(ctx, ncfg, zerolog.Nop(), service.NewOps()) })

	// fake USPS: one more event per poll, from label created to delivered
	fake := uspsfake.New()
	fake.Script(number, uspsfake.Script{NotFound: 1, Events: uspsfake.Delivered})
	hs := httptest.NewServer(fake)
	t.Cleanup(hs.Close)

	// poller
	env = load(map[string]string{
		"USPS_BASE_URL": hs.URL, "USPS_CLIENT_ID": "fake-client", "USPS_CLIENT_SECRET": "fake-secret",
		"USPS_POLL_INTERVAL": "300ms", "USPS_POLL_JITTER": "100ms", "USPS_RATE_LIMIT": "1000000",
	})
	pcfg := uspspoller.LoadConfig(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	p, err := uspspoller.New(ctx, pcfg, connect(), zerolog.Nop(), service.NewOps())
	if err != nil {
		t.Fatal(err)
	}
	run(func() error { return p.Run(ctx) })

	// The webhook of Tenovi's recipe.
	body := []byte(`{"hwi_device_id":"12345678-abcd-1234-abcd-1234567890ab","patient_id":"patient-external-id-001",` +
		`"hardware_uuid":"aabbcc001122","sensor_code":"10","device_name":"Tenovi BPM - L","status":"Shipped",` +
		`"tracking_link":"https://tools.usps.com/go/TrackConfirmAction?tLabels=` + number + `"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/webhooks/tenovi", bytes.NewReader(body))
	req.Header.Set("Authorization", "tenovi-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}

	// Off the schedule once delivered.
	kv := func() (uspspoller.Entry, bool) {
		h := &harness{t: t, js: js}
		return h.entry(number)
	}
	checkFor(t, 60*time.Second, 20*time.Millisecond, func() error {
		e, ok := kv()
		if !ok || e.State != uspspoller.Off || e.Reason != string(tracking.Delivered) {
			return fmt.Errorf("entry %+v (exists %v); fake %+v", e, ok, fake.Counts())
		}
		return nil
	})
	polls := fake.Requests(number)
	// Absence needs a wait: several intervals pass without a poll.
	time.Sleep(time.Second)
	if n := fake.Requests(number); n != polls {
		t.Errorf("%d polls after the shipment was delivered", n-polls)
	}

	// SHIPMENTS holds Tenovi's event and every USPS event, in carrier order.
	events := shipmentEvents(t, js, "shipments.usps."+number+".>")
	var sources []string
	var statuses []tracking.Status
	var last time.Time
	for _, e := range events {
		sources = append(sources, e.Source)
		if e.Source != "usps" {
			continue
		}
		statuses = append(statuses, e.Status)
		if e.OccurredAt.Before(last) {
			t.Errorf("USPS event %s at %v after one at %v: not in carrier order", e.Status, e.OccurredAt, last)
		}
		last = e.OccurredAt
	}
	want := []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.InTransit, tracking.InTransit,
		tracking.InTransit, tracking.OutForDelivery, tracking.Delivered}
	if fmt.Sprint(statuses) != fmt.Sprint(want) {
		t.Errorf("USPS statuses %v, want %v", statuses, want)
	}
	if len(sources) == 0 || sources[0] != "tenovi" {
		t.Errorf("sources %v, want Tenovi's event first", sources)
	}
	t.Logf("%d polls (the first a 404), %d events on SHIPMENTS", polls, len(events))
}

// shipmentEvents reads the SHIPMENTS events on filter, in stream order.
func shipmentEvents(t *testing.T, js jetstream.JetStream, filter string) []tracking.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, streams.Shipments, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []tracking.Event
	for n := info.NumPending; n > 0; n-- {
		m, err := c.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		e, err := shipments.Decode(m.Headers(), m.Data())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}
