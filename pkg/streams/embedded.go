package streams

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
)

// MinServerVersion is the oldest nats-server waybill is tested against for
// the features it uses (pinned priority groups for the partitioned
// normalizer need 2.11). The embedded server is always current.
const MinServerVersion = "2.11.0"

// EmbeddedConfig configures an in-process nats-server.
type EmbeddedConfig struct {
	Host     string // default 127.0.0.1
	Port     int    // 0 or -1: a random free port
	StoreDir string // required: JetStream's file store
	// SyncAlways fsyncs every write before the PubAck, so "2xx means
	// stored" survives power loss on a single node (REFERENCE.md). It is
	// the default for `waybill run`; tests may turn it off for speed.
	SyncAlways bool
	Name       string // server name; default from the port
	// Cluster, when set, joins a JetStream cluster over routes.
	Cluster *ClusterConfig
}

// ClusterConfig joins an embedded server to a cluster.
type ClusterConfig struct {
	Name   string
	Port   int      // route listen port (-1: random)
	Routes []string // nats-route://host:port of the peers
}

// Embedded is a running in-process nats-server.
type Embedded struct {
	*server.Server
	cfg EmbeddedConfig
}

// StartEmbedded starts a JetStream-enabled nats-server and waits until it
// accepts connections.
func StartEmbedded(cfg EmbeddedConfig, log zerolog.Logger) (*Embedded, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("streams: embedded server needs a StoreDir")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = -1
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.StoreDir,
		SyncAlways: cfg.SyncAlways,
		NoSigs:     true,
		MaxPayload: 8 << 20, // a 1 MiB webhook plus headers, with room for dead letters
	}
	if c := cfg.Cluster; c != nil {
		opts.Cluster.Name = c.Name
		opts.Cluster.Host = cfg.Host
		opts.Cluster.Port = c.Port
		for _, r := range c.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("streams: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("streams: embedded server: %w", err)
	}
	// A JetStream start failure calls Fatalf; the adapter logs it instead of
	// exiting the process, and ReadyForConnections then reports the failure.
	s.SetLoggerV2(serverLogger{log.With().Str("component", "nats-server").Logger()}, false, false, false)
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("streams: embedded server did not become ready in 10s")
	}
	if !s.JetStreamEnabled() {
		s.Shutdown()
		return nil, errors.New("streams: embedded server started without JetStream (see its log)")
	}
	return &Embedded{Server: s, cfg: cfg}, nil
}

// URL is the client URL of the server.
func (e *Embedded) URL() string { return e.ClientURL() }

// Stop shuts the server down and waits until it has.
func (e *Embedded) Stop() {
	e.Shutdown()
	e.WaitForShutdown()
}

type serverLogger struct{ log zerolog.Logger }

func (l serverLogger) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l serverLogger) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l serverLogger) Fatalf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l serverLogger) Errorf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l serverLogger) Debugf(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }
func (l serverLogger) Tracef(format string, v ...any)  { l.log.Trace().Msgf(format, v...) }
