package uspsfake

import (
	"hash/fnv"
	"time"
)

// Event is one scripted USPS tracking event.
type Event struct {
	Type  string // eventType: "Out for Delivery"
	Code  string // eventCode: "OF"
	City  string
	State string
	ZIP   string
}

// Script is the progression of one tracking number.
type Script struct {
	// NotFound is how many tracking requests answer 404 before the label
	// is in the system (USPS: "not available" for hours after shipping).
	NotFound int
	// Every reveals one more event per Every of clock time after the
	// first found answer; 0 reveals one more event per request.
	Every time.Duration
	// Events in carrier order, oldest first.
	Events []Event
}

// Ready-made progressions, in carrier order.
var (
	// Delivered: label created -> in transit -> out for delivery -> delivered.
	Delivered = []Event{
		{"Shipping Label Created, USPS Awaiting Item", "GX", "IRVINE", "CA", "92614"},
		{"USPS in possession of item", "03", "IRVINE", "CA", "92614"},
		{"Departed USPS Regional Facility", "T1", "SANTA ANA CA DISTRIBUTION CENTER", "", ""},
		{"In Transit to Next Facility", "TL", "", "", ""},
		{"Arrived at Post Office", "07", "PORTSMOUTH", "NH", "03801"},
		{"Out for Delivery", "OF", "PORTSMOUTH", "NH", "03801"},
		{"Delivered, In/At Mailbox", "01", "PORTSMOUTH", "NH", "03801"},
	}
	// AttemptedThenDelivered: a failed attempt, held at the Post Office,
	// then picked up.
	AttemptedThenDelivered = []Event{
		{"Shipping Label Created, USPS Awaiting Item", "GX", "IRVINE", "CA", "92614"},
		{"USPS in possession of item", "03", "IRVINE", "CA", "92614"},
		{"In Transit to Next Facility", "TL", "", "", ""},
		{"Out for Delivery", "OF", "PORTSMOUTH", "NH", "03801"},
		{"Notice Left (No Authorized Recipient Available)", "02", "PORTSMOUTH", "NH", "03801"},
		{"Available for Pickup", "16", "PORTSMOUTH", "NH", "03801"},
		{"Delivered, Individual Picked Up at Post Office", "01", "PORTSMOUTH", "NH", "03801"},
	}
	// ReturnToSender: attempted, unclaimed, returned to the sender.
	ReturnToSender = []Event{
		{"Shipping Label Created, USPS Awaiting Item", "GX", "IRVINE", "CA", "92614"},
		{"USPS in possession of item", "03", "IRVINE", "CA", "92614"},
		{"In Transit to Next Facility", "TL", "", "", ""},
		{"Out for Delivery", "OF", "PORTSMOUTH", "NH", "03801"},
		{"Notice Left (No Authorized Recipient Available)", "02", "PORTSMOUTH", "NH", "03801"},
		{"Unclaimed/Being Returned to Sender", "27", "PORTSMOUTH", "NH", "03801"},
		{"In Transit to Next Facility", "TL", "", "", ""},
		{"Delivered, To Original Sender", "01", "IRVINE", "CA", "92614"},
	}
)

// Demo scripts any number for `waybill run`: most are delivered, some
// after a failed attempt, some returned to sender; each starts with one
// 404 (the label is not in the system yet) and reveals one event per
// every. The choice is a hash of the number, so it is stable.
func Demo(every time.Duration) func(number string) (Script, bool) {
	return func(number string) (Script, bool) {
		h := fnv.New32a()
		h.Write([]byte(number))
		var events []Event
		switch n := h.Sum32() % 20; {
		case n < 14:
			events = Delivered
		case n < 17:
			events = AttemptedThenDelivered
		default:
			events = ReturnToSender
		}
		return Script{NotFound: 1, Every: every, Events: events}, true
	}
}
