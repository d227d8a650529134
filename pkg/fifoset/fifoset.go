// Package fifoset is a set of at most n keys that forgets the oldest added
// first: a bounded memory of what was seen lately, for fast paths that
// must stay correct when it forgets.
package fifoset

// Set holds at most its capacity of keys. It is not safe for concurrent
// use.
type Set[K comparable] struct {
	set  map[K]struct{}
	ring []K // in the order added; next is the oldest once full
	next int
}

// New returns an empty Set of capacity n (at least 1).
func New[K comparable](n int) *Set[K] {
	n = max(n, 1)
	return &Set[K]{set: make(map[K]struct{}, n), ring: make([]K, 0, n)}
}

// Has reports whether k is in the set.
func (s *Set[K]) Has(k K) bool {
	_, ok := s.set[k]
	return ok
}

// Add adds k, forgetting the oldest key when the set is full. A key
// already in the set keeps its place.
func (s *Set[K]) Add(k K) {
	if s.Has(k) {
		return
	}
	if len(s.ring) < cap(s.ring) {
		s.ring = append(s.ring, k)
	} else {
		delete(s.set, s.ring[s.next])
		s.ring[s.next] = k
		s.next = (s.next + 1) % len(s.ring)
	}
	s.set[k] = struct{}{}
}
