package uspspoller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Bucket is the KV bucket of the schedule: one key per shipment
// (Key(trackingNumber), value Entry as JSON) and the shared rate limiter's
// state (quotaKey).
const Bucket = "USPS_POLLS"

// errConflict is a lost compare-and-set: someone wrote the key since the
// revision we read.
var errConflict = errors.New("uspspoller: revision conflict")

// store reads and writes the schedule in KV. Every write is a
// compare-and-set on the key's last revision. Writes go straight to the
// bucket's stream, as the KV client does, so that an off entry can carry a
// per-message TTL (the KV API sets a TTL only on Create).
type store struct {
	js      jetstream.JetStream
	kv      jetstream.KeyValue
	stream  jetstream.Stream
	subject string // "$KV.USPS_POLLS."
	sched   *schedule
	offTTL  time.Duration
	log     zerolog.Logger
}

// openStore creates or updates the bucket. Per-key TTL (for off entries)
// needs LimitMarkerTTL, nats-server 2.11+ (streams.MinServerVersion).
func openStore(ctx context.Context, js jetstream.JetStream, replicas int, offTTL time.Duration, sched *schedule, log zerolog.Logger) (*store, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         Bucket,
		Description:    "uspspoller schedule: one key per polled USPS shipment, and the shared USPS rate limiter",
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       max(replicas, 1),
		LimitMarkerTTL: 10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("uspspoller: bucket %s: %w", Bucket, err)
	}
	stream, err := js.Stream(ctx, "KV_"+Bucket)
	if err != nil {
		return nil, fmt.Errorf("uspspoller: bucket %s stream: %w", Bucket, err)
	}
	return &store{js: js, kv: kv, stream: stream, subject: "$KV." + Bucket + ".", sched: sched, offTTL: offTTL, log: log}, nil
}

// read fetches key's latest revision from the server. A deleted or
// expired key reads as absent with the revision of its marker (0 when no
// marker is left), which is what a create must expect.
func (s *store) read(ctx context.Context, key string) (e Entry, rev uint64, exists bool, err error) {
	m, err := s.readRaw(ctx, key)
	if err != nil || m == nil {
		return Entry{}, 0, false, err
	}
	if m.Header.Get("KV-Operation") != "" || m.Header.Get(jetstream.MarkerReasonHeader) != "" || len(m.Data) == 0 {
		return Entry{}, m.Sequence, false, nil
	}
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return Entry{}, 0, false, fmt.Errorf("uspspoller: decode %s: %w", key, err)
	}
	return e, m.Sequence, true, nil
}

// readRaw returns key's last message, nil when there is none.
func (s *store) readRaw(ctx context.Context, key string) (*jetstream.RawStreamMsg, error) {
	m, err := s.stream.GetLastMsgForSubject(ctx, s.subject+key)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("uspspoller: read %s: %w", key, err)
	}
	return m, nil
}

// write stores e at key if the key's last revision is still rev (0: the
// key has no value) and returns the new revision. Off entries expire after
// offTTL.
func (s *store) write(ctx context.Context, key string, e Entry, rev uint64) (uint64, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return 0, fmt.Errorf("uspspoller: encode %s: %w", key, err)
	}
	var ttl time.Duration
	if e.State == Off {
		ttl = s.offTTL
	}
	return s.writeRaw(ctx, key, data, rev, ttl)
}

// writeRaw is the compare-and-set: it fails with errConflict unless key's
// last revision is rev. A ttl > 0 makes the server remove the value then.
func (s *store) writeRaw(ctx context.Context, key string, data []byte, rev uint64, ttl time.Duration) (uint64, error) {
	opts := []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(rev)}
	if ttl > 0 {
		opts = append(opts, jetstream.WithMsgTTL(ttl))
	}
	ack, err := s.js.PublishMsg(ctx, &nats.Msg{Subject: s.subject + key, Data: data}, opts...)
	if err != nil {
		if isWrongLastSeq(err) {
			return 0, errConflict
		}
		return 0, fmt.Errorf("uspspoller: write %s: %w", key, err)
	}
	return ack.Sequence, nil
}

func isWrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// change computes an entry's next value from its current one (exists is
// false for a key with no value) and whether to write it. It must be a
// pure function of its input: a lost compare-and-set calls it again with
// the fresh value.
type change func(cur Entry, exists bool) (next Entry, write bool)

// mutate applies ch to key by compare-and-set, starting from the mirror
// (no round trip when it is current) and re-reading after a conflict. It
// returns the value it wrote, or the current one when ch wrote nothing.
func (s *store) mutate(ctx context.Context, key string, ch change) (Entry, bool, error) {
	cur, rev, exists, off := s.sched.lookup(key)
	if off {
		// Off is final: no change applies to it.
		return Entry{State: Off}, false, nil
	}
	for range 16 {
		next, write := ch(cur, exists)
		if !write {
			return cur, false, nil
		}
		newRev, err := s.write(ctx, key, next, rev)
		if err == nil {
			s.sched.apply(key, newRev, &next, false)
			return next, true, nil
		}
		if !errors.Is(err, errConflict) {
			return cur, false, err
		}
		if cur, rev, exists, err = s.read(ctx, key); err != nil {
			return cur, false, err
		}
		if exists {
			s.sched.apply(key, rev, &cur, false)
		} else if rev > 0 {
			s.sched.apply(key, rev, nil, false)
		}
	}
	return cur, false, fmt.Errorf("uspspoller: %s: too many concurrent writers", key)
}

// watch mirrors the bucket's shipment keys into the schedule until ctx
// ends. ready is closed once the initial values are loaded: the poller
// claims nothing before, so a restarted replica never acts on a partial
// schedule.
func (s *store) watch(ctx context.Context, ready chan<- struct{}) error {
	w, err := s.kv.Watch(ctx, keyPrefix+">")
	if err != nil {
		return fmt.Errorf("uspspoller: watch %s: %w", Bucket, err)
	}
	defer func() { _ = w.Stop() }()
	loaded := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case kve, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if kve == nil {
				if !loaded {
					loaded = true
					close(ready)
				}
				continue
			}
			if kve.Operation() != jetstream.KeyValuePut {
				s.sched.apply(kve.Key(), kve.Revision(), nil, true)
				continue
			}
			var e Entry
			if err := json.Unmarshal(kve.Value(), &e); err != nil {
				s.log.Error().Err(err).Str("key", kve.Key()).Msg("undecodable schedule entry ignored")
				continue
			}
			s.sched.apply(kve.Key(), kve.Revision(), &e, true)
		}
	}
}
