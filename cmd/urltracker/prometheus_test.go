package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// The monitoring files shipped in deploy/, relative to this package.
const (
	alertRulesFile  = "../../deploy/prometheus/alerts.yml"
	alertTestsFile  = "../../deploy/prometheus/alerts_test.yml"
	grafanaDashFile = "../../deploy/grafana/urltracker.json"
)

// requirePrometheusTool finds a tool of Debian's prometheus package, or
// skips (fails under URLTRACKER_REQUIRE_PROMETHEUS=1, as in CI).
func requirePrometheusTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("URLTRACKER_REQUIRE_PROMETHEUS") == "1" {
		t.Fatalf("%s is required (URLTRACKER_REQUIRE_PROMETHEUS=1) but not installed: apt-get install prometheus", name)
	}
	t.Skipf("%s not installed (apt-get install prometheus); set URLTRACKER_REQUIRE_PROMETHEUS=1 to fail instead", name)
	return ""
}

// TestAlertRulesPassPromtool checks the shipped rules and runs their unit
// tests, so a rule that no longer parses or no longer fires fails CI.
func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := requirePrometheusTool(t, "promtool")
	for _, args := range [][]string{
		{"check", "rules", alertRulesFile},
		{"test", "rules", alertTestsFile},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// seriesName matches the metric names a PromQL expression reads.
var seriesName = regexp.MustCompile(`\b(urltracker_[a-z_]+|process_[a-z_]+|go_[a-z_]+)\b`)

// exposedSeries answers the metric families a running instance exposes,
// histogram and summary parts included.
func exposedSeries(t *testing.T, a *app) map[string]bool {
	t.Helper()
	status, body := a.Do(t, "GET", "/metrics", nil, false)
	if status != http.StatusOK {
		t.Fatalf("/metrics: %d", status)
	}
	names := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		names[name] = true
	}
	return names
}

// queriesOf lists every PromQL expression of the alert rules and the
// Grafana dashboard.
func queriesOf(t *testing.T) (alerts, grafana []string) {
	t.Helper()
	rules, err := os.ReadFile(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	// The rules file is YAML; expressions are the `expr:` values, inline or
	// as a block scalar. Reading them line-wise avoids a YAML dependency.
	lines := strings.Split(string(rules), "\n")
	for i := 0; i < len(lines); i++ {
		_, rest, ok := strings.Cut(lines[i], "expr:")
		if !ok {
			continue
		}
		rest = strings.TrimSpace(rest)
		if rest != "|" {
			alerts = append(alerts, rest)
			continue
		}
		var block []string
		for i+1 < len(lines) && (strings.HasPrefix(lines[i+1], "          ") || strings.TrimSpace(lines[i+1]) == "") {
			i++
			block = append(block, strings.TrimSpace(lines[i]))
		}
		alerts = append(alerts, strings.TrimSpace(strings.Join(block, " ")))
	}

	raw, err := os.ReadFile(grafanaDashFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("%s is not valid JSON: %v", grafanaDashFile, err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("%s: dashboard needs a title, a uid and panels", grafanaDashFile)
	}
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			grafana = append(grafana, tg.Expr)
		}
	}
	return alerts, grafana
}

// TestMonitoringQueriesReadExposedSeries checks that every series the alert
// rules and the Grafana dashboard read is one that urltracker exposes, so
// renaming a metric without the monitoring files fails here.
func TestMonitoringQueriesReadExposedSeries(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	exposed := exposedSeries(t, a)
	alerts, grafana := queriesOf(t)
	if len(alerts) < 8 {
		t.Fatalf("read %d alert expressions from %s, want at least 8", len(alerts), alertRulesFile)
	}
	for _, expr := range append(alerts, grafana...) {
		for _, name := range seriesName.FindAllString(expr, -1) {
			if !exposed[name] {
				t.Errorf("query %q reads %s, which /metrics does not expose", expr, name)
			}
		}
	}
}

// TestPrometheusScrapesUrltracker starts a real Prometheus that scrapes a
// running urltracker over loopback with the shipped rules loaded, and checks
// that urltracker's series reach it and every dashboard query evaluates.
func TestPrometheusScrapesUrltracker(t *testing.T) {
	prometheus := requirePrometheusTool(t, "prometheus")
	a := startApp(t, appEnv(t.TempDir()))
	target := strings.TrimPrefix(a.BaseURL, "http://")

	dir := t.TempDir()
	rules, err := filepath.Abs(alertRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: urltracker
    static_configs:
      - targets: [%q]
`, rules, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	cmd := exec.Command(prometheus,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
	)
	logs := &testutil.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})

	query := func(expr string) (status string, results int, errMsg string) {
		resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(expr))
		if err != nil {
			return "", 0, err.Error()
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var r struct {
			Status string `json:"status"`
			Error  string `json:"error"`
			Data   struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			return "", 0, string(body)
		}
		return r.Status, len(r.Data.Result), r.Error
	}
	testutil.Eventually(t, 60*time.Second, "urltracker_build_info to reach Prometheus", func() bool {
		status, n, _ := query(`urltracker_build_info{job="urltracker"}`)
		return status == "success" && n == 1
	})
	if status, n, msg := query(`urltracker_kill_switch_enabled == 1`); status != "success" || n != 1 {
		t.Errorf("kill switch series in Prometheus: status %s, %d results, %s", status, n, msg)
	}

	// The shipped rules are loaded and evaluate without error.
	resp, err := http.Get("http://" + addr + "/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rulesResp struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rulesResp); err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, g := range rulesResp.Data.Groups {
		for _, r := range g.Rules {
			loaded = append(loaded, r.Name)
			if r.LastError != "" {
				t.Errorf("rule %s: %s", r.Name, r.LastError)
			}
		}
	}
	sort.Strings(loaded)
	if len(loaded) < 8 {
		t.Errorf("Prometheus loaded rules %v, want the 8 of %s", loaded, alertRulesFile)
	}

	_, grafana := queriesOf(t)
	for _, expr := range grafana {
		if status, _, msg := query(expr); status != "success" {
			t.Errorf("dashboard query %q: %s %s", expr, status, msg)
		}
	}
	if t.Failed() {
		t.Logf("prometheus output:\n%s", logs.String())
	}
}
