package streams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

// TestClusterReplicasAndLeaderFailover proves, on a real 3-node cluster,
// that Ensure moves every stream from R1 to R3 in place, that a client
// given the comma-separated URL list keeps publishing through the loss of
// the stream leader's node (every acked message is kept), and that the node
// comes back into a healthy cluster with its data.
func TestClusterReplicasAndLeaderFailover(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	if n := strings.Count(c.URLs(), ","); n != 2 {
		t.Fatalf("URLs %q", c.URLs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nc, js, err := streams.Connect(c.URLs(), "test", zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()

	// Created at R1 (one server's deployment), then updated to R3.
	for _, r := range []int{1, 3} {
		if err := streams.EnsureWithRetry(ctx, js, streams.Config{Replicas: r}, zerolog.Nop()); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{streams.Raw, streams.Shipments, streams.DeadLetter, streams.Alerts, streams.Candidates} {
			s, err := js.Stream(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.CachedInfo().Config.Replicas; got != r {
				t.Errorf("%s: %d replicas, want %d", name, got, r)
			}
		}
	}
	if n, err := streams.Partitions(ctx, js); err != nil || n != streams.DefaultPartitions {
		t.Errorf("partitions %d %v after the replica update", n, err)
	}
	poll.Until(t, time.Minute, func() error {
		s, err := js.Stream(ctx, streams.Raw)
		if err != nil {
			return err
		}
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		if info.Cluster == nil || len(info.Cluster.Replicas) != 2 {
			return fmt.Errorf("RAW cluster info %+v", info.Cluster)
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current {
				return fmt.Errorf("RAW replica %s not current", r.Name)
			}
		}
		return nil
	})

	leader := c.WaitStreamLeader(streams.Raw, 30*time.Second)
	acked := 0
	publish := func(n int) {
		for i := 0; i < n; i++ {
			id := fmt.Sprintf("m-%d", acked)
			// The caller's retry: an unanswered publish is retried with the
			// same msg id until acked (what a provider does after a 503).
			for {
				pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
				_, err := js.Publish(pctx, "raw.test", []byte(id), jetstream.WithMsgID(id))
				pcancel()
				if err == nil {
					break
				}
				if ctx.Err() != nil {
					t.Fatalf("publish %s: %v", id, err)
				}
				time.Sleep(100 * time.Millisecond)
			}
			acked++
		}
	}
	publish(50)
	c.Shutdown(leader)
	publish(50) // through the election
	if got := c.WaitStreamLeader(streams.Raw, 30*time.Second); got == leader {
		t.Fatalf("leader still node %d after its shutdown", leader)
	}
	c.Restart(leader)
	publish(50)
	if err := c.WaitHealthy(2 * time.Minute); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, streams.Raw)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != uint64(acked) {
		t.Fatalf("RAW holds %d messages, %d were acked", info.State.Msgs, acked)
	}
}
