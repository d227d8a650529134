package usps_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/usps"
	"github.com/waybill-dev/waybill/pkg/schematest"
)

func TestProvider(t *testing.T) { providertest.Run(t, usps.Provider{}) }

func FuzzProvider(f *testing.F) { providertest.Fuzz(f, usps.Provider{}) }

// TestGoldenEventsMatchSchema holds every reviewed golden event to the
// published contract, schemas/shipment-event.v1.json.
func TestGoldenEventsMatchSchema(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no goldens: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var g providertest.Golden
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for i := range g.Events {
			schematest.ValidateEvent(t, &g.Events[i])
		}
	}
}
