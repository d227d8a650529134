package webhookload

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// mapAll maps every distinct accepted webhook (the first of each provider
// event id: ingress stores a retry once) with the real providers, as the
// normalizer does, and returns the distinct event ids per shipment key.
func mapAll(t *testing.T, webhooks []Webhook) map[string]map[string]tracking.Event {
	t.Helper()
	byKey := map[string]map[string]tracking.Event{}
	seen := map[string]bool{}
	for i, w := range webhooks {
		if w.Malformed {
			continue
		}
		p, _ := providers.Lookup(w.Source)
		id, err := p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()})
		if err != nil {
			t.Fatalf("webhook %d (%s): Identify: %v", i, w.Source, err)
		}
		if id.ID != w.EventID {
			t.Fatalf("webhook %d (%s): Identify says %q, EventID %q", i, w.Source, id.ID, w.EventID)
		}
		if seen[w.Source+"\x00"+id.ID] {
			if !w.Retry {
				t.Fatalf("webhook %d (%s): event id %s repeats but it is not a retry", i, w.Source, id.ID)
			}
			continue
		}
		if w.Retry {
			t.Fatalf("webhook %d (%s): a retry posted before its original", i, w.Source)
		}
		seen[w.Source+"\x00"+id.ID] = true
		// Tenovi's events are placed at the receipt time.
		received := DefaultNow.Add(time.Duration(i) * time.Millisecond)
		evs, err := p.Map(providers.Raw{Source: w.Source, ID: id.ID, Type: id.Type, Subject: id.Subject, Time: received, Data: w.Body})
		if err != nil {
			t.Fatalf("webhook %d (%s): Map: %v\n%s", i, w.Source, err, w.Body)
		}
		keys := map[string]bool{}
		for _, e := range evs {
			e.Source, e.RawEventID = w.Source, id.ID
			e.Normalize()
			if err := e.Validate(); err != nil {
				t.Fatalf("webhook %d (%s): %v", i, w.Source, err)
			}
			if e.Status == tracking.Unknown {
				t.Errorf("webhook %d (%s): carrier status %q maps to unknown", i, w.Source, e.CarrierStatus)
			}
			keys[e.ShipmentKey] = true
			if byKey[e.ShipmentKey] == nil {
				byKey[e.ShipmentKey] = map[string]tracking.Event{}
			}
			byKey[e.ShipmentKey][e.ID] = e
		}
		if len(keys) != len(w.ShipmentKeys) {
			t.Fatalf("webhook %d (%s): events of %v, ShipmentKeys %v", i, w.Source, keys, w.ShipmentKeys)
		}
		for _, k := range w.ShipmentKeys {
			if !keys[k] {
				t.Fatalf("webhook %d (%s): no event of %s (got %v)", i, w.Source, k, keys)
			}
		}
	}
	return byKey
}

func TestMappingGivesEachShipmentItsCheckpoints(t *testing.T) {
	webhooks, ships := generate(Config{Shipments: 120, Seed: 1})
	got := mapAll(t, webhooks)
	want := map[string]int{}
	for _, s := range ships {
		for k, n := range s.keys {
			if _, dup := want[k]; dup {
				t.Fatalf("shipment key %s generated twice", k)
			}
			want[k] = n
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d shipment keys mapped, want %d", len(got), len(want))
	}
	for k, n := range want {
		if len(got[k]) != n {
			t.Errorf("%s: %d distinct events, want %d checkpoints", k, len(got[k]), n)
		}
	}
	// Carrier time increases along the lifecycle: sorted by time, the
	// statuses of a delivered shipment end in delivered.
	for k, evs := range got {
		if strings.HasPrefix(k, "tenovi:") {
			continue
		}
		var latest *tracking.Event
		for _, e := range evs {
			if latest == nil || tracking.Before(latest, &e) {
				latest = &e
			}
		}
		if latest.Status == tracking.InfoReceived || latest.Status == tracking.Pending {
			t.Errorf("%s: latest event is %s", k, latest.Status)
		}
	}
}

func TestLifecycle(t *testing.T) {
	g := &gen{r: newRand(3), now: DefaultNow}
	delivered, total := 0, 2000
	for range total {
		n := g.checkpoints()
		if n < 5 || n > 15 {
			t.Fatalf("%d checkpoints", n)
		}
		cps := g.lifecycle(n)
		if len(cps) != n || cps[0].stage != stInfo {
			t.Fatalf("lifecycle of %d: %+v", n, cps)
		}
		for k := 1; k < len(cps); k++ {
			if d := cps[k].at.Sub(cps[k-1].at); d < 29*time.Minute {
				t.Fatalf("checkpoint %d only %v after the previous", k, d)
			}
		}
		if age := DefaultNow.Sub(cps[len(cps)-1].at); age < 24*time.Hour || DefaultNow.Sub(cps[0].at) > 21*24*time.Hour {
			t.Fatalf("checkpoints from %v to %v before now", DefaultNow.Sub(cps[0].at), age)
		}
		if cps[len(cps)-1].stage == stDelivered {
			delivered++
		}
	}
	if share := float64(delivered) / float64(total); share < 0.8 || share > 0.95 {
		t.Errorf("%.2f of shipments end delivered, want most (0.8-0.95)", share)
	}
}

func TestRates(t *testing.T) {
	cases := []Config{
		{Shipments: 400, Seed: 7},
		{Shipments: 400, Seed: 8, RetryRate: 0.2, ReorderRate: 0.1, MalformedRate: 0.05},
	}
	for _, cfg := range cases {
		webhooks := Generate(cfg)
		cfg = cfg.withDefaults()
		var retries, malformed, base, late int
		highest := map[int]int{} // shipment -> highest checkpoint posted
		sources := map[string]int{}
		for _, w := range webhooks {
			switch {
			case w.Malformed:
				malformed++
			case w.Retry:
				retries++
			default:
				base++
				if h, ok := highest[w.ship]; ok && w.seq < h {
					late++
				}
				highest[w.ship] = max(highest[w.ship], w.seq)
				if w.seq == 0 {
					sources[w.Source]++
				}
			}
		}
		n := float64(len(webhooks))
		check := func(name string, got, want, tol float64) {
			t.Helper()
			if math.Abs(got-want) > tol {
				t.Errorf("seed %d: %s %.4f, want %.2f ± %.3f", cfg.Seed, name, got, want, tol)
			}
		}
		check("retry share", float64(retries)/n, cfg.RetryRate, 0.01)
		check("malformed share", float64(malformed)/n, cfg.MalformedRate, 0.003)
		check("out-of-order share", float64(late)/float64(base), cfg.ReorderRate, 0.01)
		for src, want := range map[string]float64{"wineshipping": 0.40, "carriyo": 0.25, "swiftpod": 0.25, "tenovi": 0.10} {
			got := float64(sources[src]) / float64(cfg.Shipments)
			if math.Abs(got-want) > 0.03 {
				t.Errorf("seed %d: %s %.2f of shipments, want %.2f", cfg.Seed, src, got, want)
			}
		}
	}

	none := Generate(Config{Shipments: 100, Seed: 1, RetryRate: -1, ReorderRate: -1, MalformedRate: -1})
	for i, w := range none {
		if w.Retry || w.Malformed {
			t.Fatalf("webhook %d: retry or malformed with negative rates", i)
		}
		if i > 0 {
			for j := i - 1; j >= 0; j-- {
				if none[j].ship == w.ship {
					if none[j].seq > w.seq {
						t.Fatalf("webhook %d posted out of order with ReorderRate < 0", i)
					}
					break
				}
			}
		}
	}
}

// Malformed bodies are what ingress answers 400: not JSON, or JSON the
// provider cannot identify. Every other webhook identifies (mapAll).
func TestMalformedAreRejected(t *testing.T) {
	webhooks := Generate(Config{Shipments: 200, Seed: 11, MalformedRate: 0.05})
	kinds := map[string]int{}
	for i, w := range webhooks {
		if !w.Malformed {
			continue
		}
		if w.EventID != "" || len(w.ShipmentKeys) != 0 {
			t.Errorf("malformed webhook %d has an event id or keys", i)
		}
		if !json.Valid(w.Body) {
			kinds["invalid json"]++
			continue
		}
		p, _ := providers.Lookup(w.Source)
		if _, err := p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()}); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("malformed %s webhook %d identifies: %v\n%s", w.Source, i, err, w.Body)
		}
		kinds["unidentified "+w.Source]++
	}
	if kinds["invalid json"] == 0 || len(kinds) < 4 {
		t.Errorf("malformed kinds: %v", kinds)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := Config{Shipments: 100, Seed: 42}
	a, b := Generate(cfg), Generate(cfg)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs of one seed differ")
	}
	c := Generate(Config{Shipments: 100, Seed: 43})
	if reflect.DeepEqual(a[0].Body, c[0].Body) {
		t.Fatal("seeds 42 and 43 start alike")
	}
	keys := map[string]bool{}
	for _, w := range a {
		for _, k := range w.ShipmentKeys {
			keys[k] = true
		}
	}
	for _, w := range c {
		for _, k := range w.ShipmentKeys {
			if keys[k] {
				t.Fatalf("seeds 42 and 43 share shipment %s", k)
			}
		}
	}
}

// Every request carries the credentials Auth() configures.
func TestAuthenticates(t *testing.T) {
	auth := Auth()
	if len(auth) != 4 {
		t.Fatalf("Auth: %v", auth)
	}
	for i, w := range Generate(Config{Shipments: 100, Seed: 5}) {
		spec, ok := auth["WAYBILL_AUTH_"+strings.ToUpper(w.Source)]
		if !ok {
			t.Fatalf("no auth for %s", w.Source)
		}
		h := w.HeaderFunc()
		scheme, rest, _ := strings.Cut(spec, ":")
		var okAuth bool
		switch scheme {
		case "header":
			name, value, _ := strings.Cut(rest, ":")
			okAuth = h(name) == value
		case "bearer":
			okAuth = h("Authorization") == "Bearer "+rest
		case "hmac-sha256":
			name, secret, _ := strings.Cut(rest, ":")
			okAuth = h(name) == sign(secret, w.Body)
		}
		if !okAuth {
			t.Fatalf("webhook %d (%s) does not authenticate with %s", i, w.Source, scheme)
		}
		if h("Content-Type") != "application/json" {
			t.Fatalf("webhook %d: Content-Type %q", i, h("Content-Type"))
		}
	}
}
