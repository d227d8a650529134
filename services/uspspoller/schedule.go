package uspspoller

import (
	"container/heap"
	"sync"
	"time"
)

// schedule is a replica's in-memory mirror of the active entries of the
// KV bucket, ordered by when each may next be claimed, so that picking the
// most overdue shipment and sleeping until the next due time cost no
// round trip. It is a cache: every change is a compare-and-set on the KV
// revision, and a stale mirror costs a failed CAS and a re-read, never a
// double poll. It is fed by the bucket's watcher and by this replica's own
// writes (whose revisions the PubAck tells), whichever comes first.
type schedule struct {
	mu    sync.Mutex
	items map[string]*item
	queue queue
	// gone remembers the revision at which a key left the mirror (off or
	// deleted) until the watcher has passed it, so an older revision the
	// watcher delivers late cannot bring the key back.
	gone    map[string]uint64
	watched uint64 // highest revision the watcher has delivered
	// off is a bounded memory of keys known to be off, which spares a KV
	// round trip for every later event of a delivered or granular parcel.
	off  offCache
	wake chan struct{}
}

type item struct {
	key   string
	rev   uint64
	e     Entry
	ready time.Time
	idx   int
}

func newSchedule() *schedule {
	return &schedule{
		items: map[string]*item{},
		gone:  map[string]uint64{},
		off:   newOffCache(100_000),
		wake:  make(chan struct{}, 1),
	}
}

// apply records revision rev of key: e nil means deleted. It ignores a
// revision older than the one it has.
func (s *schedule) apply(key string, rev uint64, e *Entry, fromWatch bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if fromWatch && rev > s.watched {
		s.watched = rev
	}
	it, ok := s.items[key]
	if ok && it.rev >= rev {
		return
	}
	if g, ok := s.gone[key]; ok && g >= rev {
		return
	}
	if e == nil || e.State != Active {
		if ok {
			heap.Remove(&s.queue, it.idx)
			delete(s.items, key)
		}
		if !fromWatch {
			// The watcher may still deliver older revisions of key.
			s.gone[key] = rev
		}
		if e != nil && e.State == Off {
			s.off.add(key)
		} else {
			s.off.remove(key) // a tombstone's TTL ran out
		}
		s.pruneGone()
		return
	}
	delete(s.gone, key)
	if !ok {
		it = &item{key: key}
		s.items[key] = it
		it.rev, it.e, it.ready = rev, *e, e.ready()
		heap.Push(&s.queue, it)
	} else {
		it.rev, it.e, it.ready = rev, *e, e.ready()
		heap.Fix(&s.queue, it.idx)
	}
	if it.idx == 0 {
		s.signal()
	}
}

// pruneGone forgets removals the watcher has already delivered: nothing
// older can arrive after them.
func (s *schedule) pruneGone() {
	if len(s.gone) < 1024 {
		return
	}
	for k, rev := range s.gone {
		if rev <= s.watched {
			delete(s.gone, k)
		}
	}
}

func (s *schedule) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// lookup returns the mirrored active entry of key, or whether the key is
// known to be off.
func (s *schedule) lookup(key string) (e Entry, rev uint64, active, off bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.items[key]; ok {
		return it.e, it.rev, true, false
	}
	return Entry{}, 0, false, s.off.has(key)
}

// next returns the key of the most overdue entry that may be claimed at
// now, skipping keys in skip, or else the time the earliest one becomes
// claimable (zero when the schedule is empty).
func (s *schedule) next(now time.Time, skip map[string]bool) (key string, wait time.Time, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return "", time.Time{}, false
	}
	head := s.queue[0]
	if head.ready.After(now) {
		return "", head.ready, false
	}
	if !skip[head.key] {
		return head.key, time.Time{}, true
	}
	// Rare: the head lost a claim race. Walk the due part of the heap
	// for the most overdue other one.
	var best *item
	var walk func(i int)
	walk = func(i int) {
		if i >= len(s.queue) || s.queue[i].ready.After(now) {
			return
		}
		if it := s.queue[i]; !skip[it.key] && (best == nil || less(it, best)) {
			best = it
		}
		walk(2*i + 1)
		walk(2*i + 2)
	}
	walk(0)
	if best == nil {
		return "", now.Add(time.Second), false
	}
	return best.key, time.Time{}, true
}

// overdue is how long the most overdue shipment has been due (0 when
// none is). One being polled counts until its poll is written back.
func (s *schedule) overdue(now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return 0
	}
	return max(now.Sub(s.queue[0].e.Due), 0)
}

func (s *schedule) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items)
}

func less(a, b *item) bool {
	if !a.ready.Equal(b.ready) {
		return a.ready.Before(b.ready)
	}
	return a.key < b.key
}

// queue is a min-heap of items by ready time.
type queue []*item

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return less(q[i], q[j]) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].idx, q[j].idx = i, j
}
func (q *queue) Push(x any) {
	it := x.(*item)
	it.idx = len(*q)
	*q = append(*q, it)
}
func (q *queue) Pop() any {
	old := *q
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	it.idx = -1
	return it
}

// offCache is a bounded set with two generations: when the current one is
// full it becomes the old one and the oldest is dropped. A miss only costs
// a KV round trip, so approximate recency is enough.
type offCache struct {
	cur, old map[string]struct{}
	max      int
}

func newOffCache(max int) offCache {
	return offCache{cur: map[string]struct{}{}, old: map[string]struct{}{}, max: max}
}

func (c *offCache) add(key string) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[string]struct{}, c.max/4)
	}
	c.cur[key] = struct{}{}
}

func (c *offCache) remove(key string) {
	delete(c.cur, key)
	delete(c.old, key)
}

func (c *offCache) has(key string) bool {
	if _, ok := c.cur[key]; ok {
		return true
	}
	_, ok := c.old[key]
	return ok
}
