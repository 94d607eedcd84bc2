package server

import (
	_ "embed"
	"fmt"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"
	"sigs.k8s.io/yaml"
)

// openAPIYAML is the OpenAPI document of the HTTP API (docs/openapi.yaml
// is a copy).
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI returns the OpenAPI document of the HTTP API as JSON, as
// GET /openapi.json serves it.
var OpenAPI = sync.OnceValues(func() ([]byte, error) {
	b, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return b, nil
})

// handleOpenAPI answers GET /openapi.json, without authentication: the
// document names routes and scopes, never a token.
func (s *Server) handleOpenAPI(c echo.Context) error {
	b, err := OpenAPI()
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
