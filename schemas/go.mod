module github.com/waybill-dev/waybill/schemas

go 1.26.0
