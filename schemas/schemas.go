// Package schemas embeds the documents in this folder so Go code can serve
// and test against them: the JSON Schemas of every CloudEvent data waybill
// publishes and the OpenAPI document of the console's read API.
package schemas

import "embed"

// FS holds every *.json and *.yaml file of this folder at its root
// ("shipment-event.v1.json", "openapi.yaml").
//
//go:embed *.json *.yaml
var FS embed.FS

// OpenAPI is the file name of the console API's OpenAPI 3.1 document in FS.
const OpenAPI = "openapi.yaml"
