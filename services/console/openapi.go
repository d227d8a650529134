package console

import (
	"net/http"

	"github.com/waybill-dev/waybill/schemas"
)

// openAPI serves schemas/openapi.yaml, the document of this API.
func (s *server) openAPI(w http.ResponseWriter, r *http.Request) {
	b, err := schemas.FS.ReadFile(schemas.OpenAPI)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(b)
}
