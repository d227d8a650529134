package tenovi

import (
	"fmt"
	"time"

	"github.com/tidwall/gjson"

	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// deviceCarrier keys a device that has no parcel yet: Tenovi leaves
// tracking_link null until the device leaves the warehouse ("Dropship
// Requested", "Pending Shipment"), so until then the shipment is the
// device, tenovi:<hwi_device_id>.
const deviceCarrier = "tenovi"

// Map turns a fulfillment webhook into one event per tracking number of
// tracking_link, or one event keyed by the device when there is no link
// yet. It fails with providers.ErrUnmappable when the link names no
// carrier or number, or when there is neither a link nor a hwi_device_id.
//
// Tenovi sends no event time, so every event is placed at raw.Time, when
// ingress received the webhook: the best bound on when the status changed.
// It is an exact instant (zone source "offset", UTC), not a carrier's
// clock; the USPS poll supplies the real scan times of USPS parcels.
func (Provider) Map(raw providers.Raw) ([]tracking.Event, error) {
	if !gjson.ValidBytes(raw.Data) || !gjson.ParseBytes(raw.Data).IsObject() {
		return nil, unmappable(raw, "body is not a JSON object")
	}
	if raw.Time.IsZero() {
		return nil, unmappable(raw, "no receipt time to place the event at")
	}
	w := readWebhook(raw.Data)
	m := mapStatus(w.status)
	base := tracking.Event{
		Status:        m.status,
		Substatus:     m.substatus,
		CarrierStatus: w.status,
		Source:        sourceName,
		RawEventID:    raw.ID,
		References:    references(w),
	}
	base.SetMoment(tracking.PlaceLocal(raw.Time.UTC().Format(time.RFC3339Nano), raw.Time, "Z"))

	if w.link == "" {
		device := tracking.NormalizeTrackingNumber(w.device)
		if device == "" {
			return nil, unmappable(raw, "no tracking_link and no hwi_device_id")
		}
		e := base
		e.Carrier, e.TrackingNumber = deviceCarrier, device
		return []tracking.Event{e}, nil
	}
	carrier, numbers, err := parseLink(w.link)
	if err != nil {
		return nil, unmappable(raw, "%v", err)
	}
	out := make([]tracking.Event, 0, len(numbers))
	for _, n := range numbers {
		e := base
		e.Carrier, e.TrackingNumber = carrier, n
		e.References = references(w) // each event owns its map
		out = append(out, e)
	}
	return out, nil
}

func unmappable(raw providers.Raw, format string, args ...any) error {
	return fmt.Errorf("%w: tenovi event %s: %s", providers.ErrUnmappable, raw.ID, fmt.Sprintf(format, args...))
}

// references keeps the ids that tie a parcel back to the client's records:
// the HWI device, the client's external patient id and the gateway.
func references(w webhook) map[string]string {
	refs := map[string]string{}
	for k, v := range map[string]string{
		"hwi_device_id": w.device, "patient_id": w.patient, "hardware_uuid": w.hardware,
	} {
		if v != "" {
			refs[k] = v
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return refs
}
