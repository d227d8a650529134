package normalizer

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	_ "github.com/waybill-dev/waybill/pkg/providers/all" // every provider registers itself
	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// Durable consumer names.
const (
	MapperConsumer = "normalizer"
	orderPrefix    = "normalizer-order-"
)

// OrderConsumer is the durable consumer of one CANDIDATES partition.
func OrderConsumer(partition int) string { return orderPrefix + strconv.Itoa(partition) }

// Run connects, makes sure streams, consumers and the state bucket exist,
// and normalizes until ctx ends; then it drains: no new raw messages, what
// is being mapped is stored and acked, what is buffered is emitted.
func Run(ctx context.Context, cfg Config, log zerolog.Logger, ops *service.Ops) error {
	nc, js, err := streams.Connect(cfg.NATSURL, "waybill-normalizer", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	ops.AddProbe("nats", service.NATSProbe(nc, js))
	if err := streams.EnsureWithRetry(ctx, js, cfg.Streams, log); err != nil {
		return err
	}
	pub, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(10*time.Second), jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		return err
	}
	partitions, err := streams.Partitions(ctx, js)
	if err != nil {
		return err
	}
	states, err := newStateStore(ctx, pub, cfg.StateTTL, cfg.Streams.Replicas, cfg.StateCache)
	if err != nil {
		return err
	}
	m := newMetrics(ops.Registry)

	rawCons, err := js.CreateOrUpdateConsumer(ctx, streams.Raw, jetstream.ConsumerConfig{
		Durable: MapperConsumer, Description: "normalizer mapping: raw.> -> CANDIDATES",
		FilterSubject: "raw.>", AckPolicy: jetstream.AckExplicitPolicy, AckWait: cfg.AckWait,
		MaxAckPending: 8192, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return fmt.Errorf("normalizer: raw consumer: %w", err)
	}
	// One pinned consumer per partition: every replica pulls them all, the
	// server hands each partition to one replica at a time (ownership.go).
	var orderCons []jetstream.Consumer
	for p := 0; p < partitions; p++ {
		c, err := js.CreateOrUpdateConsumer(ctx, streams.Candidates, orderConsumerConfig(p, cfg))
		if err != nil {
			return fmt.Errorf("normalizer: partition %d consumer: %w", p, err)
		}
		orderCons = append(orderCons, c)
	}

	ln, err := service.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info().Int("partitions", partitions).Dur("reorder_window", cfg.ReorderWindow).Dur("pinned_ttl", cfg.PinnedTTL).Msg("normalizer started")

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	go func() { errc <- service.Serve(httpCtx, log, ln, ops.Handler(), cfg.ShutdownTimeout) }()

	candidatesPub, err := streams.NewPublisher(ctx, pub, streams.Candidates)
	if err != nil {
		return err
	}
	mp := &mapper{js: pub, candidates: candidatesPub, stored: newStoredIDs(storedCapacity), partitions: partitions, m: m, log: log}
	wg.Add(1)
	go func() { defer wg.Done(); errc <- mp.run(ctx, rawCons) }()

	in := make(chan jetstream.Msg, 1024)
	owned := &pins{}
	readers := &sync.WaitGroup{}
	for p, c := range orderCons {
		it, err := pullPartition(c, cfg)
		if err != nil {
			return fmt.Errorf("normalizer: partition %d consumer: %w", p, err)
		}
		readers.Add(1)
		go func() { defer readers.Done(); readPartition(ctx, p, it, in, owned, log) }()
	}
	shipmentsPub, err := streams.NewPublisher(ctx, pub, streams.Shipments)
	if err != nil {
		return err
	}
	o := newOrderer(cfg, pub, shipmentsPub, states, m, partitions, log)
	wg.Add(1)
	go func() { defer wg.Done(); o.run(ctx, in) }()
	wg.Add(1)
	go func() { defer wg.Done(); trimLoop(ctx, js, partitions, log) }()

	<-ctx.Done()
	log.Info().Msg("draining")
	wg.Wait()
	readers.Wait()
	// Fetched but never buffered: back to the stream for the next owner.
	for len(in) > 0 {
		_ = (<-in).Nak()
	}
	unpinCtx, cancelUnpin := context.WithTimeout(context.Background(), 5*time.Second)
	unpinOwned(unpinCtx, js, owned, log)
	cancelUnpin()
	_ = nc.FlushTimeout(5 * time.Second)
	stopHTTP()
	for len(errc) > 0 {
		if err := <-errc; err != nil {
			return err
		}
	}
	return nil
}
