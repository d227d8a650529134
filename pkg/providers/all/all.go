// Package all registers every provider. Binaries import it for its side
// effect; adding a provider means adding its package and one line here.
package all

import (
	_ "github.com/waybill-dev/waybill/pkg/providers/carriyo"
	_ "github.com/waybill-dev/waybill/pkg/providers/swiftpod"
	_ "github.com/waybill-dev/waybill/pkg/providers/tenovi"
	_ "github.com/waybill-dev/waybill/pkg/providers/usps"
	_ "github.com/waybill-dev/waybill/pkg/providers/wineshipping"
)
