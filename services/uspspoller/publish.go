package uspspoller

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/waybill-dev/waybill/pkg/cloudevent"
	"github.com/waybill-dev/waybill/pkg/providers"
	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/streams"
)

// CloudEvent attributes of what the poller publishes on raw.usps.
const (
	// Source is the CloudEvent source of every poll.
	Source = "/pollers/usps"
	// TrackingType is a USPS Tracking v3 DETAIL response, untouched.
	TrackingType = "gov.usps.tracking.v3"
	// ExpiredType is the poller's own notice that a shipment had no USPS
	// news for USPS_MAX_AGE. Its data has the DETAIL shape (one synthetic
	// event with eventCode ExpiredEventCode) so that the usps provider maps
	// it like a poll, to an expired event.
	ExpiredType = "dev.waybill.uspspoller.expired.v1"
	// ExpiredEventCode is the eventCode of that synthetic event.
	ExpiredEventCode = "WAYBILL_EXPIRED"
)

var rawSubject = streams.RawSubject("usps")

// publish stores one CloudEvent on raw.usps and waits for JetStream's ack.
// Nats-Msg-Id is a hash of (source, id) like ingress's, so the same
// response polled twice within the duplicate window is stored once, and
// the normalizer drops a later repeat by its event ids.
func (p *Poller) publish(ctx context.Context, typ, number, id string, body []byte, at time.Time) (duplicate bool, err error) {
	e := event.New(cloudevent.SpecVersion)
	e.SetID(id)
	e.SetSource(Source)
	e.SetType(typ)
	e.SetSubject(number)
	e.SetTime(at)
	e.SetDataContentType(cloudevent.ContentTypeJSON)
	e.DataEncoded = body
	msg, err := cloudevent.ToMsg(rawSubject, e)
	if err != nil {
		return false, err
	}
	ack, err := p.js.PublishMsg(ctx, msg, jetstream.WithMsgID(providers.HashID([]byte(Source), []byte(id))))
	if err != nil {
		return false, fmt.Errorf("uspspoller: publish %s of %s: %w", id, number, err)
	}
	return ack.Duplicate, nil
}

// expiredBody is the data of an ExpiredType event. Its time is when the
// shipment expired (last news + max age), not when this replica noticed,
// so a retry or another replica derives the same event id.
func expiredBody(number string, at time.Time, maxAge time.Duration) ([]byte, string, error) {
	text := "No USPS tracking events for " + humanDuration(maxAge) + ": tracking expired"
	body, err := json.Marshal(map[string]any{
		"trackingNumber": number,
		"statusCategory": "Expired",
		"statusSummary":  text,
		"trackingEvents": []map[string]string{{
			"eventType":    text,
			"eventCode":    ExpiredEventCode,
			"GMTTimestamp": at.UTC().Truncate(time.Second).Format(time.RFC3339),
		}},
	})
	if err != nil {
		return nil, "", err
	}
	id, err := usps.EventID(body, number)
	return body, id, err
}

func humanDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	}
	return d.String()
}
