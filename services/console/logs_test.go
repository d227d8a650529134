package console

import (
	"strings"
	"testing"

	"github.com/waybill-dev/waybill/pkg/pgtest"
)

// assertNoPrivateDataLogged fails the test if the console logged any of
// values (references, tracking numbers): logs carry routes and statuses,
// never what a request asked for.
func assertNoPrivateDataLogged(t *testing.T, h *harness, values ...string) {
	t.Helper()
	logs := h.logText()
	if !strings.Contains(logs, `"route"`) {
		t.Errorf("no request was logged at all: %q", logs)
	}
	for _, v := range values {
		if strings.Contains(logs, v) {
			t.Errorf("the logs contain %q:\n%s", v, logs)
		}
	}
}

// emptyDatabase is a fresh database the projector never migrated.
func emptyDatabase(t *testing.T) string { return pgtest.Database(t) }
