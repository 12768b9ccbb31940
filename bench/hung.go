package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// benchHung starts o.hung offers whose upstream accepts and never answers,
// fires one webhook each, and measures the instance while the checks wait:
// CPU, RSS, goroutines, and whether every check ends at its deadline.
func benchHung(o options, tmp string, report io.Writer) error {
	var waiting atomic.Int64
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		waiting.Add(1)
		defer waiting.Add(-1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer upstream.Close()
	defer close(release)

	const traceTimeout = 10 * time.Second
	dir, err := os.MkdirTemp(tmp, "hung-")
	if err != nil {
		return err
	}
	addr := freeAddr()
	env := []string{
		"URLTRACKER_ADMIN_TOKEN=" + benchToken,
		"URLTRACKER_DATABASE_URL=sqlite:" + filepath.Join(dir, "urltracker.db"),
		"URLTRACKER_ADDR=" + addr,
		"URLTRACKER_DRAIN_DELAY=0s",
		"URLTRACKER_LOG_LEVEL=warn",
		"URLTRACKER_TRACE_ALLOW_CIDRS=127.0.0.0/8",
		"URLTRACKER_TRACE_TIMEOUT=" + traceTimeout.String(),
		"URLTRACKER_HOP_TIMEOUT=" + traceTimeout.String(),
		"URLTRACKER_CHECK_CONCURRENCY=" + strconv.Itoa(o.hung),
	}
	p, _, err := startProc(o.bin, []string{"serve"}, env, addr, "/readyz")
	if err != nil {
		return err
	}
	defer p.stop()
	base := "http://" + addr
	tokens := make([]string, o.hung)
	for i := range o.hung {
		var offer struct {
			WebhookToken string `json:"webhook_token"`
		}
		body := map[string]any{"name": "hung-" + strconv.Itoa(i), "url": upstream.URL + "/o/" + strconv.Itoa(i)}
		if err := postJSON(base+"/api/offers", benchToken, body, &offer); err != nil {
			return err
		}
		tokens[i] = offer.WebhookToken
	}
	pid := p.cmd.Process.Pid
	rssBefore := rssMB(pid)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 50)
	var failed atomic.Int64
	for _, tok := range tokens {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			resp, err := http.Get(base + "/api/trackier-webhook?token=" + tok + "&click_id=hung")
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	// Wait until the checks are parked on the upstream, then measure.
	deadline := time.Now().Add(traceTimeout)
	for waiting.Load() < int64(o.hung)*9/10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	parked := waiting.Load()
	time.Sleep(500 * time.Millisecond)
	cpu0, t0 := cpuSeconds(pid), time.Now()
	time.Sleep(3 * time.Second)
	cpuPct := 100 * (cpuSeconds(pid) - cpu0) / time.Since(t0).Seconds()
	rssWaiting := rssMB(pid)
	goroutines := metricValue(base, "go_goroutines")

	// Every check must end, at its deadline, with the verdict timeout.
	var st struct {
		Offers []struct {
			CheckCount  int    `json:"check_count"`
			LastVerdict string `json:"last_verdict"`
		} `json:"offers"`
	}
	end := time.Now().Add(3 * traceTimeout)
	done, timeouts := 0, 0
	for time.Now().Before(end) {
		if err := getJSON(base+"/api/trackier-status", benchToken, &st); err != nil {
			return err
		}
		done, timeouts = 0, 0
		for _, of := range st.Offers {
			if of.CheckCount > 0 {
				done++
			}
			if of.LastVerdict == "timeout" {
				timeouts++
			}
		}
		if done == o.hung {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	var maxOver time.Duration
	for i := 0; i < o.hung; i += max(1, o.hung/50) { // a sample of the checks' durations
		var checks struct {
			Checks []struct {
				DurationMS int64 `json:"duration_ms"`
			} `json:"checks"`
		}
		if err := getJSON(fmt.Sprintf("%s/api/offers/%d/checks", base, i+1), benchToken, &checks); err != nil {
			return err
		}
		for _, c := range checks.Checks {
			if over := time.Duration(c.DurationMS)*time.Millisecond - traceTimeout; over > maxOver {
				maxOver = over
			}
		}
	}
	fmt.Fprintf(report, "### %d checks against hung upstreams (SQLite, trace deadline %s, concurrency %d)\n\n", o.hung, traceTimeout, o.hung)
	fmt.Fprintln(report, "| checks parked on the upstream | CPU while waiting (% of one core) | RSS before / while waiting MB | goroutines while waiting | checks ended | with verdict timeout | latest end past the deadline (sampled) | webhook errors |")
	fmt.Fprintln(report, "|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(report, "| %d | %.1f %% | %.1f / %.1f | %s | %d | %d | %s | %d |\n\n",
		parked, cpuPct, rssBefore, rssWaiting, goroutines, done, timeouts, maxOver.Round(time.Millisecond), failed.Load())
	return nil
}

// metricValue reads one unlabelled series from /metrics, or "n/a".
func metricValue(base, name string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "n/a"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "n/a"
}
