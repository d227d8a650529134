package normalizer

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// StateBucket is the KV bucket of per-shipment ordering state.
const StateBucket = "waybill_shipment_state"

// maxSeen bounds the ids remembered per shipment. A parcel has tens of
// checkpoints; a runaway feed must not grow one KV value without bound.
const maxSeen = 1000

// mark is the position of the latest event emitted for a shipment, in the
// order events are emitted: (occurred_at, status rank, id).
type mark struct {
	At   time.Time `json:"at"`
	Rank int       `json:"r"`
	ID   string    `json:"id"`
}

func markOf(e *tracking.Event) mark { return mark{At: e.OccurredAt, Rank: e.Status.Rank(), ID: e.ID} }

// after reports whether the mark sorts after e: emitting e now makes it late.
func (m mark) after(e *tracking.Event) bool {
	if !e.OccurredAt.Equal(m.At) {
		return e.OccurredAt.Before(m.At)
	}
	if r := e.Status.Rank(); r != m.Rank {
		return r < m.Rank
	}
	return e.ID < m.ID
}

// shipmentState is what ordering remembers of a shipment across restarts
// and owners: the ids already emitted (dedup beyond the stream's duplicate
// window) and the watermark (late detection). One value per shipment, not
// per event, so a burst of a shipment's events costs one read and one write.
type shipmentState struct {
	Watermark *mark    `json:"w,omitempty"`
	Seen      []string `json:"s"`
	rev       uint64   // KV revision it was read at; 0 = not stored yet
	seen      map[string]struct{}
}

func (s *shipmentState) has(id string) bool {
	if s.seen == nil {
		s.seen = make(map[string]struct{}, len(s.Seen))
		for _, id := range s.Seen {
			s.seen[id] = struct{}{}
		}
	}
	_, ok := s.seen[id]
	return ok
}

func (s *shipmentState) add(e *tracking.Event) {
	s.has("") // build the set
	s.seen[e.ID] = struct{}{}
	s.Seen = append(s.Seen, e.ID)
	if len(s.Seen) > maxSeen {
		for _, old := range s.Seen[:len(s.Seen)-maxSeen] {
			delete(s.seen, old)
		}
		s.Seen = append([]string(nil), s.Seen[len(s.Seen)-maxSeen:]...)
	}
	if m := markOf(e); s.Watermark == nil || laterMark(m, *s.Watermark) {
		s.Watermark = &m
	}
}

// merge folds another writer's state into s (after a compare-and-set lost).
func (s *shipmentState) merge(o *shipmentState) {
	for _, id := range o.Seen {
		if !s.has(id) {
			s.seen[id] = struct{}{}
			s.Seen = append(s.Seen, id)
		}
	}
	if o.Watermark != nil && (s.Watermark == nil || laterMark(*o.Watermark, *s.Watermark)) {
		w := *o.Watermark
		s.Watermark = &w
	}
	s.rev = o.rev
}

func laterMark(a, b mark) bool {
	if !a.At.Equal(b.At) {
		return a.At.After(b.At)
	}
	if a.Rank != b.Rank {
		return a.Rank > b.Rank
	}
	return a.ID > b.ID
}

// stateStore reads and writes shipment states in KV, through a bounded
// cache. While one orderer owns a partition it is the only writer of its
// shipments, so the cache is authoritative; writes are still compare-and-
// set on the revision, so a second writer (a partition moving between
// replicas) is detected and merged, never overwritten.
type stateStore struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	pub    *streams.Publisher // the bucket's stream, for a flush's writes at once
	cache  genCache
	prefix string
}

func newStateStore(ctx context.Context, js jetstream.JetStream, ttl time.Duration, replicas, cacheSize int) (*stateStore, error) {
	// A flush writes its states as atomic batches (pkg/streams/batch.go);
	// the KV API cannot ask for allow_atomic, so the bucket's stream is
	// updated after it. Both are skipped when the bucket is already as
	// asked: an update turns allow_atomic off for a moment (the other
	// replicas then write one by one for a while, see batchRetryAfter), and
	// stream updates race consumer creation in nats-server (streams.Ensure).
	stream := "KV_" + StateBucket
	s, err := js.Stream(ctx, stream)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("normalizer: state bucket: %w", err)
	}
	var kv jetstream.KeyValue
	if err == nil && stateBucketAsAsked(s.CachedInfo().Config, ttl, replicas) {
		kv, err = js.KeyValue(ctx, StateBucket)
	} else {
		kv, err = js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
			Bucket: StateBucket, Description: stateBucketDescription,
			History: 1, TTL: ttl, Storage: jetstream.FileStorage, Replicas: replicas,
		})
		if err == nil {
			s, err = js.Stream(ctx, stream)
		}
		if err != nil {
			return nil, fmt.Errorf("normalizer: state bucket: %w", err)
		}
		if cfg := s.CachedInfo().Config; !cfg.AllowAtomicPublish {
			cfg.AllowAtomicPublish = true
			if _, err := js.UpdateStream(ctx, cfg); err != nil {
				return nil, fmt.Errorf("normalizer: state bucket: %w", err)
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("normalizer: state bucket: %w", err)
	}
	pub, err := streams.NewPublisher(ctx, js, stream)
	if err != nil {
		return nil, err
	}
	return &stateStore{js: js, kv: kv, pub: pub, cache: newGenCache(cacheSize), prefix: "$KV." + StateBucket + "."}, nil
}

const stateBucketDescription = "normalizer: per-shipment dedup set and watermark"

// stateBucketAsAsked reports whether the state bucket's stream, configured
// as have, is what newStateStore would make of it. The fields the KV API
// chooses itself (subjects, limits, discard, duplicate window) are taken
// from have: only what newStateStore asks for is compared.
func stateBucketAsAsked(have jetstream.StreamConfig, ttl time.Duration, replicas int) bool {
	return have.MaxMsgsPerSubject == 1 && streams.Covers(have, jetstream.StreamConfig{
		Name: "KV_" + StateBucket, Description: stateBucketDescription, Subjects: have.Subjects,
		Storage: jetstream.FileStorage, Retention: jetstream.LimitsPolicy, Replicas: replicas,
		MaxAge: ttl, MaxBytes: have.MaxBytes, Discard: have.Discard, Duplicates: have.Duplicates,
		AllowAtomicPublish: true,
	})
}

// stateKey makes a KV key of a shipment key: base64url keeps it within the
// KV key alphabet and collision-free (unlike a subject token).
func stateKey(shipmentKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(shipmentKey))
}

func (s *stateStore) load(ctx context.Context, shipmentKey string) (*shipmentState, error) {
	entry, err := s.kv.Get(ctx, stateKey(shipmentKey))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return &shipmentState{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("normalizer: state of %s: %w", shipmentKey, err)
	}
	st := &shipmentState{}
	if err := json.Unmarshal(entry.Value(), st); err != nil {
		// A corrupt state must not stop the shipment: start afresh (the
		// stream's duplicate window and Postgres's key still guard).
		st = &shipmentState{}
	}
	st.rev = entry.Revision()
	return st, nil
}

// writeMsg is the compare-and-set write of st: a message to the bucket's
// subject that the server refuses unless the key is still at the revision
// st was read at. Messages instead of kv.Update let a whole flush's writes
// go out together instead of taking one round trip each.
func (s *stateStore) writeMsg(shipmentKey string, st *shipmentState) (*nats.Msg, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	msg := nats.NewMsg(s.prefix + stateKey(shipmentKey))
	msg.Data = data
	msg.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(st.rev, 10))
	return msg, nil
}

// reconcile handles a lost compare-and-set: re-read, merge and write again.
func (s *stateStore) reconcile(ctx context.Context, shipmentKey string, st *shipmentState) error {
	for attempt := 0; attempt < 5; attempt++ {
		current, err := s.load(ctx, shipmentKey)
		if err != nil {
			return err
		}
		st.merge(current)
		data, err := json.Marshal(st)
		if err != nil {
			return err
		}
		rev, err := s.kv.Update(ctx, stateKey(shipmentKey), data, st.rev)
		if err == nil {
			st.rev = rev // the orderer caches st when the flush finishes
			return nil
		}
		if !isWrongSequence(err) {
			return err
		}
	}
	return fmt.Errorf("normalizer: state of %s: compare-and-set kept losing", shipmentKey)
}

// forget drops a cached state whose write failed, so the next flush reads
// what is really stored.
func (s *stateStore) forget(shipmentKey string) { s.cache.drop(shipmentKey) }

// isWrongSequence recognises a lost compare-and-set. Replicated (R3)
// streams report it with a different code than single-replica ones.
func isWrongSequence(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// genCache is a bounded cache with two generations: when the young one is
// full it becomes the old one and the previous old one is dropped. Entries
// used from the old generation move to the young one, so what is in use
// stays; it approximates LRU without per-access bookkeeping.
type genCache struct {
	young, old map[string]*shipmentState
	size       int
}

func newGenCache(size int) genCache {
	return genCache{young: map[string]*shipmentState{}, old: map[string]*shipmentState{}, size: max(size/2, 1)}
}

func (c *genCache) get(k string) (*shipmentState, bool) {
	if v, ok := c.young[k]; ok {
		return v, true
	}
	if v, ok := c.old[k]; ok {
		delete(c.old, k)
		c.put(k, v)
		return v, true
	}
	return nil, false
}

func (c *genCache) put(k string, v *shipmentState) {
	if len(c.young) >= c.size {
		c.old, c.young = c.young, make(map[string]*shipmentState, c.size)
	}
	c.young[k] = v
}

func (c *genCache) drop(k string) {
	delete(c.young, k)
	delete(c.old, k)
}
