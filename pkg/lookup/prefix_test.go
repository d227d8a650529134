package lookup

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPrefixEnd(t *testing.T) {
	tests := []struct {
		p, end string
		ok     bool
	}{
		{"ORD-1", "ORD-2", true},
		{"1Z9", "1Z:", true},
		{"a\u007f", "a\u0080", true},
		{"\u00e9", "\u00ea", true},
		{"x\ud7ff", "x\ue000", true},
		{"x\U0010FFFF", "y", true},
		{"x\U0010FFFF\U0010FFFF", "y", true},
		{"\U0010FFFF", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		end, ok := prefixEnd(tt.p)
		if end != tt.end || ok != tt.ok {
			t.Errorf("prefixEnd(%q) = %q, %v; want %q, %v", tt.p, end, ok, tt.end, tt.ok)
		}
	}
}

// TestPrefixEndIsPrefixMatch: for valid UTF-8, p <= s < prefixEnd(p) in
// bytewise order exactly when s starts with p, around the edges of the
// encoding.
func TestPrefixEndIsPrefixMatch(t *testing.T) {
	runes := []rune{'a', 'b', 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xffff, 0x10000, 0x10ffff}
	r := rand.New(rand.NewPCG(1, 2))
	text := func() string {
		var b strings.Builder
		for range r.IntN(4) {
			b.WriteRune(runes[r.IntN(len(runes))])
		}
		return b.String()
	}
	for range 200_000 {
		p, s := text(), text()
		end, ok := prefixEnd(p)
		if !ok {
			continue
		}
		if in := s >= p && s < end; in != strings.HasPrefix(s, p) {
			t.Fatalf("p %q, end %q, s %q: in range %v, has prefix %v", p, end, s, in, !in)
		}
	}
}
