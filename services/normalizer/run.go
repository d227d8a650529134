package normalizer

import (
	"context"
	"errors"
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
	var orderCons []jetstream.Consumer
	for p := 0; p < partitions; p++ {
		c, err := js.CreateOrUpdateConsumer(ctx, streams.Candidates, jetstream.ConsumerConfig{
			Durable: OrderConsumer(p), Description: "normalizer ordering of one shipment partition",
			FilterSubject: streams.CandidateFilter(p), AckPolicy: jetstream.AckExplicitPolicy,
			// Held events stay unacked for the reorder window: AckWait
			// exceeds it (checked in LoadConfig) and MaxAckPending admits
			// everything the buffers may hold.
			AckWait: cfg.AckWait, MaxAckPending: cfg.MaxBuffered, DeliverPolicy: jetstream.DeliverAllPolicy,
		})
		if err != nil {
			return fmt.Errorf("normalizer: partition %d consumer: %w", p, err)
		}
		orderCons = append(orderCons, c)
	}

	ln, err := service.Listen(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	log.Info().Int("partitions", partitions).Dur("reorder_window", cfg.ReorderWindow).Msg("normalizer started")

	var wg sync.WaitGroup
	errc := make(chan error, 3)
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	go func() { errc <- service.Serve(httpCtx, log, ln, ops.Handler(), cfg.ShutdownTimeout) }()

	mp := &mapper{js: pub, partitions: partitions, m: m, log: log}
	wg.Add(1)
	go func() { defer wg.Done(); errc <- mp.run(ctx, rawCons) }()

	in := make(chan jetstream.Msg, 1024)
	readers := &sync.WaitGroup{}
	for _, c := range orderCons {
		it, err := c.Messages(jetstream.PullMaxMessages(256))
		if err != nil {
			return fmt.Errorf("normalizer: ordering consumer: %w", err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			go func() { <-ctx.Done(); it.Stop() }()
			for {
				msg, err := it.Next()
				if err != nil {
					if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
						return
					}
					log.Warn().Err(err).Msg("ordering consumer")
					continue
				}
				select {
				case in <- msg:
				case <-ctx.Done():
					return // left unacked: redelivered after AckWait
				}
			}
		}()
	}
	o := newOrderer(cfg, pub, states, m, log)
	wg.Add(1)
	go func() { defer wg.Done(); o.run(ctx, in) }()

	<-ctx.Done()
	log.Info().Msg("draining")
	wg.Wait()
	readers.Wait()
	_ = nc.FlushTimeout(5 * time.Second)
	stopHTTP()
	for len(errc) > 0 {
		if err := <-errc; err != nil {
			return err
		}
	}
	return nil
}
