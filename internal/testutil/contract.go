package testutil

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/helpers"

	"github.com/urltracker/urltracker/openapi"
)

// The contract: every answer a Client receives is validated against the
// OpenAPI document, and the operations reached are recorded so that a
// package's TestMain can require that its tests reach every one.
var contract struct {
	once      sync.Once
	validator validator.Validator
	templates map[string][]string // path template → its methods
	err       error

	mu      sync.Mutex
	reached map[string]bool // "METHOD /template"
}

func loadContract() {
	doc, err := libopenapi.NewDocument(openapi.YAML())
	if err != nil {
		contract.err = fmt.Errorf("parse openapi.yaml: %w", err)
		return
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		contract.err = fmt.Errorf("openapi.yaml: %v", errs)
		return
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		contract.err = fmt.Errorf("openapi.yaml: %w", err)
		return
	}
	contract.validator = v
	contract.templates = map[string][]string{}
	contract.reached = map[string]bool{}
	for path, item := range model.Model.Paths.PathItems.FromOldest() {
		for method := range item.GetOperations().FromOldest() {
			contract.templates[path] = append(contract.templates[path], strings.ToUpper(method))
		}
	}
}

// checkContract fails t when the answer to req is not what the OpenAPI
// document says that request can get. Paths the document does not name
// may only answer the error shape with 404 or 405.
func checkContract(t testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	contract.once.Do(loadContract)
	if contract.err != nil {
		t.Fatalf("OpenAPI contract: %v", contract.err)
	}
	template, known := matchTemplate(req.URL.Path)
	if !known || !slices.Contains(contract.templates[template], req.Method) {
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("OpenAPI contract: %s %s answered %d but the document has no such operation: add it to openapi/openapi.yaml", req.Method, req.URL.Path, status)
		}
		return
	}
	contract.mu.Lock()
	contract.reached[req.Method+" "+template] = true
	contract.mu.Unlock()

	resp := &http.Response{
		StatusCode: status,
		Header:     header,
		Body:       io.NopCloser(bytes.NewReader(body)),
		Request:    req,
	}
	if ok, errs := contract.validator.ValidateHttpResponse(req, resp); !ok {
		var msgs []string
		for _, e := range errs {
			if e.ValidationType == helpers.SecurityValidation {
				continue
			}
			msg := e.Message + ": " + e.Reason
			for _, se := range e.SchemaValidationErrors {
				msg += fmt.Sprintf("; %s at %s", se.Reason, se.FieldPath)
			}
			msgs = append(msgs, msg)
		}
		if len(msgs) > 0 {
			t.Errorf("OpenAPI contract: %s %s → %d does not match openapi/openapi.yaml:\n  %s\n  body: %.400s",
				req.Method, req.URL.Path, status, strings.Join(msgs, "\n  "), body)
		}
	}
}

// matchTemplate finds the document's path template for a request path.
func matchTemplate(path string) (string, bool) {
	segs := strings.Split(path, "/")
	for template := range contract.templates {
		tsegs := strings.Split(template, "/")
		if len(tsegs) != len(segs) {
			continue
		}
		match := true
		for i, ts := range tsegs {
			if strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}") {
				match = segs[i] != ""
			} else {
				match = ts == segs[i]
			}
			if !match {
				break
			}
		}
		if match {
			return template, true
		}
	}
	return "", false
}

// ContractUnreached lists the document's operations ("METHOD /template")
// that no Client request of this test binary reached.
func ContractUnreached() []string {
	contract.once.Do(loadContract)
	contract.mu.Lock()
	defer contract.mu.Unlock()
	var missing []string
	for template, methods := range contract.templates {
		for _, m := range methods {
			if !contract.reached[m+" "+template] {
				missing = append(missing, m+" "+template)
			}
		}
	}
	sort.Strings(missing)
	return missing
}
