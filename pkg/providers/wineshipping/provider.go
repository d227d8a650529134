// Package wineshipping is the Wineshipping source: Wineshipping forwards
// AfterShip tracking webhooks (one JSON tracking object per POST, signed with
// aftership-hmac-sha256). Ingress calls Identify to store each webhook on
// raw.wineshipping; the normalizer calls Map to turn the stored body into one
// normalized event per carrier checkpoint.
package wineshipping

import (
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
)

func init() { providers.Register(Provider{}) }

// Name is the source name: webhook path, raw subject token, auth suffix.
const Name = "wineshipping"

const (
	typePrefix = "com.wineshipping."
	// AfterShip sends a single event kind today; it is the default when a
	// body leaves the field out.
	defaultEvent = "tracking_update"
	// maxEventLen bounds the provider-controlled part of the CloudEvent
	// type so a hostile body cannot make it arbitrarily long.
	maxEventLen = 64
)

// Provider implements providers.Provider for Wineshipping. The zero value
// is ready to use and safe for concurrent use.
type Provider struct{}

// Info describes the source. AfterShip signs the raw body with
// base64(HMAC-SHA256(secret, body)) in the aftership-hmac-sha256 header;
// ingress checks it generically from DevAuth's scheme.
func (Provider) Info() providers.Info {
	return providers.Info{
		Name:     Name,
		Webhook:  true,
		DevAuth:  "hmac-sha256:aftership-hmac-sha256:",
		Granular: true,
	}
}

// Identify reads event_id, event and msg.tracking_number and nothing else:
// it runs on ingress's hot path for every webhook. Wineshipping retries a
// failed delivery up to 14 times over about 68 hours with the same
// event_id, which is what lets those retries collapse.
//
// It returns an error wrapping providers.ErrInvalid when event_id is
// missing, empty or not a string.
func (Provider) Identify(r providers.Request) (providers.Identity, error) {
	idRes := gjson.GetBytes(r.Body, "event_id")
	id := strings.TrimSpace(idRes.Str)
	if idRes.Type != gjson.String || id == "" {
		return providers.Identity{}, fmt.Errorf("%w: wineshipping: event_id missing, empty or not a string", providers.ErrInvalid)
	}
	return providers.Identity{
		ID:      id,
		Type:    eventType(gjson.GetBytes(r.Body, "event")),
		Subject: strings.TrimSpace(gjson.GetBytes(r.Body, "msg.tracking_number").Str),
	}, nil
}

// eventType builds "com.wineshipping.<event>" with the event reduced to
// [a-z0-9_.-]; the common case costs no allocation.
func eventType(ev gjson.Result) string {
	if ev.Type != gjson.String || ev.Str == defaultEvent {
		return typePrefix + defaultEvent
	}
	s := sanitize(ev.Str)
	if s == "" {
		s = defaultEvent
	}
	return typePrefix + s
}

// sanitize lower-cases s, turns every byte outside [a-z0-9_.-] into '_',
// trims separators from both ends and bounds the length.
func sanitize(s string) string {
	b := make([]byte, 0, min(len(s), maxEventLen))
	for i := 0; i < len(s) && len(b) < maxEventLen; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		case (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-':
		default:
			c = '_'
		}
		b = append(b, c)
	}
	return strings.Trim(string(b), "_.-")
}
