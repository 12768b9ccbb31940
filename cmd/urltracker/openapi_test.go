package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestOpenAPIDocumentIsServed: GET /api/openapi.json answers the document
// without a token, as JSON that tools can load. Every answer of the
// end-to-end tests is validated against this document (testutil.Client),
// and TestMain fails a full run that leaves an operation unreached.
func TestOpenAPIDocumentIsServed(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	status, body := a.Do(t, "GET", "/api/openapi.json", nil, false)
	if status != http.StatusOK {
		t.Fatalf("GET /api/openapi.json: %d %s", status, body)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/api/offers"] == nil || doc.Paths["/api/trackier-webhook"] == nil {
		t.Errorf("document: openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}

	// The plain-text and liveness answers are part of the contract too.
	if status, body := a.Do(t, "GET", "/metrics", nil, false); status != http.StatusOK || !strings.Contains(string(body), "urltracker_") {
		t.Errorf("GET /metrics: %d", status)
	}
	if status, _ := a.Do(t, "GET", "/healthz", nil, false); status != http.StatusOK {
		t.Errorf("GET /healthz: %d", status)
	}
}
