package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// DefaultURL is the NATS_URL default.
const DefaultURL = "nats://127.0.0.1:4222"

// Connect dials NATS and keeps reconnecting forever: a service outlives a
// NATS restart or a node failure, answering not-ready (and ingress 503)
// meanwhile. It does not wait for the first connection: readiness reports
// it.
//
// url may list a cluster's servers, comma-separated (NATS_URL
// "nats://n1:4222,nats://n2:4222,nats://n3:4222"); the client shuffles
// them, learns the rest of the cluster from the servers it reaches, and on a
// node failure moves to another node at once (ReconnectWait only spaces
// retries of the same server, with jitter so replicas do not reconnect in
// lockstep). In-hand work survives: publishes made while disconnected are
// buffered and sent on reconnect (their callers still wait for the PubAck
// or time out), acks of held messages likewise, and pull consumers re-issue
// their pull requests on the new connection.
func Connect(url, name string, log zerolog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.ReconnectJitter(100*time.Millisecond, time.Second),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(2*time.Second),
		// A node that vanishes without closing its sockets (power loss,
		// a partition) is noticed after two missed pings, ~10-15 s, not
		// the client default of 2 min x 2.
		nats.PingInterval(5*time.Second),
		nats.MaxPingsOutstanding(2),
		// Publishes made while disconnected are buffered up to this size
		// and sent on reconnect; callers still wait for their PubAck.
		nats.ReconnectBufSize(32<<20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil { // nil: our own Close at shutdown
				log.Warn().Err(err).Msg("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info().Str("server", c.ConnectedUrlRedacted()).Msg("nats reconnected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := log.Error().Err(err)
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("nats async error")
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("streams: connect %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("streams: jetstream: %w", err)
	}
	return nc, js, nil
}

// EnsureWithRetry calls Ensure until it succeeds or ctx ends, so a service
// started before NATS (docker compose, a cluster electing leaders) waits
// instead of exiting.
func EnsureWithRetry(ctx context.Context, js jetstream.JetStream, cfg Config, log zerolog.Logger) error {
	delay := 200 * time.Millisecond
	for {
		attempt, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := Ensure(attempt, js, cfg)
		cancel()
		if err == nil {
			return nil
		}
		log.Warn().Err(err).Dur("retry_in", delay).Msg("streams not ready")
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-time.After(delay):
		}
		delay = min(2*delay, 5*time.Second)
	}
}
