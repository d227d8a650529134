package tenovi_test

import (
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/tenovi"
)

func TestProvider(t *testing.T) { providertest.Run(t, tenovi.Provider{}) }

func FuzzProvider(f *testing.F) { providertest.Fuzz(f, tenovi.Provider{}) }
