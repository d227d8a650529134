package usps

import (
	"strings"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

type mapping struct {
	status    tracking.Status
	substatus string
}

// codes maps USPS event codes (Pub 199, Appendix G-4: domestic tracking
// scan events; the letter codes are the ones Tracking v3 sends, e.g. GX for
// "Shipping Label Created, USPS Awaiting Item", TL "In Transit to Next
// Facility", A1/T1 regional facility arrival/departure). A code is more
// stable than its text, which USPS rewords; a code missing here falls back
// to the text.
var codes = map[string]mapping{
	// Not a USPS code: the poller's own notice that a shipment had no
	// USPS news for USPS_MAX_AGE (services/uspspoller).
	"WAYBILL_EXPIRED": {tracking.Expired, "no_tracking_events"},
	// Label and manifest: the carrier has the data, not the parcel.
	"GX": {tracking.InfoReceived, ""},
	"MA": {tracking.InfoReceived, ""},
	// Acceptance and movement.
	"03": {tracking.InTransit, "accepted"},
	"PA": {tracking.InTransit, "accepted"},
	"TM": {tracking.InTransit, "accepted"},
	"06": {tracking.InTransit, "forwarded"},
	"07": {tracking.InTransit, ""},
	"10": {tracking.InTransit, ""},
	"19": {tracking.InTransit, ""},
	"41": {tracking.InTransit, ""},
	"42": {tracking.InTransit, ""},
	"80": {tracking.InTransit, ""},
	"81": {tracking.InTransit, ""},
	"82": {tracking.InTransit, ""},
	"A1": {tracking.InTransit, ""},
	"T1": {tracking.InTransit, ""},
	"TL": {tracking.InTransit, ""},
	"PC": {tracking.InTransit, ""},
	"EF": {tracking.InTransit, ""},
	"SF": {tracking.InTransit, ""},
	"OF": {tracking.OutForDelivery, ""},
	// Pickup at a Post Office or locker.
	"14": {tracking.AvailableForPickup, ""},
	"16": {tracking.AvailableForPickup, ""},
	// Delivery attempts: the reason is the substatus.
	"02": {tracking.FailedAttempt, "notice_left"},
	"52": {tracking.FailedAttempt, "notice_left"},
	"53": {tracking.FailedAttempt, "receptacle_blocked"},
	"54": {tracking.FailedAttempt, "receptacle_full"},
	"55": {tracking.FailedAttempt, "no_secure_location"},
	"56": {tracking.FailedAttempt, "no_authorized_recipient"},
	"30": {tracking.FailedAttempt, "no_access"},
	"51": {tracking.FailedAttempt, "business_closed"},
	// Problems that do not end the trip.
	"04": {tracking.Exception, "refused"},
	"05": {tracking.Exception, "address_issue"},
	"08": {tracking.Exception, "missent"},
	"15": {tracking.Exception, "missent"},
	"71": {tracking.Exception, "rescheduled"},
	"DX": {tracking.Exception, "status_not_updated"},
	// Return to sender, with USPS's reason.
	"09": {tracking.ReturnToSender, ""},
	"21": {tracking.ReturnToSender, "no_such_number"},
	"22": {tracking.ReturnToSender, "insufficient_address"},
	"23": {tracking.ReturnToSender, "moved_left_no_address"},
	"24": {tracking.ReturnToSender, "forward_expired"},
	"25": {tracking.ReturnToSender, "addressee_unknown"},
	"26": {tracking.ReturnToSender, "vacant"},
	"27": {tracking.ReturnToSender, "unclaimed"},
	"28": {tracking.ReturnToSender, "deceased"},
	"29": {tracking.ReturnToSender, "other"},
	"31": {tracking.ReturnToSender, "not_picked_up"},
	"44": {tracking.ReturnToSender, "customer_recall"},
	// Delivered, also by pickup.
	"01": {tracking.Delivered, ""},
	"17": {tracking.Delivered, "picked_up_by_agent"},
	"43": {tracking.Delivered, "picked_up"},
	// The Mail Recovery Center: the parcel will not arrive.
	"11": {tracking.Failed, "dead_letter"},
}

// textRules classify an event by its text when its code is absent (the
// TrackSummary shape has none) or unknown. USPS writes the same status many
// ways ("Delivered, Parcel Locker", "DELIVERED", "Delivered, Front
// Door/Porch"), so these are substrings of the lower-cased text, tried in
// order: the specific before the general ("Delivered, To Original Sender"
// before "delivered", "Out for Delivery" before "delivered", "USPS picked up
// item" is an acceptance, "Picked Up at Post Office" a delivery).
var textRules = []struct {
	contains string
	m        mapping
}{
	{"to original sender", mapping{tracking.Returned, ""}},
	{"return to sender", mapping{tracking.ReturnToSender, ""}},
	{"returned to sender", mapping{tracking.ReturnToSender, ""}},
	{"returning to sender", mapping{tracking.ReturnToSender, ""}},
	{"shipping label created", mapping{tracking.InfoReceived, ""}},
	{"label created", mapping{tracking.InfoReceived, ""}},
	{"pre-shipment", mapping{tracking.InfoReceived, ""}},
	{"pre shipment", mapping{tracking.InfoReceived, ""}},
	{"awaiting item", mapping{tracking.InfoReceived, ""}},
	{"shipment info received", mapping{tracking.InfoReceived, ""}},
	{"out for delivery", mapping{tracking.OutForDelivery, ""}},
	{"notice left", mapping{tracking.FailedAttempt, "notice_left"}},
	{"delivery attempted", mapping{tracking.FailedAttempt, ""}},
	{"attempted", mapping{tracking.FailedAttempt, ""}},
	{"available for pickup", mapping{tracking.AvailableForPickup, ""}},
	{"ready for pickup", mapping{tracking.AvailableForPickup, ""}},
	{"held at post office", mapping{tracking.AvailableForPickup, ""}},
	{"picked up at", mapping{tracking.Delivered, "picked_up"}},
	{"dead letter", mapping{tracking.Failed, "dead_letter"}},
	{"undeliverable", mapping{tracking.Exception, "address_issue"}},
	{"insufficient address", mapping{tracking.Exception, "address_issue"}},
	{"no such number", mapping{tracking.Exception, "address_issue"}},
	{"refused", mapping{tracking.Exception, "refused"}},
	{"undelivered", mapping{tracking.Exception, ""}},
	{"delivered", mapping{tracking.Delivered, ""}},
	{"arriving late", mapping{tracking.Exception, "delayed"}},
	{"delayed", mapping{tracking.Exception, "delayed"}},
	{"alert", mapping{tracking.Exception, ""}},
	{"forwarded", mapping{tracking.InTransit, "forwarded"}},
	{"accepted", mapping{tracking.InTransit, "accepted"}},
	{"acceptance", mapping{tracking.InTransit, "accepted"}},
	{"in possession", mapping{tracking.InTransit, "accepted"}},
	{"picked up", mapping{tracking.InTransit, ""}},
	{"arrived", mapping{tracking.InTransit, ""}},
	{"arrival", mapping{tracking.InTransit, ""}},
	{"departed", mapping{tracking.InTransit, ""}},
	{"departure", mapping{tracking.InTransit, ""}},
	{"in transit", mapping{tracking.InTransit, ""}},
	{"processed", mapping{tracking.InTransit, ""}},
	{"processing", mapping{tracking.InTransit, ""}},
	{"moving through network", mapping{tracking.InTransit, ""}},
	{"dispatched", mapping{tracking.InTransit, ""}},
}

// classify maps one event by its code, else by its text, else to
// tracking.Unknown. "Delivered, To Original Sender" is a return whatever
// code comes with it: the parcel reached the sender, not the recipient.
func classify(code, text string) mapping {
	lower := strings.ToLower(text)
	if strings.Contains(lower, "to original sender") {
		return mapping{tracking.Returned, ""}
	}
	code = strings.ToUpper(strings.TrimSpace(code))
	if len(code) == 1 && code[0] >= '0' && code[0] <= '9' {
		code = "0" + code // "eventCode": 1, a number that lost its zero
	}
	if m, ok := codes[code]; ok {
		return m
	}
	for _, r := range textRules {
		if strings.Contains(lower, r.contains) {
			return r.m
		}
	}
	return mapping{status: tracking.Unknown}
}
