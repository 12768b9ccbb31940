package server

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"

	"github.com/urltracker/urltracker/openapi"
)

// TestEveryRouteIsInTheOpenAPIDocument compares the API routes listed in
// routes.go with the operations of the OpenAPI document, both ways.
func TestEveryRouteIsInTheOpenAPIDocument(t *testing.T) {
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var routes []string
	for _, m := range regexp.MustCompile(`mux\.Handle\("([A-Z]+) (/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		routes = append(routes, m[1]+" "+m[2])
	}
	if len(routes) < 10 {
		t.Fatalf("found only %d routes in routes.go: has its form changed?", len(routes))
	}
	doc, err := libopenapi.NewDocument(openapi.YAML())
	if err != nil {
		t.Fatal(err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			documented = append(documented, strings.ToUpper(method)+" "+normalise(path))
		}
	}
	for _, r := range routes {
		if !slices.Contains(documented, normalise(r)) {
			t.Errorf("route %q is not in openapi/openapi.yaml", r)
		}
	}
	for _, d := range documented {
		if !slices.ContainsFunc(routes, func(r string) bool { return normalise(r) == d }) {
			t.Errorf("openapi/openapi.yaml documents %q, which routes.go does not serve", d)
		}
	}
}

// normalise names every path parameter alike: routes.go and the document
// may name the same parameter differently.
func normalise(route string) string {
	return regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(route, "{}")
}
