package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
	"github.com/urltracker/urltracker/trackier"
)

const testToken = "server-test-admin-token-0123456789"

// testServer is NewServer over a migrated SQLite database of the test's
// own, served on loopback.
type testServer struct {
	*httptest.Server
	DB   *store.DB
	deps Deps
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "server.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	trc := tracer.New(tracer.Config{Timeout: 5 * time.Second, HopTimeout: 2 * time.Second})
	runner := &jobs.Runner{DB: db, Tracer: trc, Logger: logger}
	queue, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	in := intake.New(db, queue, logger, time.Now)
	t.Cleanup(in.Close)
	deps := Deps{DB: db, Intake: in, Queue: queue, Runner: runner, Tracer: trc,
		Trackier: trackier.New(2 * time.Second), Logger: logger, AdminToken: testToken, PublicURL: "http://push.example",
		Instance: "server-test", Now: time.Now, Draining: new(atomic.Bool), Metrics: metrics.New(db, logger)}
	srv := httptest.NewServer(NewServer(deps))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, DB: db, deps: deps}
}

// do sends a request, with the admin token when admin is set, and returns
// the status, the headers and the decoded JSON error answer.
func (s *testServer) do(t *testing.T, method, path, body string, admin bool) (int, http.Header, errorBody) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+testToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var e errorBody
	if resp.StatusCode >= 400 && method != http.MethodHead {
		if err := json.Unmarshal(raw, &e); err != nil || e.Success || e.Error == "" {
			t.Errorf("%s %s: status %d answered %q, want the JSON error shape", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, e
}

func TestWrongMethodIs405WithAllow(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		method, path string
		allow        string
	}{
		{"PUT", "/api/offers", "GET, HEAD, POST"},
		{"DELETE", "/api/trackier-status", "GET, HEAD"},
		{"GET", "/api/trackier-emergency-toggle", "POST"},
		{"PUT", "/api/offers/1", "GET, HEAD, PATCH, DELETE"},
		{"DELETE", "/api/trackier-webhook", "GET, HEAD, POST"},
		{"GET", "/api/offers/1/trackier-test", "POST"},
	}
	for _, tt := range tests {
		status, header, e := s.do(t, tt.method, tt.path, "", true)
		if status != http.StatusMethodNotAllowed || header.Get("Allow") != tt.allow || !strings.Contains(e.Error, tt.method+" is not allowed") {
			t.Errorf("%s %s: %d, Allow %q, %q; want 405 with Allow %q", tt.method, tt.path, status, header.Get("Allow"), e.Error, tt.allow)
		}
	}
	if status, header, e := s.do(t, "GET", "/api/no-such-thing", "", true); status != http.StatusNotFound || header.Get("Allow") != "" ||
		!strings.Contains(e.Error, "no such endpoint") {
		t.Errorf("unknown path: %d, Allow %q, %q; want 404", status, header.Get("Allow"), e.Error)
	}
}

// A request the client gave up on is not the service's failure: no ERROR
// line, however the storage call it was making ended.
func TestCancelledRequestsAreNotLoggedAsErrors(t *testing.T) {
	s := newTestServer(t)
	var logs bytes.Buffer
	h := NewServer(Deps{DB: s.DB, Intake: s.deps.Intake, Queue: s.deps.Queue, Runner: s.deps.Runner, Tracer: s.deps.Tracer,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), AdminToken: testToken,
		PublicURL: "http://push.example", Instance: "server-test", Now: time.Now, Draining: new(atomic.Bool), Metrics: s.deps.Metrics})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	for _, path := range []string{"/api/trackier-status", "/api/trackier-webhook?token=abc&click_id=1"} {
		req := httptest.NewRequestWithContext(gone, http.MethodGet, path, nil)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) || !strings.Contains(logs.String(), `"client_gone":true`) {
		t.Errorf("logs of cancelled requests:\n%s\nwant DEBUG lines saying the client was gone, no ERROR", logs.String())
	}
}

// TestErrorPaths asks each kind of bad request of the API: every answer is
// the JSON error shape, with the status and a message that says what to do.
func TestErrorPaths(t *testing.T) {
	s := newTestServer(t)
	rec, err := s.DB.CreateOffer(context.Background(), urltracker.Offer{Name: "taken", URL: "https://offer.example/", UpdateIntervalSeconds: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(rec.ID, 10)
	tests := []struct {
		name, method, path, body string
		admin                    bool
		status                   int
		inError                  string
	}{
		{"no token", "GET", "/api/offers", "", false, 401, "a token is required"},
		{"id not a number", "GET", "/api/offers/abc", "", true, 400, "positive integer"},
		{"unknown offer", "GET", "/api/offers/999999", "", true, 404, "not found"},
		{"limit out of range", "GET", "/api/offers?limit=0", "", true, 400, "limit must be"},
		{"empty body", "POST", "/api/offers", "", true, 400, "the body is empty"},
		{"malformed JSON", "POST", "/api/offers", `{"name":`, true, 400, "malformed JSON"},
		{"wrong type", "POST", "/api/offers", `{"name":5}`, true, 400, `field "name" must be string`},
		{"unknown field", "POST", "/api/offers", `{"name":"x","url":"https://a.example/","interval":60}`, true, 400, `unknown field "interval"`},
		{"invalid fields", "POST", "/api/offers", `{"name":"x"}`, true, 400, "url: required"},
		{"body too large", "POST", "/api/offers", `{"name":"` + strings.Repeat("a", 70<<10) + `"}`, true, 413, "larger than 64 KiB"},
		{"duplicate name", "POST", "/api/offers", `{"name":"taken","url":"https://a.example/"}`, true, 400, "already exists"},
		{"patch unknown offer", "PATCH", "/api/offers/999999", `{"enabled":false}`, true, 404, "not found"},
		{"delete unknown offer", "DELETE", "/api/offers/999999", "", true, 404, "not found"},
		{"connection test unbound", "POST", "/api/offers/" + id + "/trackier-test", "", true, 409, "no Trackier binding"},
		{"toggle without state", "POST", "/api/trackier-emergency-toggle", "", true, 400, "enabled must be"},
		{"trace without URL", "POST", "/trace", `{}`, true, 400, "url"},
		{"webhook without token", "GET", "/api/trackier-webhook?click_id=1", "", false, 400, "missing token"},
		{"webhook unknown token", "GET", "/api/trackier-webhook?token=nope&click_id=1", "", false, 404, "unknown webhook token"},
		{"trigger unknown offer", "POST", "/api/trackier-trigger/999999", "", true, 404, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, e := s.do(t, tt.method, tt.path, tt.body, tt.admin)
			if status != tt.status || !strings.Contains(e.Error, tt.inError) {
				t.Errorf("%s %s: %d %q; want %d with %q", tt.method, tt.path, status, e.Error, tt.status, tt.inError)
			}
		})
	}

	// The database gone: 503 with the advice to retry, for reads and
	// webhooks alike.
	s.DB.Close()
	for _, path := range []string{"/api/offers", "/api/trackier-webhook?token=" + rec.WebhookToken + "x&click_id=1"} {
		status, _, e := s.do(t, "GET", path, "", true)
		if status != http.StatusServiceUnavailable || !strings.Contains(e.Error, "try") && !strings.Contains(e.Error, "retry") {
			t.Errorf("GET %s without a database: %d %q; want 503 asking to retry", path, status, e.Error)
		}
	}
}
