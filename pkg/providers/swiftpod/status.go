package swiftpod

import (
	"strings"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// easyPostStatuses maps the tracking statuses SwiftPOD forwards. SwiftPOD's
// labels are EasyPost labels (label_url points at easypost-files), so the
// statuses are EasyPost's; the mapping is REFERENCE.md's cross-walk,
// EasyPost column. EasyPost's "error" (it could not track the parcel) and
// "unknown" say nothing about the parcel: they fall through to
// tracking.Unknown, kept and counted, never dropped.
var easyPostStatuses = map[string]tracking.Status{
	"pre_transit":          tracking.InfoReceived,
	"in_transit":           tracking.InTransit,
	"out_for_delivery":     tracking.OutForDelivery,
	"available_for_pickup": tracking.AvailableForPickup,
	"delivered":            tracking.Delivered,
	"return_to_sender":     tracking.ReturnToSender,
	"failure":              tracking.Failed,
	"cancelled":            tracking.Cancelled,
	"canceled":             tracking.Cancelled,
}

// mapStatus folds "In Transit", "in-transit" and "in_transit" alike before
// looking the status up.
func mapStatus(s string) tracking.Status {
	key := strings.NewReplacer(" ", "_", "-", "_").Replace(strings.ToLower(strings.TrimSpace(s)))
	if st, ok := easyPostStatuses[key]; ok {
		return st
	}
	return tracking.Unknown
}

// carrierHosts names the carrier of a tracking_url when the carrier field
// is blank. Only hosts that identify one carrier are listed: a tracking
// aggregator's host says nothing about who carries the parcel.
var carrierHosts = []struct{ domain, carrier string }{
	{"usps.com", "usps"},
	{"ups.com", "ups"},
	{"fedex.com", "fedex"},
	{"dhl.com", "dhl"},
}
