package usps_test

import (
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/usps"
)

func TestProvider(t *testing.T) { providertest.Run(t, usps.Provider{}) }

func FuzzProvider(f *testing.F) { providertest.Fuzz(f, usps.Provider{}) }
