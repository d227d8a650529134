module github.com/waybill-dev/waybill/services/waybill

go 1.26.0

require (
	github.com/waybill-dev/waybill/pkg v0.0.0
	github.com/waybill-dev/waybill/schemas v0.0.0 // indirect: the console embeds it
	github.com/waybill-dev/waybill/services/console v0.0.0
	github.com/waybill-dev/waybill/services/ingress v0.0.0
	github.com/waybill-dev/waybill/services/normalizer v0.0.0
	github.com/waybill-dev/waybill/services/projector v0.0.0
	github.com/waybill-dev/waybill/services/uspspoller v0.0.0
	gopkg.in/yaml.v3 v3.0.1
)

replace (
	github.com/waybill-dev/waybill/pkg => ../../pkg
	github.com/waybill-dev/waybill/schemas => ../../schemas
	github.com/waybill-dev/waybill/services/console => ../console
	github.com/waybill-dev/waybill/services/ingress => ../ingress
	github.com/waybill-dev/waybill/services/normalizer => ../normalizer
	github.com/waybill-dev/waybill/services/projector => ../projector
	github.com/waybill-dev/waybill/services/uspspoller => ../uspspoller
)
