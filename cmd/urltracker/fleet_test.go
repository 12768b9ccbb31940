package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// fleetInterval is the update interval of fleet test offers: 30 days, so
// that a test never straddles two debounce periods.
const fleetInterval = 30 * 24 * 3600

// startFleet runs n in-process instances named fleet-1…fleet-n on one
// PostgreSQL database.
func startFleet(t *testing.T, databaseURL string, n int) []*app {
	t.Helper()
	fleet := make([]*app, n)
	for i := range fleet {
		env := appEnv(t.TempDir())
		env["URLTRACKER_DATABASE_URL"] = databaseURL
		env["URLTRACKER_INSTANCE"] = fmt.Sprintf("fleet-%d", i+1)
		fleet[i] = startApp(t, env)
	}
	return fleet
}

// fleetStatus is the part of /api/trackier-status the fleet tests read.
type fleetStatus struct {
	Enabled       bool   `json:"enabled"`
	Instance      string `json:"instance"`
	StatsLastHour struct {
		Webhooks int64 `json:"webhooks"`
		Checks   int64 `json:"checks"`
	} `json:"stats_last_hour"`
	Offers []struct {
		ID           int64 `json:"id"`
		WebhookCount int64 `json:"webhook_count"`
		CheckCount   int64 `json:"check_count"`
	} `json:"offers"`
}

// publicStatus reads the public status; unlike fleetStatusOf it may be
// called from any goroutine.
func publicStatus(c *testutil.Client) (fleetStatus, error) {
	var st fleetStatus
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(c.BaseURL + "/api/trackier-status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return st, fmt.Errorf("GET %s/api/trackier-status: %s", c.BaseURL, resp.Status)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func fleetStatusOf(t *testing.T, c *testutil.Client) fleetStatus {
	t.Helper()
	var st fleetStatus
	c.JSON(t, "GET", "/api/trackier-status", nil, true, http.StatusOK, &st)
	return st
}

// sendFleetWebhook delivers one click, as a GET with the macros in the query
// or as a POST with a JSON body, and returns the status and answer. It may be
// called from any goroutine: a transport error fails the test and returns 0.
func sendFleetWebhook(t *testing.T, c *testutil.Client, token, clickID string, post bool) (int, map[string]any) {
	t.Helper()
	target := c.BaseURL + "/api/trackier-webhook?token=" + url.QueryEscape(token)
	var req *http.Request
	var err error
	if post {
		body := fmt.Sprintf(`{"click_id":%q,"campaign_id":"c1","p1":"fleet"}`, clickID)
		req, err = http.NewRequest("POST", target, strings.NewReader(body))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	} else {
		req, err = http.NewRequest("GET", target+"&click_id="+url.QueryEscape(clickID)+"&campaign_id=c1&p1=fleet", nil)
	}
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Errorf("webhook %s: %v", clickID, err)
		return 0, nil
	}
	defer resp.Body.Close()
	ans := map[string]any{}
	_ = json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

// TestFleetChecksOncePerInterval sends one offer's webhooks to three
// instances at once: every event is stored and counted, and exactly one of
// them schedules the check.
func TestFleetChecksOncePerInterval(t *testing.T) {
	upstream := httptest.NewServer(testutil.RedirectChain(2))
	defer upstream.Close()
	fleet := startFleet(t, testutil.PostgresURL(t), 3)
	offer := createOffer(t, fleet[0], map[string]any{"name": "fleet", "url": upstream.URL + "/hop/1", "update_interval_seconds": fleetInterval})

	const webhooks = 60
	outcomes := make([]string, webhooks)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 12)
	for i := range webhooks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			status, ans := sendFleetWebhook(t, fleet[i%3].Client, offer.WebhookToken, fmt.Sprintf("click-%d", i), i%2 == 0)
			if status != http.StatusOK || ans["duplicate"] == true {
				t.Errorf("webhook %d: status %d, answer %v; want 200, not a duplicate", i, status, ans)
			}
			outcomes[i], _ = ans["outcome"].(string)
		}()
	}
	wg.Wait()
	scheduled := 0
	for _, o := range outcomes {
		if o == string(urltracker.OutcomeCheckScheduled) {
			scheduled++
		}
	}
	if scheduled != 1 {
		t.Errorf("%d webhooks scheduled a check, want exactly 1 (outcomes %v)", scheduled, outcomes)
	}

	// Trackier retries some of them through other instances: stored once.
	for i := range 6 {
		status, ans := sendFleetWebhook(t, fleet[(i+1)%3].Client, offer.WebhookToken, fmt.Sprintf("click-%d", i), i%2 == 1)
		if status != http.StatusOK || ans["duplicate"] != true {
			t.Errorf("redelivered click-%d: status %d, answer %v; want 200 duplicate", i, status, ans)
		}
	}

	testutil.Eventually(t, 30*time.Second, "the check to be recorded", func() bool {
		return len(checksOf(t, fleet[1], offer.ID)) > 0
	})
	if n := len(eventsOf(t, fleet[2], offer.ID)); n != webhooks {
		t.Errorf("%d events stored, want %d", n, webhooks)
	}
	for _, a := range fleet {
		st := fleetStatusOf(t, a.Client)
		if st.Instance != a.Env["URLTRACKER_INSTANCE"] {
			t.Errorf("status of %s names instance %q", a.Env["URLTRACKER_INSTANCE"], st.Instance)
		}
		if len(st.Offers) != 1 || st.Offers[0].WebhookCount != webhooks || st.Offers[0].CheckCount != 1 || st.StatsLastHour.Webhooks != webhooks {
			t.Errorf("%s reports %+v, want %d webhooks and 1 check", st.Instance, st, webhooks)
		}
	}
	if n := len(checksOf(t, fleet[0], offer.ID)); n != 1 {
		t.Errorf("%d checks recorded, want 1", n)
	}
	for _, a := range fleet {
		name := a.Env["URLTRACKER_INSTANCE"]
		for _, line := range a.Logs.LogLines(t) {
			if line["instance"] != name {
				t.Errorf("a log line of %s lacks its instance name: %v", name, line)
				break
			}
		}
	}
}

// TestFleetKillSwitchPropagates toggles the kill switch on one instance after
// another and measures how soon the other instances report it.
func TestFleetKillSwitchPropagates(t *testing.T) {
	fleet := startFleet(t, testutil.PostgresURL(t), 3)
	delays := measureKillSwitch(t, fleetClients(fleet), func(i int) *testutil.Client { return fleet[i%3].Client }, 6)
	t.Logf("kill switch propagation over %d observations: median %s, max %s", len(delays), medianDuration(delays), slices.Max(delays))
}

func fleetClients(fleet []*app) []*testutil.Client {
	cs := make([]*testutil.Client, len(fleet))
	for i, a := range fleet {
		cs[i] = a.Client
	}
	return cs
}

// measureKillSwitch toggles the kill switch `toggles` times through via(i)
// and returns, per toggle and instance other than the one that took the
// toggle, how long after the toggle answered that instance first reported
// the new state. It fails the test when that takes longer than a second.
func measureKillSwitch(t *testing.T, instances []*testutil.Client, via func(i int) *testutil.Client, toggles int) []time.Duration {
	t.Helper()
	enabled := fleetStatusOf(t, instances[0]).Enabled
	var delays []time.Duration
	for i := range toggles {
		enabled = !enabled
		var ans struct {
			CurrentState bool   `json:"current_state"`
			Instance     string `json:"instance"`
		}
		via(i).JSON(t, "POST", fmt.Sprintf("/api/trackier-emergency-toggle?enabled=%t", enabled), nil, true, http.StatusOK, &ans)
		toggled := time.Now()
		if ans.CurrentState != enabled {
			t.Fatalf("toggle %d answered current_state %v, want %v", i, ans.CurrentState, enabled)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, c := range instances {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					st, err := publicStatus(c)
					seen := time.Since(toggled)
					if err != nil {
						t.Error(err)
						return
					}
					if st.Enabled == enabled {
						if st.Instance != ans.Instance { // the instance that toggled knows at once
							mu.Lock()
							delays = append(delays, seen)
							mu.Unlock()
						}
						return
					}
					if seen > 5*time.Second {
						t.Errorf("%s still reports enabled=%v %s after the toggle", st.Instance, st.Enabled, seen)
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		wg.Wait()
	}
	for _, d := range delays {
		if d > time.Second {
			t.Errorf("an instance reported a kill switch toggle only after %s, want within 1s (all delays %v)", d, delays)
			break
		}
	}
	return delays
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// TestDatabaseOutage puts a TCP proxy between an instance and PostgreSQL and
// breaks it, as a database server that goes down (connections refused) or a
// network partition (calls hang until their deadline). Meanwhile the process
// stays up, is not ready, and answers webhooks 503 in bounded time without
// acknowledging them; once the proxy is restored it recovers by itself.
func TestDatabaseOutage(t *testing.T) {
	tests := []struct {
		name  string
		cause func(*testutil.TCPProxy)
	}{
		{"server down", (*testutil.TCPProxy).Cut},
		{"network partition", (*testutil.TCPProxy).Stall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			upstream := httptest.NewServer(testutil.RedirectChain(1))
			defer upstream.Close()
			dbURL, err := url.Parse(testutil.PostgresURL(t))
			if err != nil {
				t.Fatal(err)
			}
			proxy := testutil.NewTCPProxy(t, dbURL.Host)
			dbURL.Host = proxy.Addr()
			a := startFleet(t, dbURL.String(), 1)[0]
			offer := createOffer(t, a, map[string]any{"name": "outage", "url": upstream.URL + "/hop/1", "update_interval_seconds": fleetInterval})

			var mu sync.Mutex
			acked := map[string]bool{}
			deliver := func(clickID string, post bool) int {
				start := time.Now()
				status, ans := sendFleetWebhook(t, a.Client, offer.WebhookToken, clickID, post)
				if took := time.Since(start); took > 30*time.Second {
					t.Errorf("webhook %s took %s to answer", clickID, took)
				}
				switch status {
				case http.StatusOK:
					mu.Lock()
					acked[clickID] = true
					mu.Unlock()
				case http.StatusServiceUnavailable:
					if ans["success"] != false || ans["error"] == "" || ans["error"] == nil {
						t.Errorf("503 answer %v is not the JSON error shape", ans)
					}
				default:
					t.Errorf("webhook %s: status %d %v", clickID, status, ans)
				}
				return status
			}
			// deliverAll sends five clicks at once and returns their statuses.
			deliverAll := func() []int {
				statuses := make([]int, 5)
				var wg sync.WaitGroup
				for i := range statuses {
					wg.Add(1)
					go func() {
						defer wg.Done()
						statuses[i] = deliver(fmt.Sprintf("during-%d", i), i%2 == 0)
					}()
				}
				wg.Wait()
				return statuses
			}
			if status := deliver("before", false); status != http.StatusOK {
				t.Fatalf("webhook before the outage: %d", status)
			}

			tt.cause(proxy)
			testutil.Eventually(t, 20*time.Second, "/readyz to answer 503", func() bool {
				status, _ := a.Do(t, "GET", "/readyz", nil, false)
				return status == http.StatusServiceUnavailable
			})
			for i, status := range deliverAll() {
				if status != http.StatusServiceUnavailable {
					t.Errorf("webhook %d during the outage: %d, want 503", i, status)
				}
			}
			if status, _ := a.Do(t, "GET", "/healthz", nil, false); status != http.StatusOK {
				t.Errorf("/healthz during the outage: %d, want 200 (the process is alive)", status)
			}
			time.Sleep(2 * time.Second) // let the job queue's loops meet the outage too

			proxy.Restore()
			testutil.Eventually(t, 30*time.Second, "/readyz to answer 200 again", func() bool {
				status, _ := a.Do(t, "GET", "/readyz", nil, false)
				return status == http.StatusOK
			})
			// Trackier retries what was refused.
			for i, status := range deliverAll() {
				if status != http.StatusOK {
					t.Errorf("webhook %d retried after the outage: %d, want 200", i, status)
				}
			}
			// The job queue recovered too: a new offer's webhook gets its check.
			later := createOffer(t, a, map[string]any{"name": "after-outage", "url": upstream.URL + "/hop/1", "update_interval_seconds": fleetInterval})
			if status, _ := sendFleetWebhook(t, a.Client, later.WebhookToken, "later", false); status != http.StatusOK {
				t.Fatalf("webhook of a new offer after the outage: %d", status)
			}
			testutil.Eventually(t, 30*time.Second, "a check after the outage", func() bool {
				return len(checksOf(t, a, later.ID)) > 0
			})

			stored := map[string]bool{}
			for _, e := range eventsOf(t, a, offer.ID) {
				stored[e.ClickID] = true
			}
			for clickID := range acked {
				if !stored[clickID] {
					t.Errorf("webhook %s was acknowledged but is not stored", clickID)
				}
			}
			if len(stored) != len(acked) {
				t.Errorf("%d events stored, %d acknowledged", len(stored), len(acked))
			}
		})
	}
}

// TestPostgresNeedsAdminToken: a fleet cannot generate its admin token per
// instance, so serve refuses to start without one, with the do-not-restart
// exit code.
func TestPostgresNeedsAdminToken(t *testing.T) {
	env := appEnv(t.TempDir())
	env["URLTRACKER_DATABASE_URL"] = testutil.DefaultTestPostgres
	delete(env, "URLTRACKER_ADMIN_TOKEN")
	var out testutil.SyncBuffer
	err := run(context.Background(), []string{"urltracker", "serve"}, func(k string) string { return env[k] }, &out, &out)
	if exitCode(err) != ExitConfig || !strings.Contains(fmt.Sprint(err), "URLTRACKER_ADMIN_TOKEN") {
		t.Errorf("serve on PostgreSQL without an admin token: exit %d, %v; want %d naming URLTRACKER_ADMIN_TOKEN", exitCode(err), err, ExitConfig)
	}
}
