package providers

import (
	"fmt"
	"sort"
	"sync"
)

var (
	mu       sync.RWMutex
	registry = map[string]Provider{}
)

// Register makes a provider available by its name. It panics on a duplicate
// or an empty name: both are programming errors found at start.
func Register(p Provider) {
	name := p.Info().Name
	mu.Lock()
	defer mu.Unlock()
	if name == "" {
		panic("providers: Register with empty name")
	}
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("providers: Register called twice for %q", name))
	}
	registry[name] = p
}

// Lookup returns the provider registered under name.
func Lookup(name string) (Provider, bool) {
	mu.RLock()
	defer mu.RUnlock()
	p, ok := registry[name]
	return p, ok
}

// All returns every registered provider, sorted by name.
func All() []Provider {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Provider, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Info().Name < out[j].Info().Name })
	return out
}

// Webhooks returns the providers ingress serves, sorted by name.
func Webhooks() []Provider {
	var out []Provider
	for _, p := range All() {
		if p.Info().Webhook {
			out = append(out, p)
		}
	}
	return out
}
