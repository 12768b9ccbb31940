// Package openapi holds urltracker's OpenAPI 3.1 document: the contract of
// every admin and public HTTP endpoint. It is written by hand as YAML, kept
// beside this file, served as JSON at GET /api/openapi.json, and the
// end-to-end tests validate every answer they receive against it, so the
// document cannot drift from what the service answers.
package openapi

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/goccy/go-yaml"
)

//go:embed openapi.yaml
var document []byte

// YAML is the document as it is kept in the repository.
func YAML() []byte { return document }

// JSON is the document as JSON, converted once.
var JSON = sync.OnceValues(func() ([]byte, error) {
	j, err := yaml.YAMLToJSON(document)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return j, nil
})
