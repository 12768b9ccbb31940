package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

func TestTraceCommandExitCodes(t *testing.T) {
	chain := httptest.NewServer(testutil.RedirectChain(2))
	defer chain.Close()
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "gone", http.StatusGone)
	}))
	defer broken.Close()
	env := map[string]string{"URLTRACKER_TRACE_ALLOW_CIDRS": "127.0.0.0/8"}

	cases := []struct {
		name     string
		args     []string
		env      map[string]string
		wantCode int
		wantOut  string
	}{
		{"healthy table", []string{chain.URL + "/hop/1"}, env, 0, "verdict: healthy"},
		{"healthy json after url", []string{chain.URL + "/hop/1", "--json"}, env, 0, `"verdict": "healthy"`},
		{"broken", []string{broken.URL}, env, 1, "verdict: broken"},
		{"blocked without allow-list", []string{chain.URL + "/hop/1"}, nil, 1, "verdict: blocked"},
		{"no url", nil, env, 2, ""},
		{"two urls", []string{chain.URL, chain.URL}, env, 2, ""},
		{"not http", []string{"ftp://example.com/"}, env, 2, ""},
		{"unknown flag", []string{"--fast", chain.URL}, env, 2, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"urltracker", "trace"}, tc.args...)
			err := run(context.Background(), args, func(k string) string { return tc.env[k] }, &stdout, &stderr)
			code := 0
			if err != nil {
				code = exitCode(err)
			}
			if code != tc.wantCode {
				t.Fatalf("exit %d (%v), want %d; stdout %s stderr %s", code, err, tc.wantCode, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tc.wantOut) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tc.wantOut)
			}
		})
	}

	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"urltracker", "trace", "--json", chain.URL + "/hop/1"}, func(k string) string { return env[k] }, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	var check urltracker.Check
	if err := json.Unmarshal(stdout.Bytes(), &check); err != nil {
		t.Fatalf("--json output is not a Check: %v\n%s", err, stdout.String())
	}
	if len(check.Chain) != 3 || check.Chain[2].RedirectType != urltracker.RedirectFinal {
		t.Errorf("chain = %+v, want 2 redirects and the final hop", check.Chain)
	}
}

func TestTraceEndpoint(t *testing.T) {
	chain := httptest.NewServer(testutil.RedirectChain(60))
	defer chain.Close()
	a := startApp(t, appEnv(t.TempDir()))

	if status, _ := a.Do(t, "POST", "/trace", map[string]any{"url": chain.URL + "/hop/58"}, false); status != http.StatusUnauthorized {
		t.Errorf("without token: %d, want 401", status)
	}
	for _, body := range []any{
		map[string]any{"url": "/relative"},
		map[string]any{"url": "javascript:alert(1)"},
		map[string]any{},
		map[string]any{"url": chain.URL, "max_redirects": -1},
		`{"url":`,
	} {
		if status, out := a.Do(t, "POST", "/trace", body, true); status != http.StatusBadRequest {
			t.Errorf("body %v: %d %s, want 400", body, status, out)
		}
	}

	var ans struct {
		urltracker.Check
		TotalSteps int `json:"total_steps"`
	}
	a.JSON(t, "POST", "/trace", map[string]any{"url": chain.URL + "/hop/58"}, true, 200, &ans)
	if ans.Verdict != urltracker.VerdictHealthy || ans.TotalSteps != 4 || len(ans.Chain) != 4 || ans.OfferID != 0 {
		t.Errorf("short trace = verdict %s, total_steps %d, chain %d", ans.Verdict, ans.TotalSteps, len(ans.Chain))
	}
	// max_redirects above the cap is capped at 50: a 60-hop chain is too long.
	a.JSON(t, "POST", "/trace", map[string]any{"url": chain.URL + "/hop/1", "max_redirects": 1000, "timeout_ms": 600000}, true, 200, &ans)
	if ans.Verdict != urltracker.VerdictTooManyHops || ans.TotalSteps > 52 {
		t.Errorf("capped trace = verdict %s with %d steps, want too_many_hops after at most 50 redirects", ans.Verdict, ans.TotalSteps)
	}
	a.JSON(t, "POST", "/trace", map[string]any{"url": chain.URL + "/hop/1", "max_redirects": 3}, true, 200, &ans)
	if ans.Verdict != urltracker.VerdictTooManyHops {
		t.Errorf("max_redirects 3 on a 60-hop chain: verdict %s", ans.Verdict)
	}
}
