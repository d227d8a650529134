// Package tracking is waybill's domain: the normalized shipment event, the
// status taxonomy and its ranks, carrier codes, subject tokens and carrier
// timestamp parsing. It sits under every other package and imports no NATS,
// Postgres or HTTP.
package tracking

import "fmt"

// Status is a normalized shipment status. The declaration order of
// the statuses below is their lifecycle rank, which breaks ties between events at
// equal carrier time (a delivered scan beats an out-for-delivery scan stamped
// the same minute).
type Status string

// The taxonomy of DESIGN.md, in lifecycle rank order.
const (
	Pending            Status = "pending"
	InfoReceived       Status = "info_received"
	InTransit          Status = "in_transit"
	OutForDelivery     Status = "out_for_delivery"
	AvailableForPickup Status = "available_for_pickup"
	FailedAttempt      Status = "failed_attempt"
	Exception          Status = "exception"
	ReturnToSender     Status = "return_to_sender"
	Delivered          Status = "delivered"
	Returned           Status = "returned"
	Failed             Status = "failed"
	Cancelled          Status = "cancelled"
	Expired            Status = "expired"
	// Unknown is a carrier status no mapping knows. It is kept and counted,
	// never dropped, and ranks lowest so it never hides a known status.
	Unknown Status = "unknown"
)

// Statuses lists every status in rank order, Unknown first (rank 0).
var Statuses = []Status{
	Unknown, Pending, InfoReceived, InTransit, OutForDelivery, AvailableForPickup,
	FailedAttempt, Exception, ReturnToSender, Delivered, Returned, Failed,
	Cancelled, Expired,
}

var ranks = func() map[Status]int {
	m := make(map[Status]int, len(Statuses))
	for i, s := range Statuses {
		m[s] = i
	}
	return m
}()

// Rank is the status's lifecycle rank; higher is later. Unknown and any
// status outside the taxonomy rank 0.
func (s Status) Rank() int { return ranks[s] }

// Valid reports whether s is part of the taxonomy (Unknown included).
func (s Status) Valid() bool {
	_, ok := ranks[s]
	return ok
}

// Terminal reports whether no further carrier event is expected.
func (s Status) Terminal() bool {
	switch s {
	case Delivered, Returned, Failed, Cancelled, Expired:
		return true
	}
	return false
}

// ParseStatus returns the status named s or an error naming it.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if !st.Valid() {
		return "", fmt.Errorf("tracking: unknown status %q", s)
	}
	return st, nil
}
