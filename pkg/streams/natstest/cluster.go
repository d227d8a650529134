package natstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/streams"
)

// account is the account every test client uses (no auth configured).
const account = "$G"

// Cluster is a JetStream cluster of embedded servers owned by one test: each
// node has its own store directory and fixed loopback client and route
// ports, so a node shut down and started again comes back as the same peer
// with its data, and the client URL list never changes.
type Cluster struct {
	t     testing.TB
	name  string
	nodes []*node
}

type node struct {
	mu  sync.Mutex
	cfg streams.EmbeddedConfig
	srv *streams.Embedded // nil while down
}

// StartCluster starts n servers (3 for an R3 cluster) with JetStream,
// routed to each other on loopback, and waits until a JetStream meta leader
// is elected and every node reports healthy. It creates no stream: services
// do that with WAYBILL_STREAM_REPLICAS. Every node is shut down at cleanup.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatal("natstest: a cluster needs at least one node")
	}
	c := &Cluster{t: t, name: "waybill-test"}
	clientPorts, routePorts := freePorts(t, n), freePorts(t, n)
	var routes []string
	for _, p := range routePorts {
		routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
	}
	for i := 0; i < n; i++ {
		c.nodes = append(c.nodes, &node{cfg: streams.EmbeddedConfig{
			Name:     "n" + strconv.Itoa(i+1),
			Port:     clientPorts[i],
			StoreDir: t.TempDir(),
			Cluster:  &streams.ClusterConfig{Name: c.name, Port: routePorts[i], Routes: routes},
		}})
	}
	t.Cleanup(func() {
		for i := range c.nodes {
			c.Shutdown(i)
		}
	})
	// Started together: a JetStream node waits for its peers before it
	// can elect a meta leader.
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.start(i) }()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitHealthy(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// freePorts reserves n loopback ports the kernel considers free. They are
// released before the servers bind them; a collision in that instant fails
// the start loudly rather than silently.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func (c *Cluster) start(i int) error {
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.srv != nil {
		return nil
	}
	e, err := streams.StartEmbedded(nd.cfg, zerolog.Nop())
	if err != nil {
		return fmt.Errorf("natstest: node %s: %w", nd.cfg.Name, err)
	}
	nd.srv = e
	return nil
}

// Size is the number of nodes, up or down.
func (c *Cluster) Size() int { return len(c.nodes) }

// Name is node i's server name (n1, n2, ...).
func (c *Cluster) Name(i int) string { return c.nodes[i].cfg.Name }

// Server is node i's running server, nil while it is down.
func (c *Cluster) Server(i int) *server.Server {
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.srv == nil {
		return nil
	}
	return nd.srv.Server
}

// Up reports whether node i is running.
func (c *Cluster) Up(i int) bool { return c.Server(i) != nil }

// Shutdown stops node i (a node failure; its store stays for Restart).
// Stopping a node that is down does nothing.
func (c *Cluster) Shutdown(i int) {
	nd := c.nodes[i]
	nd.mu.Lock()
	defer nd.mu.Unlock()
	if nd.srv != nil {
		nd.srv.Stop()
		nd.srv = nil
	}
}

// Restart starts node i again with the same name, ports and store, and
// waits until it accepts connections (not until it has caught up: use
// WaitHealthy for that).
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	if err := c.start(i); err != nil {
		c.t.Fatal(err)
	}
}

// URL is node i's client URL.
func (c *Cluster) URL(i int) string {
	return "nats://127.0.0.1:" + strconv.Itoa(c.nodes[i].cfg.Port)
}

// URLs is every node's client URL, comma-separated: a NATS_URL value.
func (c *Cluster) URLs() string {
	var us []string
	for i := range c.nodes {
		us = append(us, c.URL(i))
	}
	return strings.Join(us, ",")
}

// Connect opens a client connection to the cluster (any node, failing over
// to the others) that is closed at cleanup.
func (c *Cluster) Connect() (*nats.Conn, jetstream.JetStream) {
	c.t.Helper()
	nc, err := nats.Connect(c.URLs(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		c.t.Fatal(err)
	}
	return nc, js
}

// MetaLeader is the index of the node leading JetStream's meta group, -1
// when none does.
func (c *Cluster) MetaLeader() int {
	for i := range c.nodes {
		if s := c.Server(i); s != nil && s.JetStreamIsLeader() {
			return i
		}
	}
	return -1
}

// StreamLeader is the index of the node leading stream, -1 when none does
// (an election is under way, or the stream does not exist).
func (c *Cluster) StreamLeader(stream string) int {
	for i := range c.nodes {
		if s := c.Server(i); s != nil && s.JetStreamIsStreamLeader(account, stream) {
			return i
		}
	}
	return -1
}

// ConsumerLeader is the index of the node leading a consumer, -1 when none.
func (c *Cluster) ConsumerLeader(stream, consumer string) int {
	for i := range c.nodes {
		if s := c.Server(i); s != nil && s.JetStreamIsConsumerLeader(account, stream, consumer) {
			return i
		}
	}
	return -1
}

// WaitStreamLeader waits until stream has a leader and returns its node.
func (c *Cluster) WaitStreamLeader(stream string, timeout time.Duration) int {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if i := c.StreamLeader(stream); i >= 0 {
			return i
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("natstest: stream %s has no leader after %v", stream, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Healthy reports nil when every node is up, routed to all others, a meta
// leader is elected, and each node's health check (the one behind
// /healthz: JetStream current, every stream and consumer assigned to it
// caught up) passes.
func (c *Cluster) Healthy() error {
	var errs []error
	for i := range c.nodes {
		s := c.Server(i)
		if s == nil {
			errs = append(errs, fmt.Errorf("%s: down", c.Name(i)))
			continue
		}
		if got := s.NumRoutes(); got < len(c.nodes)-1 {
			errs = append(errs, fmt.Errorf("%s: %d routes, want %d", c.Name(i), got, len(c.nodes)-1))
		}
		if h := s.Healthz(&server.HealthzOptions{}); h.Status != "ok" {
			errs = append(errs, fmt.Errorf("%s: %s %s", c.Name(i), h.Status, h.Error))
		}
	}
	if len(c.nodes) > 1 && c.MetaLeader() < 0 {
		errs = append(errs, errors.New("no JetStream meta leader"))
	}
	return errors.Join(errs...)
}

// WaitHealthy polls Healthy until it passes or timeout ends.
func (c *Cluster) WaitHealthy(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := c.Healthy()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natstest: cluster not healthy after %v: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// EnsureStreams creates (or updates) waybill's streams with the given
// replicas, retrying while the cluster settles.
func (c *Cluster) EnsureStreams(replicas int) {
	c.t.Helper()
	nc, js := c.Connect()
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := streams.EnsureWithRetry(ctx, js, streams.Config{Replicas: replicas}, zerolog.Nop()); err != nil {
		c.t.Fatal(err)
	}
}
