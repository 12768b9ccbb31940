package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// createTestOffer creates an offer through the admin API and returns its id
// and webhook token.
func createTestOffer(t *testing.T, c *testutil.Client, body map[string]any) (int64, string) {
	t.Helper()
	var offer struct {
		ID           int64  `json:"id"`
		WebhookToken string `json:"webhook_token"`
	}
	c.JSON(t, "POST", "/api/offers", body, true, http.StatusCreated, &offer)
	return offer.ID, offer.WebhookToken
}

// readyStatus asks /readyz on a fresh connection; 0 means no answer.
func readyStatus(baseURL string) int {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get(baseURL + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestSIGTERMDrainsInFlightRequests: on SIGTERM /readyz turns 503 at once
// while the server keeps serving for the drain delay, a request still in
// flight (here a webhook whose body arrives slowly) completes with 200 and
// is stored, and the process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	bin := buildBinary(t, t.TempDir())
	dir := t.TempDir()
	env := appEnv(dir)
	env["URLTRACKER_ADDR"] = freeAddr(t)
	env["URLTRACKER_DRAIN_DELAY"] = "2s"
	env["URLTRACKER_SHUTDOWN_TIMEOUT"] = "20s"
	p := startServe(t, bin, env)
	_, token := createTestOffer(t, p.Client, map[string]any{"name": "drain", "url": "http://127.0.0.1:1/offer", "enabled": false})

	// The slow request: headers and half of the body now, the rest later.
	body, bodyW := io.Pipe()
	req, err := http.NewRequest("POST", p.Client.BaseURL+"/api/trackier-webhook?token="+token, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- answer{status: resp.StatusCode, body: string(b)}
	}()
	if _, err := io.WriteString(bodyW, `{"click_id": "slow-click", `); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // let the handler start reading

	p.Signal(t, syscall.SIGTERM)
	testutil.Eventually(t, 2*time.Second, "/readyz to answer 503 during the drain", func() bool {
		return readyStatus(p.Client.BaseURL) == http.StatusServiceUnavailable
	})
	// The drain delay passes; the server then waits for our request.
	time.Sleep(2500 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("exited with a request in flight\n%s", p.Stdout)
	}
	if _, err := io.WriteString(bodyW, `"campaign_id": "camp-1"}`); err != nil {
		t.Fatal(err)
	}
	bodyW.Close()

	select {
	case a := <-answered:
		if a.err != nil || a.status != http.StatusOK || !strings.Contains(a.body, `"success":true`) {
			t.Fatalf("in-flight webhook: status %d, body %s, err %v; want 200", a.status, a.body, a.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the in-flight webhook got no answer")
	}
	if code := p.Wait(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0\n%s\n%s", code, p.Stdout, p.Stderr)
	}
	assertCleanLogs(t, p.Stdout.String()+p.Stderr.String(), testAdminToken, token)

	db, err := store.Open(context.Background(), env["URLTRACKER_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	offer, err := db.OfferByToken(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	events, err := db.Events(context.Background(), offer.ID, 10)
	if err != nil || len(events) != 1 || events[0].ClickID != "slow-click" || events[0].CampaignID != "camp-1" {
		t.Fatalf("stored events %+v (err %v), want the slow webhook", events, err)
	}
}

// TestSecondSignalExitsAtOnce: an operator who hits Ctrl-C twice, or a
// supervisor that escalates, does not wait for the drain.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	bin := buildBinary(t, t.TempDir())
	env := appEnv(t.TempDir())
	env["URLTRACKER_ADDR"] = freeAddr(t)
	env["URLTRACKER_DRAIN_DELAY"] = "60s"
	p := startServe(t, bin, env)
	p.Signal(t, syscall.SIGTERM)
	testutil.Eventually(t, 5*time.Second, "the drain to start", func() bool {
		return strings.Contains(p.Stdout.String(), "shutting down: draining")
	})
	start := time.Now()
	p.Signal(t, syscall.SIGTERM)
	p.Wait(t, 5*time.Second)
	t.Logf("second SIGTERM ended the process in %s", time.Since(start))
}

// TestSIGKILLLosesNoAcknowledgedWebhook: the process is killed while 400
// webhooks are in flight; after a restart every webhook that was answered
// 200 is stored (the old service acknowledged before storing).
func TestSIGKILLLosesNoAcknowledgedWebhook(t *testing.T) {
	bin := buildBinary(t, t.TempDir())
	env := appEnv(t.TempDir())
	env["URLTRACKER_ADDR"] = freeAddr(t)
	p := startServe(t, bin, env)
	offerID, token := createTestOffer(t, p.Client, map[string]any{"name": "crash", "url": "http://127.0.0.1:1/offer", "update_interval_seconds": 3600})

	const n = 400
	var (
		acked     sync.Map // click_id → true, for webhooks answered 200
		ackCount  atomic.Int64
		failCount atomic.Int64
		killOnce  sync.Once
		wg        sync.WaitGroup
	)
	start := make(chan struct{})
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			click := fmt.Sprintf("click-%03d", i)
			resp, err := hc.Post(p.Client.BaseURL+"/api/trackier-webhook?token="+token+"&click_id="+click+"&campaign_id=c", "application/json", nil)
			if err != nil {
				failCount.Add(1)
				return
			}
			defer resp.Body.Close()
			var a struct {
				Success bool `json:"success"`
			}
			if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&a) != nil || !a.Success {
				failCount.Add(1)
				return
			}
			acked.Store(click, true)
			if ackCount.Add(1) == n/4 {
				killOnce.Do(func() { _ = p.cmd.Process.Signal(syscall.SIGKILL) })
			}
		}()
	}
	close(start)
	wg.Wait()
	p.Wait(t, 10*time.Second)
	t.Logf("before SIGKILL: %d webhooks answered 200, %d failed", ackCount.Load(), failCount.Load())
	if ackCount.Load() < n/4 {
		t.Fatalf("only %d webhooks answered before the kill", ackCount.Load())
	}

	restarted := startServe(t, bin, env)
	var list struct {
		Events []struct {
			ClickID string `json:"click_id"`
		} `json:"events"`
	}
	restarted.Client.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/events?limit=1000", offerID), nil, true, http.StatusOK, &list)
	stored := map[string]bool{}
	for _, e := range list.Events {
		stored[e.ClickID] = true
	}
	lost := 0
	acked.Range(func(k, _ any) bool {
		if !stored[k.(string)] {
			lost++
			t.Errorf("webhook %s was answered 200 but is not stored", k)
		}
		return true
	})
	t.Logf("after restart: %d events stored, %d acknowledged webhooks lost", len(stored), lost)
}
