// Package natstest starts hermetic embedded JetStream servers for tests: a
// random port and a temporary store per test, shut down at cleanup.
package natstest

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/streams"
)

// Server is an embedded server owned by one test.
type Server struct {
	t   testing.TB
	cfg streams.EmbeddedConfig
	*streams.Embedded
}

// Start starts a server with waybill's streams created. Tests that need
// durability across a restart use Restart, which keeps port and store.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{t: t, cfg: streams.EmbeddedConfig{StoreDir: t.TempDir(), Port: -1}}
	s.start()
	s.cfg.Port = s.Addr().(*net.TCPAddr).Port // keep the port across Restart
	t.Cleanup(func() {
		if s.Embedded != nil {
			s.Embedded.Stop()
		}
	})
	nc, js := s.Connect()
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *Server) start() {
	s.t.Helper()
	e, err := streams.StartEmbedded(s.cfg, zerolog.Nop())
	if err != nil {
		s.t.Fatal(err)
	}
	s.Embedded = e
}

// Stop shuts the server down (a simulated outage).
func (s *Server) Stop() {
	if s.Embedded != nil {
		s.Embedded.Stop()
		s.Embedded = nil
	}
}

// Restart starts the server again on the same port and store.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.start()
}

// URL is the server's client URL; it stays the same across Restart.
func (s *Server) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(s.cfg.Port) }

// Connect opens a client connection closed at cleanup.
func (s *Server) Connect() (*nats.Conn, jetstream.JetStream) {
	s.t.Helper()
	nc, err := nats.Connect(s.URL())
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		s.t.Fatal(err)
	}
	return nc, js
}
