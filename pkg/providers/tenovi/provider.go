// Package tenovi is the Tenovi source: fulfillment webhooks for the remote
// patient monitoring devices Tenovi ships to patients. Ingress serves POST
// /webhooks/tenovi and calls Identify to store each webhook on raw.tenovi;
// the normalizer calls Map to turn it into normalized events on SHIPMENTS.
// Tenovi reports only milestones (Shipped, Delivered), so its USPS parcels
// are picked up from SHIPMENTS by the uspspoller, whose USPS Tracking v3
// responses come back through raw.usps for the scan-level detail.
package tenovi

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
)

const (
	sourceName = "tenovi"
	typePrefix = "com.tenovi.fulfillment."
	// maxSlugLen bounds the provider-controlled part of the CloudEvent type.
	maxSlugLen = 64
)

// Provider is the Tenovi source. The zero value is ready to use and safe
// for concurrent use.
type Provider struct{}

func init() { providers.Register(Provider{}) }

// Info describes Tenovi. It is not granular: "Shipped" and "Delivered" are
// all it says about a parcel. Its webhook authentication is an optional
// header the customer defines in the Tenovi web app ("e.g. Basic Auth"),
// so development runs check an Authorization header.
func (Provider) Info() providers.Info {
	return providers.Info{Name: sourceName, Webhook: true, DevAuth: "header:Authorization:", Granular: false}
}

// Identify derives the event id from the body itself: Tenovi sends no event
// id, so the id is a hash of the canonical JSON (keys sorted, no white
// space), which makes a retry of the same webhook collapse however Tenovi
// formats it, while a new status for the same device is a new event.
// Subject is the first tracking number of tracking_link, if any.
//
// It fails with providers.ErrInvalid when the body is not a JSON object or
// has none of hwi_device_id, status and tracking_link (it is then not a
// fulfillment webhook).
func (Provider) Identify(r providers.Request) (providers.Identity, error) {
	if b := bytes.TrimSpace(r.Body); len(b) == 0 || b[0] != '{' {
		return providers.Identity{}, fmt.Errorf("%w: tenovi: body is not a JSON object", providers.ErrInvalid)
	}
	canonical, err := providers.CanonicalJSON(r.Body)
	if err != nil {
		return providers.Identity{}, fmt.Errorf("tenovi: %w", err)
	}
	status, link := field(r.Body, "status"), field(r.Body, "tracking_link")
	if status == "" && link == "" && field(r.Body, "hwi_device_id") == "" {
		return providers.Identity{}, fmt.Errorf("%w: tenovi: no hwi_device_id, status or tracking_link", providers.ErrInvalid)
	}
	id := providers.Identity{ID: providers.HashID(canonical), Type: typePrefix + slug(status)}
	if link != "" {
		if _, numbers, err := parseLink(link); err == nil {
			id.Subject = numbers[0]
		}
	}
	return id, nil
}

// webhook is the part of a fulfillment webhook waybill reads. device_name
// and sensor_code describe the kind of device, not the parcel, and are left
// out.
type webhook struct {
	device   string // hwi_device_id
	patient  string // patient_id: the client's own external id, not a name
	hardware string // hardware_uuid: the gateway
	status   string
	link     string // tracking_link
}

// readWebhook reads the fields with gjson, through field like Identify, so
// that both read a body alike (the first of repeated keys, the same key
// spellings).
func readWebhook(body []byte) webhook {
	return webhook{
		device:   field(body, "hwi_device_id"),
		patient:  field(body, "patient_id"),
		hardware: field(body, "hardware_uuid"),
		status:   field(body, "status"),
		link:     field(body, "tracking_link"),
	}
}

// field reads a top-level string (or number, kept as written). Tenovi's own
// documented example sends the key as "status " with a trailing space, so
// when the exact key is missing a key that differs only in surrounding
// space or case is taken.
func field(body []byte, name string) string {
	r := gjson.GetBytes(body, name)
	if !r.Exists() {
		gjson.ParseBytes(body).ForEach(func(k, v gjson.Result) bool {
			if strings.EqualFold(strings.TrimSpace(k.Str), name) {
				r = v
				return false
			}
			return true
		})
	}
	switch r.Type {
	case gjson.String:
		return strings.TrimSpace(r.Str)
	case gjson.Number:
		return r.Raw
	}
	return ""
}

// slug makes a status a CloudEvent type segment: "Dropship Requested" ->
// "dropship_requested".
func slug(status string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(status) {
		if b.Len() >= maxSlugLen {
			break
		}
		switch {
		case (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9'):
			b.WriteRune(r)
			under = false
		case b.Len() > 0 && !under:
			b.WriteByte('_')
			under = true
		}
	}
	s := strings.TrimSuffix(b.String(), "_")
	if s == "" {
		return "unknown"
	}
	return s
}
