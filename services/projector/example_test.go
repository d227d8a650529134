package projector_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/shipments"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// followFailedAttempts is what a subscriber writes (docs/subscribing.md):
// its own durable consumer on SHIPMENTS, filtered to one status, that
// backfills from since when it is first created and resumes where it
// stopped ever after. handle returning nil acks the event; an error
// redelivers it later; after 10 attempts the event is given up.
func followFailedAttempts(ctx context.Context, js jetstream.JetStream, since time.Time,
	handle func(tracking.Event) error) (jetstream.ConsumeContext, error) {
	const name = "support-failed-attempts" // one durable name per subscribing service
	cons, err := js.Consumer(ctx, "SHIPMENTS", name)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		// The start time only applies when the consumer is created: to
		// backfill again, delete it or use a new name.
		cons, err = js.CreateConsumer(ctx, "SHIPMENTS", jetstream.ConsumerConfig{
			Durable:       name,
			FilterSubject: "shipments.*.*.failed_attempt", // shipments.<carrier>.<tracking>.<status>
			DeliverPolicy: jetstream.DeliverByStartTimePolicy,
			OptStartTime:  &since, // when SHIPMENTS stored the event, not the carrier time
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       time.Minute,
			MaxDeliver:    10,
		})
	}
	if err != nil {
		return nil, err
	}
	return cons.Consume(func(msg jetstream.Msg) {
		e, err := shipments.Decode(msg.Headers(), msg.Data())
		if err != nil {
			_ = msg.TermWithReason(err.Error()) // not an event this code understands
			return
		}
		if err := handle(e); err != nil {
			_ = msg.NakWithDelay(30 * time.Second)
			return
		}
		_ = msg.Ack()
	})
}

// A subscriber following failed delivery attempts, backfilled from the last
// day: it gets the two failed attempts already stored and the one that
// follows, and none of the other events.
func Example_subscribeFailedAttempts() {
	js, stop := exampleServer()
	defer stop()
	ctx := context.Background()
	publish := func(events ...tracking.Event) {
		for i := range events {
			msg, _ := shipments.Message(events[i].Subject(), &events[i])
			if _, err := js.PublishMsg(ctx, msg); err != nil {
				fmt.Println(err)
			}
		}
	}
	// Stored before the subscriber starts: the backfill.
	publish(event("ups", "1Z0001", tracking.InTransit, 0), event("ups", "1Z0001", tracking.FailedAttempt, 60),
		event("usps", "9400111899223512345670", tracking.FailedAttempt, 90), event("ups", "1Z0002", tracking.Delivered, 100))

	got := make(chan tracking.Event, 10)
	cc, err := followFailedAttempts(ctx, js, time.Now().Add(-24*time.Hour), func(e tracking.Event) error {
		got <- e
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer cc.Stop()
	// Stored while it runs: live.
	publish(event("ups", "1Z0001", tracking.OutForDelivery, 120), event("ups", "1Z0001", tracking.FailedAttempt, 180))

	for range 3 {
		select {
		case e := <-got:
			fmt.Println(e.ShipmentKey, e.Status, e.OccurredAt.Format(time.RFC3339))
		case <-time.After(10 * time.Second):
			fmt.Println("timed out")
			return
		}
	}
	// Output:
	// ups:1Z0001 failed_attempt 2025-10-20T09:00:00Z
	// usps:9400111899223512345670 failed_attempt 2025-10-20T09:30:00Z
	// ups:1Z0001 failed_attempt 2025-10-20T11:00:00Z
}

// exampleServer starts an embedded JetStream with waybill's streams.
func exampleServer() (jetstream.JetStream, func()) {
	dir, err := os.MkdirTemp("", "waybill-example-")
	if err != nil {
		panic(err)
	}
	srv, err := streams.StartEmbedded(streams.EmbeddedConfig{StoreDir: dir}, zerolog.Nop())
	if err != nil {
		panic(err)
	}
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		panic(err)
	}
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		panic(err)
	}
	return js, func() { nc.Close(); srv.Stop(); os.RemoveAll(dir) }
}
