package uspspoller

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// State says whether a shipment is being polled.
type State string

const (
	// Active: on the schedule, polled at Due.
	Active State = "active"
	// Off: taken off for good (terminal status, a granular source reports
	// it, or expired). Off is final, which makes every schedule change
	// commute: replicas and replays that see a shipment's events in any
	// order reach the same state. An off entry is kept for USPS_MAX_AGE
	// (a per-key TTL) so a late or replayed Tenovi event cannot put a
	// delivered parcel back on the schedule.
	Off State = "off"
)

// Reasons a shipment leaves the schedule, besides its terminal status
// ("delivered", "returned", "failed", "cancelled", "expired").
const (
	// ReasonGranularPrefix + source: a provider that reports every scan
	// (Swiftpod, Carriyo, Wineshipping) covers this parcel, so polling USPS
	// would only spend quota.
	ReasonGranularPrefix = "granular:"
)

// Entry is one shipment's schedule record, the JSON value of its key in
// the KV bucket. It holds no personal data: a tracking number and times.
type Entry struct {
	TrackingNumber string `json:"tracking_number"`
	State          State  `json:"state"`
	// Reason says why an Off entry is off.
	Reason string `json:"reason,omitempty"`
	// Source is the non-granular source that put it on the schedule.
	Source string `json:"source,omitempty"`
	// ScheduledAt is the carrier time of the event that scheduled it.
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	// NewsAt is the last time USPS had something new: a USPS event's time
	// on SHIPMENTS, or the poll that first saw a changed response. No news
	// for MaxAge expires the shipment.
	NewsAt time.Time `json:"news_at,omitzero"`
	// Due is when the next poll is due.
	Due time.Time `json:"due,omitzero"`
	// Polls counts completed USPS requests; NotFound the consecutive 404s;
	// Failures the consecutive 429, 5xx and transport errors (they back
	// off).
	Polls    int `json:"polls,omitempty"`
	NotFound int `json:"not_found,omitempty"`
	Failures int `json:"failures,omitempty"`
	// LastPollAt and LastResponse (the raw event id of the last 200)
	// tell a changed response from a repeat.
	LastPollAt   time.Time `json:"last_poll_at,omitzero"`
	LastResponse string    `json:"last_response,omitempty"`
	// Lease is set while one replica polls it for Due.
	Lease *Lease    `json:"lease,omitempty"`
	OffAt time.Time `json:"off_at,omitzero"`
}

// Lease is a replica's claim on one due poll. It is taken by
// compare-and-set on the entry's KV revision, so exactly one replica wins
// a due time; it expires at Until so that a replica that died mid-poll
// does not strand the shipment.
type Lease struct {
	Owner string    `json:"owner"`
	ID    string    `json:"id"`
	Due   time.Time `json:"due"`
	Until time.Time `json:"until"`
}

// ready is when the entry may next be claimed: its due time, or the end
// of a lease someone holds.
func (e *Entry) ready() time.Time {
	if e.Lease != nil && e.Lease.Until.After(e.Due) {
		return e.Lease.Until
	}
	return e.Due
}

// expiresAt is when the shipment expires without news.
func (e *Entry) expiresAt(maxAge time.Duration) time.Time { return e.NewsAt.Add(maxAge) }

// Key is the KV key of a tracking number's entry.
func Key(trackingNumber string) string {
	return keyPrefix + tracking.SubjectToken(tracking.NormalizeTrackingNumber(trackingNumber))
}

const keyPrefix = "ship."
