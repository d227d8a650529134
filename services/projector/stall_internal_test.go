package projector

import (
	"strings"
	"testing"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// The stall scan excludes exactly the terminal statuses, with the
// predicate of the partial index shipments_stall_scan (pkg/projection
// keeps that index in step with tracking.Status.Terminal too).
func TestStallScanExcludesTerminalStatuses(t *testing.T) {
	for _, s := range tracking.Statuses {
		if excluded := strings.Contains(stallCandidatesSQL, "'"+string(s)+"'"); excluded != s.Terminal() {
			t.Errorf("status %s: excluded from the stall scan %v, terminal %v", s, excluded, s.Terminal())
		}
	}
}
