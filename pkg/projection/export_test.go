package projection

import (
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// InsertArgs are the parameters Apply sends for events, so the raw-limit
// benchmark writes the same rows the same way.
func InsertArgs(events []tracking.Event, receivedAt time.Time) ([]any, error) {
	b, err := newEventBatch(events)
	if err != nil {
		return nil, err
	}
	return b.args(receivedAt), nil
}
