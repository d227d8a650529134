package console

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/dlq"
	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// statsStreams are the streams the overview reports, in pipeline order.
var statsStreams = []string{streams.Raw, streams.Candidates, streams.Shipments, streams.DeadLetter, streams.Alerts}

// stats is the answer of GET /api/v1/stats: what an operator checks first.
type stats struct {
	GeneratedAt time.Time `json:"generated_at"`
	// Shipments is nil when Postgres could not answer (see Unavailable).
	Shipments *lookup.Counts `json:"shipments"`
	// EventsPerMinute covers the last hour, oldest minute first, by the
	// time the projector stored each event.
	EventsPerMinute []lookup.Rate `json:"events_per_minute"`
	Streams         []streamStats `json:"streams"`
	// DeadLetters are by stage and source; DeadLettersTotal sums them.
	DeadLetters      []deadletterCount `json:"dead_letters"`
	DeadLettersTotal uint64            `json:"dead_letters_total"`
	// Unavailable names the parts that could not be read ("postgres",
	// "nats"): the rest of the answer is still good.
	Unavailable []string `json:"unavailable"`
}

type streamStats struct {
	Name      string          `json:"name"`
	Messages  uint64          `json:"messages"`
	Bytes     uint64          `json:"bytes"`
	Consumers []consumerStats `json:"consumers"`
}

type consumerStats struct {
	Name string `json:"name"`
	// Pending is how many messages the consumer has yet to be delivered;
	// AckPending how many were delivered and not acknowledged yet.
	Pending    uint64 `json:"pending"`
	AckPending int    `json:"ack_pending"`
	// Ephemeral consumers are the short-lived ones of readers such as
	// live-event streams and dead-letter pages.
	Ephemeral bool `json:"ephemeral"`
}

type deadletterCount struct {
	Stage    string `json:"stage"`
	Source   string `json:"source"`
	Messages uint64 `json:"messages"`
}

// statsTTL is how long a stats answer is reused: the counts scan the
// shipments table, and every open overview page polls them.
const statsTTL = 2 * time.Second

// statsCache computes stats at most once per statsTTL, however many
// clients ask at once.
type statsCache struct {
	mu      sync.Mutex
	at      time.Time
	cached  *stats
	compute func(context.Context) *stats
}

func (c *statsCache) get(ctx context.Context, now time.Time) *stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cached != nil && now.Sub(c.at) < statsTTL {
		return c.cached
	}
	st := c.compute(ctx)
	if ctx.Err() == nil { // an answer cut short by a client leaving is not kept
		c.cached, c.at = st, now
	}
	return st
}

func (s *server) getStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.stats.get(r.Context(), s.now()))
}

// computeStats reads Postgres and JetStream at once; a part that fails is
// named in Unavailable and logged.
func (s *server) computeStats(ctx context.Context) *stats {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st := &stats{GeneratedAt: s.now().UTC(), EventsPerMinute: []lookup.Rate{}, Streams: []streamStats{},
		DeadLetters: []deadletterCount{}, Unavailable: []string{}}
	var (
		wg          sync.WaitGroup
		pgErr, nErr error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		counts, err := s.db.Counts(ctx)
		if err != nil {
			pgErr = err
			return
		}
		rates, err := s.db.EventsPerMinute(ctx, st.GeneratedAt, 60)
		if err != nil {
			pgErr = err
			return
		}
		st.Shipments, st.EventsPerMinute = &counts, rates
	}()
	go func() {
		defer wg.Done()
		nErr = s.streamStats(ctx, st)
	}()
	wg.Wait()
	if pgErr != nil {
		st.Unavailable = append(st.Unavailable, "postgres")
		s.log.Warn().Err(pgErr).Msg("stats: postgres part unavailable")
	}
	if nErr != nil {
		st.Unavailable = append(st.Unavailable, "nats")
		s.log.Warn().Err(nErr).Msg("stats: nats part unavailable")
	}
	return st
}

func (s *server) streamStats(ctx context.Context, st *stats) error {
	var errs []error
	for _, name := range statsStreams {
		str, err := s.js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			continue // not created yet (or CANDIDATES on an older deployment)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		info := str.CachedInfo()
		ss := streamStats{Name: name, Messages: info.State.Msgs, Bytes: info.State.Bytes, Consumers: []consumerStats{}}
		lister := str.ListConsumers(ctx)
		for ci := range lister.Info() {
			ss.Consumers = append(ss.Consumers, consumerStats{Name: ci.Name, Pending: ci.NumPending, AckPending: ci.NumAckPending, Ephemeral: ci.Config.Durable == ""})
		}
		if err := lister.Err(); err != nil {
			errs = append(errs, err)
		}
		sort.Slice(ss.Consumers, func(i, j int) bool { return ss.Consumers[i].Name < ss.Consumers[j].Name })
		st.Streams = append(st.Streams, ss)
	}
	counts, err := s.dlq.Counts(ctx, dlq.Filter{})
	if err != nil {
		errs = append(errs, err)
	}
	for _, c := range counts {
		st.DeadLetters = append(st.DeadLetters, deadletterCount{Stage: c.Stage, Source: c.Source, Messages: c.Messages})
		st.DeadLettersTotal += c.Messages
	}
	return errors.Join(errs...)
}
