package tenovi

import (
	"strings"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

type mapping struct {
	status    tracking.Status
	substatus string
}

// statuses maps Tenovi's fulfillment statuses (its documented list plus the
// "Pending"/"Requested"/"Cancelled" spellings of its order endpoints). A
// device that is requested, held or waiting on the client has no parcel
// yet: pending, with the reason as substatus where Tenovi gives one.
// "Connected", "Replaced" and "Unlinked" are about the device after
// delivery, not the parcel: they stay tracking.Unknown (kept, counted).
var statuses = map[string]mapping{
	"pending":                {tracking.Pending, ""},
	"pending shipment":       {tracking.Pending, ""},
	"requested":              {tracking.Pending, ""},
	"dropship requested":     {tracking.Pending, ""},
	"ready to ship":          {tracking.Pending, ""},
	"on hold":                {tracking.Pending, "on_hold"},
	"client action required": {tracking.Pending, "client_action_required"},
	"shipped":                {tracking.InTransit, ""},
	"dropshipped":            {tracking.InTransit, ""},
	"delivered":              {tracking.Delivered, ""},
	"returned":               {tracking.Returned, ""},
	"cancelled":              {tracking.Cancelled, ""},
	"canceled":               {tracking.Cancelled, ""},
}

// mapStatus folds case, '_', '-' and repeated spaces: "Ready to Ship",
// "READY_TO_SHIP" and "ready-to-ship" are one status.
func mapStatus(s string) mapping {
	key := strings.Join(strings.Fields(strings.NewReplacer("_", " ", "-", " ").Replace(strings.ToLower(s))), " ")
	if m, ok := statuses[key]; ok {
		return m
	}
	return mapping{status: tracking.Unknown}
}
