package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// TestRawLeaderFailover is the short cluster proof (make test): a 3-node
// cluster, R3 streams, two replicas each of ingress, normalizer and
// projector, a steady webhook load; the node leading RAW is shut down and
// brought back mid-load. Afterwards nothing answered 200 is lost, nothing
// is duplicated, every shipment's status is the one its events give, the
// non-late events of every shipment are in carrier-time order, and the
// cluster is healthy again. It reports how long ingress answered 503.
func TestRawLeaderFailover(t *testing.T) {
	p := newPipeline(t, nil)
	for _, svc := range []string{"ingress", "normalizer", "projector"} {
		p.start(svc, false)
		p.start(svc, false)
	}
	p.openDB()

	hooks := webhookload.Generate(webhookload.Config{Shipments: 40, Seed: 10})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	l := p.post(ctx, hooks, 40, 8)

	poll.Until(t, 2*time.Minute, func() error { return progress(l, len(hooks), 4) })
	leader := p.c.WaitStreamLeader(streams.Raw, 30*time.Second)
	t.Logf("shutting down %s, leader of RAW, after %d of %d webhooks", p.c.Name(leader), len(hooks)-int(l.remaining.Load()), len(hooks))
	down := time.Now()
	p.c.Shutdown(leader)
	newLeader := p.c.WaitStreamLeader(streams.Raw, time.Minute)
	t.Logf("RAW leader %s elected %v after the shutdown", p.c.Name(newLeader), time.Since(down).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // the load goes on with one node down
	p.c.Restart(leader)
	if err := p.c.WaitHealthy(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("cluster healthy again %v after the shutdown", time.Since(down).Round(time.Millisecond))

	poll.Until(t, 5*time.Minute, func() error { return progress(l, len(hooks), 1) })
	poll.Until(t, 5*time.Minute, func() error { return p.settled(ctx) })
	for _, f := range l.failures {
		t.Error(f)
	}
	t.Logf("ingress answered 503: %s (%d requests in all)", l.unavailable(), l.posted.Load())
	p.verify(ctx, l)
}

// progress reports nil once at least 1/frac of the webhooks are answered
// for good.
func progress(l *load, total, frac int) error {
	if done := total - int(l.remaining.Load()); done < total/frac {
		return fmt.Errorf("load: %d of %d webhooks answered", done, total)
	}
	return nil
}
