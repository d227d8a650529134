package cluster_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/poll"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// TestSoakFailures is the long cluster proof (make soak, WAYBILL_SOAK=1):
// under a longer steady load, in turn the node leading RAW is shut down and
// brought back, a normalizer replica is killed with SIGKILL (its buffered
// and in-flight candidates move to the other replica), and a projector
// replica is killed with SIGKILL (its unacked batches are redelivered to
// the other); each killed replica is replaced, as an orchestrator would.
// The end state is checked as in the short test, after every failure.
func TestSoakFailures(t *testing.T) {
	if os.Getenv("WAYBILL_SOAK") == "" {
		t.Skip("long cluster test: set WAYBILL_SOAK=1 (make soak)")
	}
	p := newPipeline(t, nil)
	p.start("ingress", false)
	p.start("ingress", false)
	norm := []*replica{p.start("normalizer", true), p.start("normalizer", true)}
	proj := []*replica{p.start("projector", true), p.start("projector", true)}
	p.openDB()

	hooks := webhookload.Generate(webhookload.Config{Shipments: 300, Seed: 11})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	l := p.post(ctx, hooks, 60, 16)
	at := func(frac int) {
		poll.Until(t, 10*time.Minute, func() error { return progress(l, len(hooks)*frac/10, 1) })
	}

	at(2)
	leader := p.c.WaitStreamLeader(streams.Raw, 30*time.Second)
	down := time.Now()
	p.c.Shutdown(leader)
	p.c.WaitStreamLeader(streams.Raw, time.Minute)
	time.Sleep(5 * time.Second)
	p.c.Restart(leader)
	if err := p.c.WaitHealthy(3 * time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Logf("node %s (RAW leader) down and back: cluster healthy %v after the shutdown", p.c.Name(leader), time.Since(down).Round(time.Millisecond))

	at(4)
	norm[0].kill()
	t.Log("normalizer replica 0 killed (SIGKILL)")
	norm[0] = p.start("normalizer", true)

	at(6)
	proj[0].kill()
	t.Log("projector replica 0 killed (SIGKILL)")
	proj[0] = p.start("projector", true)

	at(10)
	poll.Until(t, 10*time.Minute, func() error { return p.settled(ctx) })
	if err := p.c.Healthy(); err != nil {
		t.Errorf("cluster not healthy at the end: %v", err)
	}
	for _, f := range l.failures {
		t.Error(f)
	}
	t.Logf("ingress answered 503: %s (%d requests in all)", l.unavailable(), l.posted.Load())
	p.verify(ctx, l)
}
