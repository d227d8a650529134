package schematest_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waybill-dev/waybill/pkg/schematest"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Every provider's golden events are what the normalizer publishes for its
// fixtures (providertest writes them with encoding/json), so each must match
// the published schema exactly as stored, and again after a Go round trip.
func TestGoldenEventsMatchSchema(t *testing.T) {
	root, err := schematest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	paths, err := filepath.Glob(filepath.Join(root, "pkg", "providers", "*", "testdata", "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden files under pkg/providers/*/testdata")
	}
	var total int
	for _, p := range paths {
		provider := filepath.Base(filepath.Dir(filepath.Dir(p)))
		name := provider + "/" + strings.TrimSuffix(filepath.Base(p), ".golden.json")
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var g struct {
				Events []json.RawMessage `json:"events"`
			}
			if err := json.Unmarshal(body, &g); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for i, raw := range g.Events {
				schematest.Validate(t, schematest.ShipmentEvent, raw)
				var e tracking.Event
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatalf("event %d: %v", i, err)
				}
				schematest.ValidateEvent(t, &e)
			}
			total += len(g.Events)
		})
	}
	if total == 0 {
		t.Error("the golden files hold no events: nothing was checked")
	}
	t.Logf("%d golden events in %d files", total, len(paths))
}
