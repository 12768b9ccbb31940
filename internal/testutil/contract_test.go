package testutil

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// failures records what checkContract reports instead of failing the test.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, a ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, a...))
}
func (f *failures) Fatalf(format string, a ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, a...))
}

// TestContractCatchesDrift shows that an answer which changed without the
// document is reported: a renamed field, an added field, a wrong type, an
// undocumented status and an undocumented operation.
func TestContractCatchesDrift(t *testing.T) {
	health := `{"status":"ok"}`
	event := `{"id":1,"offer_id":2,"received_at":"2026-12-01T10:00:00Z","click_id":"c","campaign_id":"k","payload":{"click_id":"c"},"outcome":"check_scheduled"}`
	for _, tt := range []struct {
		name, method, path string
		status             int
		body               string
		want               string // "" = valid
	}{
		{"valid", "GET", "/healthz", 200, health, ""},
		{"valid list", "GET", "/api/offers/2/events", 200, `{"events":[` + event + `]}`, ""},
		{"renamed field", "GET", "/api/offers/2/events", 200, `{"events":[` + strings.Replace(event, `"click_id":"c",`, `"clickId":"c",`, 1) + `]}`, "does not match"},
		{"added field", "GET", "/healthz", 200, `{"status":"ok","uptime":3}`, "does not match"},
		{"wrong type", "GET", "/api/offers/2/events", 200, `{"events":[` + strings.Replace(event, `"id":1`, `"id":"1"`, 1) + `]}`, "does not match"},
		{"undocumented status", "GET", "/healthz", 418, health, "does not match"},
		{"error shape", "GET", "/api/offers/2", 404, `{"success":false,"error":"not found"}`, ""},
		{"bad error shape", "GET", "/api/offers/2", 404, `{"message":"not found"}`, "does not match"},
		{"undocumented operation", "GET", "/api/nothing-here", 200, `{}`, "no such operation"},
		{"unknown path answering 404", "GET", "/api/nothing-here", 404, `{"success":false,"error":"no such endpoint"}`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, "http://127.0.0.1:1"+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{"Content-Type": {"application/json"}}
			f := &failures{TB: t}
			checkContract(f, req, tt.status, h, []byte(tt.body))
			got := strings.Join(f.msgs, "\n")
			switch {
			case tt.want == "" && got != "":
				t.Errorf("valid answer reported:\n%s", got)
			case tt.want != "" && !strings.Contains(got, tt.want):
				t.Errorf("want a report containing %q, got %q", tt.want, got)
			}
		})
	}
}
