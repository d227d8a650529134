module github.com/waybill-dev/waybill/services/console

go 1.26.0

require github.com/waybill-dev/waybill/pkg v0.0.0

replace github.com/waybill-dev/waybill/pkg => ../../pkg
