package proof

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/webhookload"
)

// soak is set by `make soak`: larger, longer loads with the fault repeated,
// and the slow-consumer test.
var soak = os.Getenv("WAYBILL_SOAK") != ""

// size is a test's load: shipments (5-15 checkpoints each, about ten
// webhooks a shipment) posted over duration.
type size struct {
	shipments int
	duration  time.Duration
}

// The short size keeps each test well under a minute in `make test`.
var (
	short = size{shipments: 150, duration: 15 * time.Second}
	long  = size{shipments: 2000, duration: 3 * time.Minute}
)

// scenario is one fault test: a stack, a steady load, a fault injected and
// recovered from at each point (the share of the webhooks sent by then),
// the load run to its end, then the result verified.
type scenario struct {
	size   size
	seed   int64
	opts   stackOptions
	points []float64
	fault  func(s *stack, i int) // the i-th injection, recovered from on return
}

// at gives the fault points: one in the middle of a short load, several
// along a soak's.
func at(shortPoint float64, soakPoints ...float64) []float64 {
	if soak {
		return soakPoints
	}
	return []float64{shortPoint}
}

func (sc scenario) run(t *testing.T) *stack {
	if sc.size == (size{}) {
		sc.size = short
		if soak {
			sc.size = long
		}
	}
	hooks := webhookload.Generate(webhookload.Config{
		Shipments: sc.size.shipments, Seed: sc.seed,
		RetryRate: 0.10, ReorderRate: 0.05, MalformedRate: 0.01,
		Now: time.Now(),
	})
	pre := premap(hooks)
	t0 := time.Now()
	s := newStack(t, sc.opts)
	s.start()
	t.Logf("stack ready in %v", time.Since(t0).Round(time.Millisecond))
	// The load's own budget: every webhook gets its final answer well
	// within it once the faults are over, and the test ends even if not.
	ctx, cancel := context.WithTimeout(context.Background(), sc.size.duration+5*time.Minute)
	defer cancel()
	l := startLoad(ctx, t, s, hooks, sc.size.duration)
	for i, p := range sc.points {
		l.waitDispatched(p)
		began, sent := time.Now(), l.dispatched.Load()
		sc.fault(s, i)
		t.Logf("fault %d injected after %d of %d webhooks, recovered from in %v",
			i+1, sent, len(hooks), time.Since(began).Round(time.Millisecond))
	}
	l.wait()
	t1 := time.Now()
	verify(s, l, pre)
	t.Logf("verified in %v", time.Since(t1).Round(time.Millisecond))
	return s
}

// killAndRestart is kill -9 of one service, restarted a second later (a
// supervisor's restart delay) while the load goes on.
func killAndRestart(s *stack, p *proc) {
	p.kill()
	time.Sleep(time.Second)
	s.restart(p)
}

// Each service is killed with SIGKILL in the middle of the load and
// restarted (four times along a soak): webhooks in flight at ingress get a
// connection error and are retried; the normalizer's and the projector's
// unacknowledged messages (reorder buffers, batches in flight) are
// redelivered. Nothing accepted is lost or duplicated.
func TestKillIngress(t *testing.T) {
	scenario{seed: 1, points: at(0.4, 0.2, 0.4, 0.6, 0.8), fault: func(s *stack, _ int) {
		killAndRestart(s, s.ingress)
	}}.run(t)
}

func TestKillNormalizer(t *testing.T) {
	scenario{seed: 2, points: at(0.4, 0.2, 0.4, 0.6, 0.8), fault: func(s *stack, _ int) {
		killAndRestart(s, s.normalizer)
	}}.run(t)
}

func TestKillProjector(t *testing.T) {
	scenario{seed: 3, points: at(0.4, 0.2, 0.4, 0.6, 0.8), fault: func(s *stack, _ int) {
		killAndRestart(s, s.projector)
	}}.run(t)
}

// Soak: every service killed in turn in one run, twice over.
func TestKillEachInTurn(t *testing.T) {
	if !soak {
		t.Skip("soak only (WAYBILL_SOAK=1): the short tests kill each service on its own")
	}
	scenario{seed: 4, points: []float64{0.1, 0.2, 0.3, 0.5, 0.6, 0.7}, fault: func(s *stack, i int) {
		killAndRestart(s, []*proc{s.ingress, s.normalizer, s.projector}[i%3])
	}}.run(t)
}

// The JetStream server is stopped in the middle of the load, longer than
// ingress's publish timeout (5 s), and restarted on the same port and
// store: ingress answers 503 meanwhile (the providers retry; a publish
// that waited in the client's reconnect buffer is stored on reconnect and
// its retry is a duplicate), every service reconnects and carries on.
func TestJetStreamRestart(t *testing.T) {
	scenario{seed: 5, points: at(0.35, 0.2, 0.45, 0.7), fault: func(s *stack, _ int) {
		s.nats.Stop()
		time.Sleep(8 * time.Second)
		s.nats.Restart()
	}}.run(t)
}

// Postgres refuses the projector's connections (and breaks the open ones)
// for 10 s in the middle of the load: the projector holds and retries, and
// catches up once it is back.
func TestPostgresOutage(t *testing.T) {
	sc := scenario{seed: 6, points: at(0.25, 0.2, 0.5, 0.8), fault: func(s *stack, _ int) {
		s.pg.cut()
		time.Sleep(10 * time.Second)
		s.pg.restore()
	}}
	if !soak {
		sc.size = size{shipments: short.shipments, duration: 20 * time.Second} // the outage sits inside the load
	}
	sc.run(t)
}
