package trackierfake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker/trackier"
)

// call sends one raw request, as any client of Trackier would, and answers
// the HTTP status and the decoded body.
func call(t *testing.T, s *Server, key, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Api-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func errorCode(body map[string]any) int {
	if body["success"] != false {
		return 0
	}
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(float64)
	return int(code)
}

func campaignOf(t *testing.T, s *Server, id string) map[string]any {
	t.Helper()
	status, body := call(t, s, s.Key, "GET", "/v2/campaigns/"+id, "")
	if status != 200 || body["success"] != true {
		t.Fatalf("read campaign %s: %d %v", id, status, body)
	}
	return body["campaign"].(map[string]any)
}

func TestEditsFollowTrackiersStatusRules(t *testing.T) {
	tests := []struct {
		name    string
		start   trackier.Status
		path    string
		body    string
		want    trackier.Status
		wantURL string
	}{
		{"url edit re-activates paused", trackier.StatusPaused, "/v2/campaigns/101", `{"url":"https://adv.example/t?c={click_id}"}`, trackier.StatusActive, "https://adv.example/t?c={click_id}"},
		{"title edit re-activates paused", trackier.StatusPaused, "/v2/campaigns/101", `{"title":"renamed"}`, trackier.StatusActive, "https://adv.example/old"},
		{"url edit keeps disabled", trackier.StatusDisabled, "/v2/campaigns/101", `{"url":"https://adv.example/new"}`, trackier.StatusDisabled, "https://adv.example/new"},
		{"url edit keeps suspended", trackier.StatusSuspended, "/v2/campaigns/101", `{"url":"https://adv.example/new"}`, trackier.StatusSuspended, "https://adv.example/new"},
		{"edit endpoint sets status", trackier.StatusActive, "/v2/campaigns/101", `{"status":"disabled"}`, trackier.StatusDisabled, "https://adv.example/old"},
		{"edit endpoint can pause", trackier.StatusActive, "/v2/campaigns/101", `{"status":"paused"}`, trackier.StatusPaused, "https://adv.example/old"},
		{"status endpoint disables", trackier.StatusActive, "/v2/campaigns/status", `{"campaignIds":[101],"status":"disabled"}`, trackier.StatusDisabled, "https://adv.example/old"},
		{"status endpoint takes string ids", trackier.StatusDisabled, "/v2/campaigns/status", `{"campaignIds":["101"],"status":"active"}`, trackier.StatusActive, "https://adv.example/old"},
		{"status endpoint resumes paused", trackier.StatusPaused, "/v2/campaigns/status", `{"campaignIds":[101],"status":"active"}`, trackier.StatusActive, "https://adv.example/old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			s.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes", Status: tt.start, URL: "https://adv.example/old"})
			status, body := call(t, s, s.Key, "POST", tt.path, tt.body)
			if status != 200 || body["success"] != true {
				t.Fatalf("edit: %d %v", status, body)
			}
			got := campaignOf(t, s, "101")
			if got["status"] != string(tt.want) || got["url"] != tt.wantURL {
				t.Errorf("read %v, want status %s url %s", got, tt.want, tt.wantURL)
			}
			if c := s.Campaign("101"); c.Status != tt.want || c.URL != tt.wantURL {
				t.Errorf("truth %+v", c)
			}
		})
	}
}

func TestFailuresAnswerSuccessFalseWithCodes(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(s *Server)
		key        string
		method     string
		path, body string
		wantStatus int
		wantCode   int
	}{
		{"invalid key is 400 code 13", nil, "wrong", "GET", "/v2/campaigns/101", "", 400, trackier.CodeInvalidKey},
		{"missing key is 400 code 13", nil, "", "GET", "/v2/campaigns", "", 400, trackier.CodeInvalidKey},
		{"unknown campaign read is 31", nil, DefaultKey, "GET", "/v2/campaigns/999", "", 404, trackier.CodeNotFound},
		{"unknown campaign edit is 31", nil, DefaultKey, "POST", "/v2/campaigns/999", `{"url":"https://x.example/"}`, 404, trackier.CodeNotFound},
		{"unknown campaign status is 31", nil, DefaultKey, "POST", "/v2/campaigns/status", `{"campaignIds":[999],"status":"disabled"}`, 404, trackier.CodeNotFound},
		{"IP not whitelisted is 41", func(s *Server) { s.SetIPWhitelisted(false) }, DefaultKey, "GET", "/v2/campaigns/101", "", 403, trackier.CodeIPNotWhitelisted},
		{"maintenance is 50", func(s *Server) { s.SetMaintenance(true) }, DefaultKey, "GET", "/v2/campaigns/101", "", 503, trackier.CodeMaintenance},
		{"injected code in a 200", func(s *Server) { s.FailNext(trackier.CodeTooManyRequests, 200) }, DefaultKey, "GET", "/v2/campaigns/101", "", 200, trackier.CodeTooManyRequests},
		{"status endpoint switched off is a plain 404", func(s *Server) { s.SetStatusEndpoint(false) }, DefaultKey, "POST", "/v2/campaigns/status", `{"campaignIds":[101],"status":"disabled"}`, 404, 0},
		{"status endpoint refuses other statuses", nil, DefaultKey, "POST", "/v2/campaigns/status", `{"campaignIds":[101],"status":"deleted"}`, 400, 0},
		{"wrong method is 405", nil, DefaultKey, "DELETE", "/v2/campaigns/101", "", 405, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			s.AddCampaign(trackier.Campaign{ID: "101", Status: trackier.StatusActive, URL: "https://adv.example/"})
			if tt.setup != nil {
				tt.setup(s)
			}
			status, body := call(t, s, tt.key, tt.method, tt.path, tt.body)
			if status != tt.wantStatus || errorCode(body) != tt.wantCode {
				t.Errorf("answered %d code %d (%v), want %d code %d", status, errorCode(body), body, tt.wantStatus, tt.wantCode)
			}
			if tt.wantStatus >= 400 && body != nil && body["success"] != false {
				t.Errorf("a failure body must say success:false: %v", body)
			}
			if c := s.Campaign("101"); c.Status != trackier.StatusActive {
				t.Errorf("a failed request changed the campaign: %+v", c)
			}
			log := s.Requests()
			if len(log) != 1 || log[0].StatusCode != tt.wantStatus || log[0].Code != tt.wantCode || log[0].APIKey != tt.key {
				t.Errorf("request log %+v", log)
			}
		})
	}
}

func TestFailNextFailsOnlyTheNextRequest(t *testing.T) {
	s := New(t)
	s.AddCampaign(trackier.Campaign{ID: "7"})
	s.FailNext(trackier.CodeMaintenance, 503)
	if status, body := call(t, s, s.Key, "GET", "/v2/campaigns/7", ""); status != 503 || errorCode(body) != 50 {
		t.Fatalf("first: %d %v", status, body)
	}
	if status, _ := call(t, s, s.Key, "GET", "/v2/campaigns/7", ""); status != 200 {
		t.Fatalf("second: %d", status)
	}
}

func TestMoreThanFiveRequestsASecondPerKeyAreRefused(t *testing.T) {
	s := New(t)
	s.AddCampaign(trackier.Campaign{ID: "1"})
	s.AddKey("other-key")
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	for i := range 5 {
		if status, body := call(t, s, s.Key, "GET", "/v2/campaigns/1", ""); status != 200 {
			t.Fatalf("request %d within the limit: %d %v", i+1, status, body)
		}
	}
	if status, body := call(t, s, s.Key, "GET", "/v2/campaigns/1", ""); status != 429 || errorCode(body) != trackier.CodeTooManyRequests {
		t.Fatalf("6th request in the same second: %d %v, want 429 code 40", status, body)
	}
	if status, _ := call(t, s, "other-key", "GET", "/v2/campaigns/1", ""); status != 200 {
		t.Fatalf("another key has its own limit: %d", status)
	}
	mu.Lock()
	now = now.Add(time.Second)
	mu.Unlock()
	if status, _ := call(t, s, s.Key, "GET", "/v2/campaigns/1", ""); status != 200 {
		t.Fatalf("a second later: %d", status)
	}
}

func TestWritesShowInReadsOnlyAfterTheLag(t *testing.T) {
	s := New(t)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s.SetRateLimit(0)
	s.AddCampaign(trackier.Campaign{ID: "101", Status: trackier.StatusActive, URL: "https://adv.example/a"})
	s.SetReadLag(45 * time.Second)

	call(t, s, s.Key, "POST", "/v2/campaigns/status", `{"campaignIds":[101],"status":"disabled"}`)
	if got := campaignOf(t, s, "101")["status"]; got != "active" {
		t.Fatalf("read right after the write: %v, want the old status", got)
	}
	if s.Campaign("101").Status != trackier.StatusDisabled {
		t.Fatal("the truth changes at once")
	}
	advance(44 * time.Second)
	if got := campaignOf(t, s, "101")["status"]; got != "active" {
		t.Fatalf("read before the lag: %v", got)
	}
	advance(time.Second)
	if got := campaignOf(t, s, "101")["status"]; got != "disabled" {
		t.Fatalf("read after the lag: %v", got)
	}
	status, body := call(t, s, s.Key, "GET", "/v2/campaigns?limit=100&page=1", "")
	if list := body["campaigns"].([]any); status != 200 || list[0].(map[string]any)["status"] != "disabled" {
		t.Fatalf("list after the lag: %d %v", status, body)
	}
}

func TestChangesByHandShowAtOnce(t *testing.T) {
	s := New(t)
	s.AddCampaign(trackier.Campaign{ID: "101", Status: trackier.StatusActive, URL: "https://adv.example/a"})
	s.SetReadLag(time.Hour)
	s.SetByHand("101", trackier.StatusSuspended)
	if got := campaignOf(t, s, "101")["status"]; got != "suspended" {
		t.Fatalf("status by hand: %v", got)
	}
	s.SetByHand("101", "paused")
	s.SetByHand("101", "https://adv.example/b?c={click_id}")
	got := campaignOf(t, s, "101")
	if got["url"] != "https://adv.example/b?c={click_id}" || got["status"] != "active" {
		t.Fatalf("a URL edit by hand of a paused campaign: %v, want it active with the new URL", got)
	}
	if len(s.Requests()) != 2 {
		t.Fatalf("changes by hand are not API requests: %d logged", len(s.Requests()))
	}
}

func TestListPagesThroughEveryCampaign(t *testing.T) {
	s := New(t)
	s.SetRateLimit(0)
	for i := 1; i <= 250; i++ {
		s.AddCampaign(trackier.Campaign{ID: itoa(i), Name: "c" + itoa(i)})
	}
	var ids []string
	for page := 1; page <= 4; page++ {
		status, body := call(t, s, s.Key, "GET", "/v2/campaigns?limit=100&page="+itoa(page), "")
		if status != 200 {
			t.Fatalf("page %d: %d", page, status)
		}
		for _, c := range body["campaigns"].([]any) {
			ids = append(ids, jsonID(c.(map[string]any)["id"]))
		}
	}
	if len(ids) != 250 || ids[0] != "1" || ids[99] != "100" || ids[249] != "250" {
		t.Fatalf("%d ids, first %v last %v", len(ids), ids[:1], ids[len(ids)-1:])
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func jsonID(v any) string { b, _ := json.Marshal(v); return strings.Trim(string(b), `"`) }
