package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

type offerAnswer struct {
	urltracker.Offer
	WebhookToken string `json:"webhook_token"`
	WebhookURL   string `json:"webhook_url"`
}

func createOffer(t *testing.T, a *app, body map[string]any) offerAnswer {
	t.Helper()
	var o offerAnswer
	a.JSON(t, "POST", "/api/offers", body, true, http.StatusCreated, &o)
	return o
}

func checksOf(t *testing.T, a *app, offerID int64) []urltracker.Check {
	t.Helper()
	var ans struct{ Checks []urltracker.Check }
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/checks", offerID), nil, true, http.StatusOK, &ans)
	return ans.Checks
}

func eventsOf(t *testing.T, a *app, offerID int64) []urltracker.Event {
	t.Helper()
	var ans struct{ Events []urltracker.Event }
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/events?limit=1000", offerID), nil, true, http.StatusOK, &ans)
	return ans.Events
}

func webhook(t *testing.T, a *app, token, clickID string) map[string]any {
	t.Helper()
	var ans map[string]any
	a.JSON(t, "GET", "/api/trackier-webhook?token="+url.QueryEscape(token)+"&click_id="+url.QueryEscape(clickID)+"&campaign_id=c1", nil, false, http.StatusOK, &ans)
	return ans
}

func TestWebhookStoresEventAndRecordsOneCheckWithFullChain(t *testing.T) {
	upstream := httptest.NewServer(testutil.RedirectChain(4))
	defer upstream.Close()
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "chain", "url": upstream.URL + "/hop/1"})

	if !strings.Contains(offer.WebhookURL, "token="+offer.WebhookToken) || !strings.Contains(offer.WebhookURL, "click_id={click_id}") ||
		!strings.Contains(offer.WebhookURL, "p10={p10}") {
		t.Errorf("webhook_url %q lacks the token or Trackier macros", offer.WebhookURL)
	}
	if len(offer.WebhookToken) < 22 {
		t.Errorf("webhook token %q is shorter than 128 bits of base64", offer.WebhookToken)
	}

	ans := webhook(t, a, offer.WebhookToken, "click-1")
	if ans["success"] != true || ans["event_id"] == nil || ans["timestamp"] == nil || ans["token"] != offer.WebhookToken {
		t.Fatalf("webhook answer %v lacks contract fields", ans)
	}
	if events := eventsOf(t, a, offer.ID); len(events) != 1 || events[0].ClickID != "click-1" || events[0].CampaignID != "c1" {
		t.Fatalf("events = %+v, want the one click", events)
	}

	var checks []urltracker.Check
	testutil.Eventually(t, 15*time.Second, "the check to be recorded", func() bool {
		checks = checksOf(t, a, offer.ID)
		return len(checks) == 1
	})
	c := checks[0]
	if c.Verdict != urltracker.VerdictHealthy || !c.Success {
		t.Fatalf("verdict %q (error %q), want healthy", c.Verdict, c.Error)
	}
	if len(c.Chain) != 5 {
		t.Fatalf("chain has %d hops, want 4 redirects + final: %+v", len(c.Chain), c.Chain)
	}
	for i, hop := range c.Chain[:4] {
		if hop.Status != http.StatusFound || hop.RedirectType != urltracker.RedirectHTTP {
			t.Errorf("hop %d = %d %s, want 302 http", i, hop.Status, hop.RedirectType)
		}
	}
	last := c.Chain[4]
	if last.Status != 200 || last.RedirectType != urltracker.RedirectFinal || last.Params["from"] != "chain" {
		t.Errorf("final hop = %+v, want 200 final with params from=chain", last)
	}
	if c.FinalURL != upstream.URL+"/landing?from=chain" {
		t.Errorf("final_url = %q", c.FinalURL)
	}

	var status struct {
		Enabled       bool
		ActiveOffers  int `json:"active_offers"`
		StatsLastHour struct {
			Webhooks, Checks int
			SuccessRate      *float64 `json:"success_rate"`
		} `json:"stats_last_hour"`
		Instance string
		Offers   []map[string]any
	}
	a.JSON(t, "GET", "/api/trackier-status", nil, true, http.StatusOK, &status)
	if !status.Enabled || status.ActiveOffers != 1 || status.StatsLastHour.Webhooks != 1 || status.StatsLastHour.Checks != 1 ||
		status.StatsLastHour.SuccessRate == nil || *status.StatsLastHour.SuccessRate != 1 || status.Instance != "test" {
		t.Errorf("status = %+v", status)
	}
	if len(status.Offers) != 1 || status.Offers[0]["offer_name"] != "chain" || status.Offers[0]["webhook_count"] != 1.0 ||
		status.Offers[0]["check_count"] != 1.0 || status.Offers[0]["last_verdict"] != "healthy" {
		t.Errorf("admin status offers = %v", status.Offers)
	}
	var public map[string]any
	a.JSON(t, "GET", "/api/trackier-status", nil, false, http.StatusOK, &public)
	if _, ok := public["offers"]; ok {
		t.Errorf("public status shows offers: %v", public)
	}
}

func TestConcurrentWebhooksInOneIntervalRunOneCheck(t *testing.T) {
	upstream := httptest.NewServer(testutil.RedirectChain(1))
	defer upstream.Close()
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "busy", "url": upstream.URL + "/hop/1", "update_interval_seconds": 3600})

	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			webhook(t, a, offer.WebhookToken, fmt.Sprintf("click-%d", i))
		}()
	}
	wg.Wait()
	if n := len(eventsOf(t, a, offer.ID)); n != 50 {
		t.Fatalf("stored %d events, want 50", n)
	}
	testutil.Eventually(t, 15*time.Second, "the check", func() bool { return len(checksOf(t, a, offer.ID)) >= 1 })
	// Give a wrongly scheduled second check time to show up.
	time.Sleep(3 * time.Second)
	if n := len(checksOf(t, a, offer.ID)); n != 1 {
		t.Fatalf("ran %d checks for 50 webhooks in one interval, want exactly 1", n)
	}
}

func TestDuplicateClickIsStoredOnce(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "dup", "url": "https://offer.example/x"})
	first := webhook(t, a, offer.WebhookToken, "same")
	second := webhook(t, a, offer.WebhookToken, "same")
	if first["duplicate"] != nil || second["duplicate"] != true || first["event_id"] != second["event_id"] {
		t.Fatalf("first %v, second %v: want the second marked duplicate with the same event id", first, second)
	}
	// Events without a click id are all stored.
	a.JSON(t, "GET", "/api/trackier-webhook?token="+offer.WebhookToken+"&campaign_id=x", nil, false, 200, nil)
	a.JSON(t, "GET", "/api/trackier-webhook?token="+offer.WebhookToken+"&campaign_id=x", nil, false, 200, nil)
	if n := len(eventsOf(t, a, offer.ID)); n != 3 {
		t.Fatalf("stored %d events, want 3 (one per distinct click, all without click id)", n)
	}
}

func TestWebhookBodiesAndQueryPrecedence(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "bodies", "url": "https://offer.example/x"})
	path := "/api/trackier-webhook?token=" + offer.WebhookToken

	a.JSON(t, "POST", path+"&click_id=from-query", map[string]any{"click_id": "from-body", "p1": "sub1", "payout": 1.5, "n": json.Number("12345678901234567890")}, false, 200, nil)
	status, body := a.Do(t, "POST", path+"&click_id=query-only", nil, false)
	if status != 200 {
		t.Fatalf("POST without body, macros in the query: %d %s", status, body)
	}
	req, _ := http.NewRequest("POST", a.BaseURL+path, strings.NewReader("click_id=form-click&country=DE"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("form POST: %v %v", resp, err)
	}
	resp.Body.Close()

	events := eventsOf(t, a, offer.ID)
	byClick := map[string]urltracker.Event{}
	for _, e := range events {
		byClick[e.ClickID] = e
	}
	if e, ok := byClick["from-query"]; !ok || e.Payload["p1"] != "sub1" || e.Payload["payout"] != "1.5" || e.Payload["n"] != "12345678901234567890" {
		t.Errorf("JSON body event = %+v, want query click_id winning and body macros kept exactly", byClick)
	}
	if e, ok := byClick["form-click"]; !ok || e.Payload["country"] != "DE" {
		t.Errorf("form body event missing: %+v", byClick)
	}
	for _, e := range events {
		if _, ok := e.Payload["token"]; ok {
			t.Errorf("payload stores the token: %v", e.Payload)
		}
	}

	// A GET with only the token describes readiness and stores nothing.
	var ready map[string]any
	a.JSON(t, "GET", path, nil, false, 200, &ready)
	if ready["ready"] != true {
		t.Errorf("readiness answer = %v", ready)
	}
	if n := len(eventsOf(t, a, offer.ID)); n != 3 {
		t.Errorf("stored %d events, want 3", n)
	}
}

func TestBadInputGetsClearErrorAndStoresNothing(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "target", "url": "https://offer.example/x"})
	wh := "/api/trackier-webhook?token=" + offer.WebhookToken

	cases := []struct {
		name, method, path string
		body               any
		admin              bool
		want               int
		wantInError        string
	}{
		{"unknown token", "GET", "/api/trackier-webhook?token=nope&click_id=1", nil, false, 404, "unknown webhook token"},
		{"missing token", "GET", "/api/trackier-webhook?click_id=1", nil, false, 400, "missing token"},
		{"body over 64 KiB", "POST", wh, `{"click_id":"big","x":"` + strings.Repeat("a", 70<<10) + `"}`, false, 413, "larger than 64 KiB"},
		{"malformed JSON", "POST", wh, `{"click_id": "half`, false, 400, "malformed JSON"},
		{"JSON not an object", "POST", wh, `["click_id"]`, false, 400, "malformed JSON"},
		// Issue 13: what PostgreSQL refuses, or what overflows an index or
		// a page, is refused before storage, naming the field.
		{"text after the JSON", "POST", wh, `{"click_id":"after"} trailing`, false, 400, "text after the JSON value"},
		{"stray brace after the JSON", "POST", wh, `{"click_id":"brace"}}`, false, 400, "text after the JSON value"},
		{"empty POST", "POST", wh, nil, false, 400, "empty webhook"},
		{"NUL in click_id", "GET", wh + "&click_id=a%00b", nil, false, 400, "click_id contains a NUL byte"},
		{"invalid UTF-8 in campaign_id", "GET", wh + "&click_id=u&campaign_id=%ff%fe", nil, false, 400, "campaign_id is not valid UTF-8"},
		{"NUL in token", "GET", "/api/trackier-webhook?token=a%00b&click_id=1", nil, false, 400, "token contains a NUL byte"},
		{"invalid UTF-8 in token", "GET", "/api/trackier-webhook?token=%c3%28&click_id=1", nil, false, 400, "token is not valid UTF-8"},
		{"long click_id", "GET", wh + "&click_id=" + strings.Repeat("c", 2800), nil, false, 400, "click_id is 2800 bytes long"},
		{"long macro", "POST", wh, map[string]any{"click_id": "m", "p1": strings.Repeat("p", 3000)}, false, 400, "p1 is 3000 bytes long"},
		{"NUL in a JSON macro", "POST", wh, `{"click_id":"j","p2":"a\u0000b"}`, false, 400, "p2 contains a NUL byte"},
		{"query string over 64 KiB", "GET", wh + "&click_id=q&p1=" + strings.Repeat("a", 70<<10), nil, false, 414, "query string is larger than 64 KiB"},
		{"query and body over 64 KiB together", "POST", wh + "&p3=" + strings.Repeat("a", 40<<10), `{"click_id":"qb","p4":"` + strings.Repeat("b", 30<<10) + `"}`, false, 413, "larger than 64 KiB with the query string"},
		{"offer without name", "POST", "/api/offers", map[string]any{"url": "https://a.example"}, true, 400, "name: required"},
		{"offer with relative url", "POST", "/api/offers", map[string]any{"name": "x", "url": "/relative"}, true, 400, "url: must be an absolute http"},
		{"offer with ftp url", "POST", "/api/offers", map[string]any{"name": "x", "url": "ftp://a.example/"}, true, 400, "url: must be an absolute http"},
		{"offer interval 0", "POST", "/api/offers", map[string]any{"name": "x", "url": "https://a.example", "update_interval_seconds": 0}, true, 400, "update_interval_seconds: must be at least 1"},
		{"offer duplicate name", "POST", "/api/offers", map[string]any{"name": "target", "url": "https://a.example"}, true, 400, "already exists"},
		{"offer wrong type", "POST", "/api/offers", `{"name": 5}`, true, 400, "must be string"},
		// Issue 12: an unknown field was silently ignored.
		{"offer unknown field", "POST", "/api/offers", map[string]any{"name": "y", "url": "https://a.example", "interval": 60}, true, 400, `unknown field \"interval\"`},
		{"patch unknown nested field", "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"policy": map[string]any{"pause_after": 3}}, true, 400, `unknown field \"pause_after\"`},
		{"trace unknown field", "POST", "/trace", map[string]any{"url": "https://a.example", "timeout": 5}, true, 400, `unknown field \"timeout\"`},
		{"patch bad url", "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"url": "nope"}, true, 400, "url: must be"},
		{"unknown offer", "GET", "/api/offers/999", nil, true, 404, "not found"},
		{"bad limit", "GET", "/api/offers?limit=5000", nil, true, 400, "limit"},
		{"toggle without state", "POST", "/api/trackier-emergency-toggle", nil, true, 400, "enabled must be"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := a.Do(t, tc.method, tc.path, tc.body, tc.admin)
			if status != tc.want || !strings.Contains(string(body), tc.wantInError) || !strings.Contains(string(body), `"success":false`) {
				t.Fatalf("status %d body %s; want %d with %q", status, body, tc.want, tc.wantInError)
			}
		})
	}
	if n := len(eventsOf(t, a, offer.ID)); n != 0 {
		t.Errorf("bad webhooks stored %d events", n)
	}
	var list struct{ Offers []offerAnswer }
	a.JSON(t, "GET", "/api/offers", nil, true, 200, &list)
	if len(list.Offers) != 1 || list.Offers[0].URL != "https://offer.example/x" {
		t.Errorf("invalid creates or patches changed the offers: %+v", list.Offers)
	}
}

func TestAdminEndpointsNeedTheToken(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	// With no offer yet, the admin status still holds an (empty) offers list.
	var empty map[string]any
	a.JSON(t, "GET", "/api/trackier-status", nil, true, 200, &empty)
	if offers, ok := empty["offers"].([]any); !ok || len(offers) != 0 {
		t.Errorf("admin status without offers = %v, want \"offers\":[]", empty)
	}
	offer := createOffer(t, a, map[string]any{"name": "guarded", "url": "https://offer.example/x"})
	id := fmt.Sprint(offer.ID)
	endpoints := [][2]string{
		{"POST", "/api/offers"}, {"GET", "/api/offers"}, {"GET", "/api/offers/" + id}, {"PATCH", "/api/offers/" + id},
		{"DELETE", "/api/offers/" + id}, {"GET", "/api/offers/" + id + "/checks"}, {"GET", "/api/offers/" + id + "/events"},
		{"POST", "/api/trackier-emergency-toggle?enabled=false"}, {"POST", "/api/trackier-trigger/" + id},
	}
	for _, ep := range endpoints {
		for _, auth := range []string{"", "Bearer wrong-token-wrong-token", "Basic " + testAdminToken, testAdminToken} {
			req, _ := http.NewRequest(ep[0], a.BaseURL+ep[1], strings.NewReader(`{}`))
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with Authorization %q: %d, want 401", ep[0], ep[1], auth, resp.StatusCode)
			}
		}
	}
	// Nothing changed: the offer is still there and automation still on.
	a.JSON(t, "GET", "/api/offers/"+id, nil, true, 200, nil)
	var st map[string]any
	a.JSON(t, "GET", "/api/trackier-status", nil, false, 200, &st)
	if st["enabled"] != true {
		t.Errorf("unauthorised toggle took effect: %v", st)
	}
}

func TestKillSwitchStopsChecksAndSurvivesRestart(t *testing.T) {
	upstream := httptest.NewServer(testutil.RedirectChain(1))
	defer upstream.Close()
	env := appEnv(t.TempDir())
	a := startApp(t, env)
	offer := createOffer(t, a, map[string]any{"name": "stopped", "url": upstream.URL + "/hop/1"})
	id := fmt.Sprint(offer.ID)

	var toggled map[string]any
	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=false", nil, true, 200, &toggled)
	if toggled["previous_state"] != true || toggled["current_state"] != false {
		t.Fatalf("toggle answer = %v", toggled)
	}
	ans := webhook(t, a, offer.WebhookToken, "while-off")
	if ans["outcome"] != string(urltracker.OutcomeKillSwitchOff) {
		t.Errorf("webhook outcome = %v, want kill_switch_off", ans["outcome"])
	}
	status, body := a.Do(t, "POST", "/api/trackier-trigger/"+id, nil, true)
	if status != http.StatusForbidden {
		t.Errorf("trigger while off: %d %s, want 403", status, body)
	}
	time.Sleep(2 * time.Second)
	if n := len(checksOf(t, a, offer.ID)); n != 0 {
		t.Fatalf("%d checks ran while the kill switch was off", n)
	}

	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	a = startApp(t, env)
	var st map[string]any
	a.JSON(t, "GET", "/api/trackier-status", nil, false, 200, &st)
	if st["enabled"] != false {
		t.Fatalf("after restart enabled = %v, want false", st["enabled"])
	}
	if events := eventsOf(t, a, offer.ID); len(events) != 1 || events[0].Outcome != urltracker.OutcomeKillSwitchOff {
		t.Errorf("events after restart = %+v", events)
	}

	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=true", nil, true, 200, &toggled)
	var check urltracker.Check
	a.JSON(t, "POST", "/api/trackier-trigger/"+id, nil, true, 200, &check)
	if check.Verdict != urltracker.VerdictHealthy || check.ID == 0 || len(check.Chain) != 2 {
		t.Errorf("triggered check = %+v", check)
	}
}

func TestAddressGuardBlocksLoopbackUnlessAllowed(t *testing.T) {
	upstream := httptest.NewServer(testutil.RedirectChain(1))
	defer upstream.Close()
	port := upstream.URL[strings.LastIndex(upstream.URL, ":")+1:]
	env := appEnv(t.TempDir())
	env["URLTRACKER_TRACE_ALLOW_CIDRS"] = ""
	a := startApp(t, env)
	for _, u := range []string{upstream.URL + "/hop/1", "http://localhost:" + port + "/hop/1"} {
		offer := createOffer(t, a, map[string]any{"name": u, "url": u})
		var check urltracker.Check
		a.JSON(t, "POST", fmt.Sprintf("/api/trackier-trigger/%d", offer.ID), nil, true, 200, &check)
		if check.Verdict != urltracker.VerdictBlocked {
			t.Errorf("%s: verdict %q, want blocked", u, check.Verdict)
		}
	}
}

func TestLogsNeverHoldSecrets(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "secretive", "url": "https://offer.example/x"})
	webhook(t, a, offer.WebhookToken, "c")
	a.Do(t, "GET", "/api/trackier-webhook?token="+offer.WebhookToken, nil, false)
	a.Do(t, "GET", "/api/offers", nil, true)
	a.Do(t, "GET", "/api/trackier-status", nil, true)
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	logs := a.Logs.String()
	if strings.Contains(logs, testAdminToken) {
		t.Error("logs contain the admin token")
	}
	if strings.Contains(logs, offer.WebhookToken) {
		t.Error("logs contain a full webhook token")
	}
	requests := 0
	for _, line := range a.Logs.LogLines(t) {
		if line["msg"] == "request" {
			requests++
			if line["level"] == nil || line["status"] == nil || line["request_id"] == nil || line["duration_ms"] == nil {
				t.Errorf("request log line lacks fields: %v", line)
			}
		}
	}
	if requests < 5 {
		t.Errorf("logged %d request lines, want one per request", requests)
	}
}

func TestGeneratedAdminTokenIsStoredPrivately(t *testing.T) {
	env := appEnv(t.TempDir())
	delete(env, "URLTRACKER_ADMIN_TOKEN")
	a := startApp(t, env)
	a.JSON(t, "GET", "/api/offers", nil, true, 200, nil)
	if strings.Contains(a.Logs.String(), a.AdminToken) {
		t.Error("the generated admin token was logged")
	}
	if !strings.Contains(a.Logs.String(), "urltracker.admin-token") {
		t.Error("the token file's path was not logged")
	}
}
