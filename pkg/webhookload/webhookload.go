// Package webhookload generates a realistic, deterministic mix of provider
// webhooks for load and fault tests of the whole pipeline: distinct
// shipments of all four webhook providers (Wineshipping, Carriyo, SwiftPOD,
// Tenovi), each with 5-15 carrier checkpoints whose carrier time increases
// along the parcel's lifecycle (most end delivered), posted interleaved
// across shipments as providers post them, with provider retries (the same
// event id sent again later), out-of-order deliveries (a later checkpoint
// posted before an earlier one) and malformed bodies (which ingress must
// answer 400 and dead-letter).
//
// Bodies have the shapes of the providers' seed payloads
// (../shared/seeds, pkg/providers/<name>/testdata/seed-*), so every
// non-malformed webhook maps with the real provider to the events of its
// shipment; the package's tests check that mapping.
//
// What a shipment is, per provider:
//
//   - Wineshipping (AfterShip): one webhook per checkpoint, each carrying
//     the tracking's whole checkpoint list so far (as AfterShip does).
//   - Carriyo: one webhook per status change, the Shipment object with its
//     current status and the key milestones reached so far.
//   - SwiftPOD: the label's creation is the first checkpoint (data.trackings
//     created_at, repeated in every notification); one shipment_notify per
//     later checkpoint.
//   - Tenovi: 5-7 fulfilment statuses (Tenovi reports only milestones, so
//     fewer than 15): the ones before "Shipped" have no tracking link and are
//     keyed by the device (tenovi:<hwi_device_id>), the rest by the carrier
//     parcel of the link. Tenovi's event time is the receipt time, so its
//     event ids depend on when ingress received the webhook.
package webhookload

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/waybill-dev/waybill/pkg/providers"
	_ "github.com/waybill-dev/waybill/pkg/providers/all" // Identify gives each webhook its event id
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Default rates, used when a Config rate is zero.
const (
	DefaultRetryRate     = 0.10
	DefaultReorderRate   = 0.05
	DefaultMalformedRate = 0.01
)

// DefaultNow is the reference time of a Config without Now, so that a seed
// alone decides the output.
var DefaultNow = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// Config sizes a workload.
type Config struct {
	// Shipments is the number of distinct shipments (default 1000).
	Shipments int
	// Seed decides everything else: the same Config gives the same
	// webhooks, byte for byte.
	Seed int64
	// RetryRate is the share of all webhooks that are provider retries of
	// an earlier one (same body, headers and event id, posted later);
	// ReorderRate the share of checkpoint webhooks posted after a later
	// checkpoint of their shipment; MalformedRate the share of all webhooks
	// with a body ingress must reject (400, dead-lettered). Zero means the
	// default (0.10, 0.05, 0.01); a negative rate means none.
	RetryRate, ReorderRate, MalformedRate float64
	// Now is the time the carrier times are placed before: every checkpoint
	// is 1 to 20 days older than Now (default DefaultNow).
	Now time.Time
}

// Webhook is one HTTP POST to /webhooks/<Source>, in posting order.
type Webhook struct {
	Source string
	// Body is the request body. Retries share their original's Body: do not
	// modify it.
	Body []byte
	// Header holds every request header: Content-Type, the credentials of
	// Auth() (an HMAC signature of Body for Wineshipping) and the provider's
	// own (Carriyo's event-id, trigger, webhook-id).
	Header map[string]string
	// EventID is the provider event id ingress derives (and answers with),
	// as the provider's Identify computes it; "" for a malformed webhook.
	EventID string
	// Malformed webhooks must be answered 400 and stored on DEADLETTER:
	// truncated JSON, or JSON without the fields that identify the event.
	Malformed bool
	// Retry marks a provider's retry of an earlier webhook of this list.
	Retry bool
	// ShipmentKeys are the <carrier>:<tracking> keys the webhook's events
	// belong to (nil for a malformed one).
	ShipmentKeys []string

	ship int // index of the shipment, -1 when malformed
	seq  int // index of the webhook in its shipment's lifecycle
}

// Credentials the generated requests carry.
const (
	wineshippingSecret = "webhookload-wineshipping-secret"
	carriyoKey         = "webhookload-carriyo-key"
	swiftpodToken      = "webhookload-swiftpod-token"
	tenoviToken        = "webhookload-tenovi-token"
)

// Auth returns the environment an ingress needs to accept the generated
// webhooks: WAYBILL_AUTH_<SOURCE> variable name -> value, one per source,
// each in the scheme its provider documents (hmac-sha256 for Wineshipping,
// a fixed header for Carriyo and Tenovi, a bearer token for SwiftPOD).
func Auth() map[string]string {
	return map[string]string{
		"WAYBILL_AUTH_WINESHIPPING": "hmac-sha256:aftership-hmac-sha256:" + wineshippingSecret,
		"WAYBILL_AUTH_CARRIYO":      "header:X-API-Key:" + carriyoKey,
		"WAYBILL_AUTH_SWIFTPOD":     "bearer:" + swiftpodToken,
		"WAYBILL_AUTH_TENOVI":       "header:Authorization:" + tenoviToken,
	}
}

// Generate returns the workload's webhooks in posting order. It is
// deterministic: the same Config gives the same list.
func Generate(cfg Config) []Webhook {
	out, _ := generate(cfg)
	return out
}

// shipment is what the generator knows about one shipment: the checkpoint
// count of each shipment key it has (what the projection must end up with).
type shipment struct {
	source string
	keys   map[string]int
	last   stage
}

// mix is the provider of shipment i (i modulo its length): Wineshipping 40%,
// Carriyo and SwiftPOD 25% each, Tenovi 10%.
var mix = []string{
	"wineshipping", "carriyo", "swiftpod", "wineshipping", "tenovi",
	"wineshipping", "carriyo", "swiftpod", "wineshipping", "carriyo",
	"swiftpod", "wineshipping", "carriyo", "swiftpod", "wineshipping",
	"tenovi", "wineshipping", "carriyo", "swiftpod", "wineshipping",
}

func (c Config) withDefaults() Config {
	if c.Shipments <= 0 {
		c.Shipments = 1000
	}
	rate := func(v, def float64) float64 {
		switch {
		case v == 0:
			return def
		case v < 0:
			return 0
		}
		return min(v, 0.5)
	}
	c.RetryRate = rate(c.RetryRate, DefaultRetryRate)
	c.ReorderRate = rate(c.ReorderRate, DefaultReorderRate)
	c.MalformedRate = rate(c.MalformedRate, DefaultMalformedRate)
	if c.Now.IsZero() {
		c.Now = DefaultNow
	}
	return c
}

func generate(cfg Config) ([]Webhook, []shipment) {
	cfg = cfg.withDefaults()
	r := newRand(cfg.Seed)
	g := &gen{r: r, now: cfg.Now.UTC(), tag: r.Uint32()}

	ships := make([]shipment, cfg.Shipments)
	seqs := make([][]Webhook, cfg.Shipments)
	base := 0
	for i := range ships {
		ships[i], seqs[i] = g.shipment(i, mix[i%len(mix)])
		base += len(seqs[i])
	}

	// Out of order: swap adjacent webhooks of one shipment, so the later
	// checkpoint is posted first. Swaps do not overlap, so each is one
	// webhook posted after a later checkpoint.
	swaps := int(cfg.ReorderRate*float64(base) + 0.5)
	swapped := map[[2]int]bool{}
	for tries := 0; swaps > 0 && tries < 20*base; tries++ {
		i := r.IntN(len(seqs))
		if len(seqs[i]) < 2 {
			continue
		}
		k := 1 + r.IntN(len(seqs[i])-1)
		if swapped[[2]int{i, k - 1}] || swapped[[2]int{i, k}] || swapped[[2]int{i, k + 1}] {
			continue
		}
		swapped[[2]int{i, k}] = true
		seqs[i][k-1], seqs[i][k] = seqs[i][k], seqs[i][k-1]
		swaps--
	}

	// Interleave the shipments: a uniformly random merge that keeps each
	// shipment's own order.
	slots := make([]int32, 0, base)
	for i, s := range seqs {
		for range s {
			slots = append(slots, int32(i))
		}
	}
	r.Shuffle(len(slots), func(a, b int) { slots[a], slots[b] = slots[b], slots[a] })
	type placed struct {
		key float64
		w   Webhook
	}
	all := make([]placed, 0, base+base/4)
	next := make([]int, len(seqs))
	for p, i := range slots {
		all = append(all, placed{float64(p), seqs[i][next[i]]})
		next[i]++
	}

	// Retries and malformed bodies as shares of the whole list.
	extra := 1 - cfg.RetryRate - cfg.MalformedRate
	retries := int(cfg.RetryRate*float64(base)/extra + 0.5)
	malformed := int(cfg.MalformedRate*float64(base)/extra + 0.5)
	maxDelay := max(1, min(base/10, 5000))
	for _, p := range r.Perm(base)[:min(retries, base)] {
		w := all[p].w
		w.Retry = true
		w.Header = cloneHeader(w.Header)
		all = append(all, placed{float64(p+1+r.IntN(maxDelay)) + 0.5, w})
	}
	for range malformed {
		p := r.IntN(base)
		all = append(all, placed{float64(p) + 0.25, g.malformed(all[p].w)})
	}
	slices.SortStableFunc(all, func(a, b placed) int { return cmp.Compare(a.key, b.key) })
	out := make([]Webhook, len(all))
	for i := range all {
		out[i] = all[i].w
	}
	return out, ships
}

func newRand(seed int64) *rand.Rand { return rand.New(rand.NewPCG(uint64(seed), 0x77a9b111)) }

// gen holds the generator's random source and run constants.
type gen struct {
	r   *rand.Rand
	now time.Time
	tag uint32 // varies tracking numbers between seeds
}

func (g *gen) uuid() string {
	a, b := g.r.Uint64(), g.r.Uint64()
	a = a&^(0xf<<12) | 0x4<<12 // version 4
	b = b&^(0x3<<62) | 0x2<<62 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

// shipment builds shipment i's webhooks in lifecycle order.
func (g *gen) shipment(i int, source string) (shipment, []Webhook) {
	var (
		s   shipment
		seq []Webhook
	)
	switch source {
	case "wineshipping":
		s, seq = g.wineshipping(i)
	case "carriyo":
		s, seq = g.carriyo(i)
	case "swiftpod":
		s, seq = g.swiftpod(i)
	default:
		s, seq = g.tenovi(i)
	}
	for k := range seq {
		w := &seq[k]
		w.ship, w.seq = i, k
		if w.EventID == "" { // Tenovi's is a hash of the body
			w.EventID = identify(w)
		}
	}
	return s, seq
}

// identify is the provider's own Identify: the id ingress will answer with.
func identify(w *Webhook) string {
	p, ok := providers.Lookup(w.Source)
	if !ok {
		panic("webhookload: no provider " + w.Source)
	}
	id, err := p.Identify(providers.Request{Body: w.Body, Header: w.HeaderFunc()})
	if err != nil {
		panic(fmt.Sprintf("webhookload: generated %s webhook does not identify: %v", w.Source, err))
	}
	return id.ID
}

// HeaderFunc looks a header up case-insensitively, as an HTTP server does.
func (w *Webhook) HeaderFunc() func(string) string {
	return func(name string) string {
		if v, ok := w.Header[name]; ok {
			return v
		}
		for k, v := range w.Header {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}

// HTTPHeader is Header as an http.Header.
func (w *Webhook) HTTPHeader() http.Header {
	h := make(http.Header, len(w.Header))
	for k, v := range w.Header {
		h.Set(k, v)
	}
	return h
}

func cloneHeader(h map[string]string) map[string]string {
	c := make(map[string]string, len(h))
	for k, v := range h {
		c[k] = v
	}
	return c
}

func key(carrier, number string) string {
	return tracking.ShipmentKey(tracking.NormalizeCarrier(carrier), tracking.NormalizeTrackingNumber(number))
}
