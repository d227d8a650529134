package carriyo

import (
	"strings"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// statuses is the Carriyo cross-walk of REFERENCE.md, keyed by Carriyo's
// snake_case status codes.
var statuses = map[string]tracking.Status{
	"draft":                        tracking.Pending,
	"pending":                      tracking.Pending,
	"booked":                       tracking.InfoReceived,
	"ready_to_ship":                tracking.InfoReceived,
	"shipped":                      tracking.InTransit,
	"in_transit":                   tracking.InTransit,
	"out_for_delivery":             tracking.OutForDelivery,
	"awaiting_customer_collection": tracking.AvailableForPickup,
	"failed_delivery_attempt":      tracking.FailedAttempt,
	"delayed":                      tracking.Exception,
	"suspended":                    tracking.Exception,
	"error":                        tracking.Exception,
	// A failed collection is the carrier not picking the parcel up from
	// the sender (or, on a return, from the customer): nobody attempted a
	// delivery, so failed_attempt, which consumers read as "we missed
	// you" for the recipient, would be wrong. It is an exception that the
	// next collection attempt resolves.
	"failed_collection_attempt": tracking.Exception,
	"ready_for_return":          tracking.ReturnToSender,
	"return_in_transit":         tracking.ReturnToSender,
	"returned":                  tracking.Returned,
	"delivered":                 tracking.Delivered,
	"missing":                   tracking.Failed,
	"cancelled":                 tracking.Cancelled,
	"cancelled_by_carrier":      tracking.Cancelled,
}

// Status maps a Carriyo shipment status to waybill's status, ignoring case
// and surrounding space. A status no mapping knows is tracking.Unknown,
// never an error: the event is kept and counted.
func Status(carriyoStatus string) tracking.Status {
	if st, ok := statuses[strings.ToLower(strings.TrimSpace(carriyoStatus))]; ok {
		return st
	}
	return tracking.Unknown
}

// substatus is the reason kept with an exception: Carriyo files delays,
// holds, booking errors and failed collections under one waybill status,
// and the Carriyo status is what tells them apart.
func substatus(carriyoStatus string) string {
	s := strings.ToLower(strings.TrimSpace(carriyoStatus))
	if Status(s) == tracking.Exception {
		return s
	}
	return ""
}
