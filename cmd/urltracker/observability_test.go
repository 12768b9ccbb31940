package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// assertCleanLogs checks that every line of output is a JSON log line with
// a level and a message, and that no secret appears anywhere in it.
func assertCleanLogs(t *testing.T, output string, secrets ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(output), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("no log output")
	}
	for _, line := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		level, _ := m["level"].(string)
		msg, _ := m["msg"].(string)
		if level == "" || msg == "" {
			t.Errorf("log line without level or msg: %q", line)
		}
	}
	for _, secret := range secrets {
		if secret != "" && strings.Contains(output, secret) {
			t.Errorf("a secret (%.4s…) appears in the logs", secret)
		}
	}
}

// TestMetricsAndLogs drives an instance through webhooks, a check, the kill
// switch and bad requests, then checks that /metrics exposes the series an
// operator alerts on and that the whole run logged clean JSON.
func TestMetricsAndLogs(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	alerts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer alerts.Close()
	const apiKey = "trackier-key-do-not-log-4f1c9e"
	offerID, token := createTestOffer(t, a.Client, map[string]any{
		"name": "metrics", "url": "http://127.0.0.1:1/offer", "update_interval_seconds": 3600,
		"trackier": map[string]any{"campaign_id": "42", "api_key": apiKey},
		// No confirmation re-check, and one failed check is an outage: the
		// first failing check alerts at once.
		"policy": map[string]any{"alert_url": alerts.URL + "/hook", "confirm_after_seconds": 0},
		"alert":  map[string]any{"failure_threshold": 1},
	})
	hook := func(query string) int {
		status, _ := a.Do(t, "POST", "/api/trackier-webhook?"+query, nil, false)
		return status
	}
	for _, c := range []struct {
		query string
		want  int
	}{
		{"token=" + token + "&click_id=c1", 200}, // check scheduled
		{"token=" + token + "&click_id=c2", 200}, // debounced
		{"token=" + token + "&click_id=c2", 200}, // duplicate
		{"token=nope&click_id=c3", 404},
		{"click_id=c4", 400},
	} {
		if got := hook(c.query); got != c.want {
			t.Fatalf("webhook %s: %d, want %d", c.query, got, c.want)
		}
	}
	a.JSON(t, "POST", fmt.Sprintf("/api/trackier-trigger/%d", offerID), nil, true, http.StatusOK, nil)
	// Two checks in all: the one the first webhook scheduled, and the trigger.
	testutil.Eventually(t, 20*time.Second, "the scheduled check to run", func() bool {
		var list struct {
			Checks []json.RawMessage `json:"checks"`
		}
		a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/checks", offerID), nil, true, http.StatusOK, &list)
		return len(list.Checks) == 2
	})
	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=false", nil, true, http.StatusOK, nil)
	a.Do(t, "GET", "/api/offers", nil, false) // 401

	scrape := func() string {
		resp, err := http.Get(a.BaseURL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/metrics: %d", resp.StatusCode)
		}
		return string(body)
	}
	// The first failing check alerts; the attempt is counted whatever its
	// result.
	alertAttempt := regexp.MustCompile(`(?m)^urltracker_notifications_total\{kind="webhook",outcome="[a-z]+"\} [1-9]`)
	testutil.Eventually(t, 20*time.Second, "the alert attempt to be counted", func() bool {
		return alertAttempt.MatchString(scrape())
	})
	metrics := scrape()
	for _, want := range []string{
		`urltracker_webhooks_total{outcome="check_scheduled"} 1`,
		`urltracker_webhooks_total{outcome="debounced"} 1`,
		`urltracker_webhooks_total{outcome="duplicate"} 1`,
		`urltracker_webhooks_total{outcome="unknown_token"} 1`,
		`urltracker_webhooks_total{outcome="bad_request"} 1`,
		`urltracker_checks_total{verdict=`,
		`urltracker_check_duration_seconds_count `,
		`urltracker_checks_in_flight 0`,
		`urltracker_trackier_calls_total{kind="pause",result="succeeded"} 0`,
		`urltracker_kill_switch_enabled 0`,
		`urltracker_queue_jobs{queue="checks",state=`,
		`urltracker_build_info{goversion=`,
		`urltracker_metrics_database_up 1`,
		`go_goroutines `,
		`go_memstats_heap_alloc_bytes `,
		`process_resident_memory_bytes `,
		`go_sql_open_connections{db_name="sqlite"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(metrics, "urltracker_check_duration_seconds_count 2") {
		t.Errorf("the two checks are not counted:\n%s", grepLines(metrics, "urltracker_check"))
	}

	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	logs := a.Logs.String()
	assertCleanLogs(t, logs, testAdminToken, token, apiKey)
	for _, want := range []string{`"msg":"urltracker started"`, `"database":"sqlite"`, `"version":`, `"msg":"request"`, `"msg":"urltracker stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	// The job queue's routine lines (start, stop, maintenance every minute)
	// are DEBUG: at level info only its warnings and errors show.
	for _, line := range a.Logs.LogLines(t) {
		if line["component"] == "river" && line["level"] == "INFO" {
			t.Errorf("River logs at INFO: %v", line)
		}
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
