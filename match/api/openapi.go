package api

import (
	_ "embed"
	"net/http"
)

// openapiJSON is the OpenAPI 3.1 description of every route in the route
// table; TestOpenAPI keeps the two in step.
//
//go:embed openapi.json
var openapiJSON []byte

// serveOpenAPI is GET /v1/openapi.json. It is public: it describes the API,
// not anyone's data.
func serveOpenAPI(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache") // revalidate: it changes with each release
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openapiJSON) // a failed write means the client left
}
