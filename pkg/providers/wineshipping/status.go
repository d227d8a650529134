package wineshipping

import (
	"strings"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// tagStatus is the AfterShip tag cross-walk (REFERENCE.md), keyed in lower
// case because the tag is matched case-insensitively.
var tagStatus = map[string]tracking.Status{
	"pending":            tracking.Pending,
	"inforeceived":       tracking.InfoReceived,
	"intransit":          tracking.InTransit,
	"outfordelivery":     tracking.OutForDelivery,
	"attemptfail":        tracking.FailedAttempt,
	"failedattempt":      tracking.FailedAttempt, // AfterShip's newer API versions spell it this way
	"delivered":          tracking.Delivered,
	"availableforpickup": tracking.AvailableForPickup,
	"exception":          tracking.Exception,
	"expired":            tracking.Expired,
}

// exceptionSubtags are the Exception subtags that are not an exception in
// waybill's sense (a hold or a delay the parcel recovers from) but a
// return, a loss or a cancellation: the subtag decides.
var exceptionSubtags = map[string]tracking.Status{
	"exception_010": tracking.ReturnToSender, // returning to sender
	"exception_011": tracking.Returned,       // returned to sender
	"exception_012": tracking.Failed,         // lost or damaged
	"exception_013": tracking.Failed,         // lost or damaged
	"exception_021": tracking.Failed,         // failed for good (REFERENCE.md cross-walk)
	"exception_020": tracking.Cancelled,      // cancelled
}

// Status maps an AfterShip tag and subtag to waybill's status. A tag no
// mapping knows is tracking.Unknown, never an error: the event is kept and
// counted. When the tag is missing, the subtag's prefix ("Delivered" in
// "Delivered_001") stands in for it.
func Status(tag, subtag string) tracking.Status {
	tag, subtag = strings.ToLower(strings.TrimSpace(tag)), strings.ToLower(strings.TrimSpace(subtag))
	if tag == "" {
		tag, _, _ = strings.Cut(subtag, "_")
	}
	st, ok := tagStatus[tag]
	if !ok {
		return tracking.Unknown
	}
	if st == tracking.Exception {
		if s, ok := exceptionSubtags[subtag]; ok {
			return s
		}
	}
	return st
}
