package swiftpod_test

import (
	"testing"

	"github.com/waybill-dev/waybill/pkg/providers/providertest"
	"github.com/waybill-dev/waybill/pkg/providers/swiftpod"
)

func TestProvider(t *testing.T) { providertest.Run(t, swiftpod.Provider{}) }

func FuzzProvider(f *testing.F) { providertest.Fuzz(f, swiftpod.Provider{}) }
