package streams

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// BenchmarkBatchCommit stores 640-byte messages (a normalized event's size)
// as atomic batches of each size, committed one at a time or several at
// once, on an embedded server with sync_interval: always: what a batch's
// size and pipelining buy on this disk.
func BenchmarkBatchCommit(b *testing.B) {
	srv, err := StartEmbedded(EmbeddedConfig{StoreDir: b.TempDir(), SyncAlways: true}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "B", Subjects: []string{"b.>"}, Storage: jetstream.FileStorage, AllowAtomicPublish: true}); err != nil {
		b.Fatal(err)
	}
	p, err := NewPublisher(ctx, js, "B")
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, 640)
	for _, size := range []int{64, 256, 1000} {
		for _, inflight := range []int{1, 4} {
			b.Run(fmt.Sprintf("size=%d/inflight=%d", size, inflight), func(b *testing.B) {
				var wg sync.WaitGroup
				work := make(chan struct{})
				for range inflight {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range work {
							msgs := make([]*nats.Msg, size)
							for i := range msgs {
								msgs[i] = &nats.Msg{Subject: fmt.Sprintf("b.%d", i%16), Data: data}
							}
							if _, err := p.Batch(ctx, msgs); err != nil {
								b.Error(err)
							}
						}
					}()
				}
				for i := 0; i < b.N; i++ {
					work <- struct{}{}
				}
				close(work)
				wg.Wait()
				b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
