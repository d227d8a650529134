package fifoset

import "testing"

// The oldest key added goes first; adding a key already in changes
// nothing.
func TestForgetsTheOldest(t *testing.T) {
	s := New[string](2)
	seen := func(k string) bool {
		had := s.Has(k)
		s.Add(k)
		return had
	}
	for i, c := range []struct {
		id   string
		seen bool
	}{{"a", false}, {"b", false}, {"a", true}, {"c", false}, {"b", true}, {"a", false}, {"c", true}} {
		if got := seen(c.id); got != c.seen {
			t.Fatalf("step %d: seen(%s) = %v, want %v", i, c.id, got, c.seen)
		}
	}
}
