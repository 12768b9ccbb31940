package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/notify"
	"github.com/urltracker/urltracker/store"
)

// chatReceiver is a local incoming webhook (Slack's, or a plain webhook
// receiver): it keeps each body with its headers and answers from a script
// of statuses, the last repeating.
type chatReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	bodies   [][]byte
	headers  []http.Header
	statuses []int
}

func newChatReceiver(t *testing.T, statuses ...int) *chatReceiver {
	r := &chatReceiver{statuses: statuses}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, body)
		r.headers = append(r.headers, req.Header.Clone())
		status := http.StatusOK
		if len(r.statuses) > 0 {
			status = r.statuses[0]
			if len(r.statuses) > 1 {
				r.statuses = r.statuses[1:]
			}
		}
		r.mu.Unlock()
		if status != http.StatusOK {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "try later", status)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

// messages are the received bodies decoded, oldest first.
func (r *chatReceiver) messages(t *testing.T) []map[string]any {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]any
	for _, b := range r.bodies {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("body is not JSON: %s", b)
		}
		out = append(out, m)
	}
	return out
}

// titles are the Slack messages' fallback texts, or a webhook's titles.
func (r *chatReceiver) titles(t *testing.T) []string {
	var ts []string
	for _, m := range r.messages(t) {
		if s, ok := m["text"].(string); ok {
			ts = append(ts, s)
		} else {
			ts = append(ts, fmt.Sprint(m["title"]))
		}
	}
	return ts
}

func (r *chatReceiver) waitFor(t *testing.T, n int, what string) {
	t.Helper()
	testutil.Eventually(t, 30*time.Second, what, func() bool { return len(r.messages(t)) >= n })
}

func deliveriesOf(t *testing.T, a *app, path string) []urltracker.Delivery {
	t.Helper()
	var list struct {
		Deliveries []urltracker.Delivery `json:"deliveries"`
	}
	a.JSON(t, "GET", path, nil, true, http.StatusOK, &list)
	return list.Deliveries
}

// TestNotificationsEndToEnd: a real offer whose upstream breaks is checked,
// its outage reaches a Slack channel (Block Kit) and a signed webhook
// channel, the resolved notice follows when it heals, a snooze silences the
// next outage (listed, not sent), and the kill switch is told to the
// default channel.
func TestNotificationsEndToEnd(t *testing.T) {
	site := newOfferSite(t)
	slack, hook := newChatReceiver(t), newChatReceiver(t)
	env := actionEnv(t)
	env["URLTRACKER_PUBLIC_URL"] = "https://tracker.example"
	a := startApp(t, env)

	var slackCh, hookCh urltracker.Channel
	a.JSON(t, "POST", "/api/channels", map[string]any{"name": "ops", "kind": "slack", "default": true,
		"url": slack.URL + "/services/T0/B0/SLACKSECRET"}, true, http.StatusCreated, &slackCh)
	a.JSON(t, "POST", "/api/channels", map[string]any{"name": "receiver", "kind": "webhook", "url": hook.URL + "/in",
		"template": `{"title": {{json .Title}}, "event": {{json .Event}}, "thread": {{json .OutageKey}}, "for": {{json .Duration}}, "link": {{json .Link}}}`,
		"secret":   "HMACSECRET"}, true, http.StatusCreated, &hookCh)
	if slackCh.Target != slack.URL+"/…" || strings.Join(slackCh.SecretsSet, ",") != "url" || hookCh.SignatureHeader != "X-Urltracker-Signature" {
		t.Errorf("channels = %+v %+v", slackCh, hookCh)
	}
	// Bad input: a 400 naming the field, nothing stored.
	status, body := a.Do(t, "POST", "/api/channels", map[string]any{"name": "x", "kind": "telegram"}, true)
	if status != http.StatusBadRequest || !strings.Contains(string(body), "bot_token") {
		t.Errorf("telegram without a token: %d %s", status, body)
	}

	// The test message arrives, and is logged.
	var test struct {
		Delivery urltracker.Delivery `json:"delivery"`
	}
	a.JSON(t, "POST", fmt.Sprintf("/api/channels/%d/test", slackCh.ID), nil, true, http.StatusOK, &test)
	if test.Delivery.Outcome != urltracker.DeliverySucceeded || slack.titles(t)[0] != "Test message from urltracker" {
		t.Errorf("test delivery = %+v, slack got %v", test.Delivery, slack.titles(t))
	}

	offer := createOffer(t, a, map[string]any{"name": "shoes", "url": site.URL(), "update_interval_seconds": 3600,
		"check_every_seconds": 0, "policy": map[string]any{"confirm_after_seconds": 0},
		"alert": map[string]any{"failure_threshold": 2}, "channels": []int64{hookCh.ID}})

	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	slack.waitFor(t, 2, "the failing notice on Slack")
	hook.waitFor(t, 1, "the failing notice on the webhook")
	site.broken.Store(false)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	slack.waitFor(t, 3, "the resolved notice on Slack")
	hook.waitFor(t, 2, "the resolved notice on the webhook")

	want := []string{"Test message from urltracker", `Offer "shoes" is failing: broken`, `Offer "shoes" is healthy again`}
	if got := slack.titles(t); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Slack got %q, want %q", got, want)
	}
	failing := slack.messages(t)[1]
	blocks, _ := failing["blocks"].([]any)
	if len(blocks) < 3 || blocks[0].(map[string]any)["type"] != "header" ||
		!strings.Contains(fmt.Sprint(blocks), fmt.Sprintf("https://tracker.example/offers/%d", offer.ID)) ||
		!strings.Contains(fmt.Sprint(blocks), "2 failed checks in a row") {
		t.Errorf("Slack failing message = %v", failing)
	}
	resolved := slack.messages(t)[2]
	if !strings.Contains(fmt.Sprint(resolved["blocks"]), "The outage that started") {
		t.Errorf("resolved notice names no outage: %v", resolved)
	}
	hooks := hook.messages(t)
	if hooks[0]["event"] != "failing" || hooks[1]["event"] != "resolved" || hooks[0]["thread"] == "" || hooks[0]["thread"] != hooks[1]["thread"] ||
		hooks[0]["link"] != fmt.Sprintf("https://tracker.example/offers/%d", offer.ID) {
		t.Errorf("webhook got %v", hooks)
	}
	hook.mu.Lock()
	for i, b := range hook.bodies {
		if got := hook.headers[i].Get("X-Urltracker-Signature"); got != notify.Sign("HMACSECRET", b) {
			t.Errorf("webhook body %d signature %q does not verify", i, got)
		}
	}
	hook.mu.Unlock()

	// A snooze: the next outage is checked and listed, not sent.
	var snoozed offerAnswer
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	a.JSON(t, "POST", fmt.Sprintf("/api/offers/%d/snooze", offer.ID), map[string]any{"until": until, "reason": "deploy"}, true, http.StatusOK, &snoozed)
	if snoozed.Snooze == nil || snoozed.Snooze.Reason != "deploy" {
		t.Fatalf("snooze = %+v", snoozed.Snooze)
	}
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitActionsSettled(t, a)
	if n := len(slack.messages(t)); n != 3 {
		t.Errorf("Slack got %d messages during the snooze, want none new", n-3)
	}
	var silenced []urltracker.Delivery
	for _, d := range deliveriesOf(t, a, fmt.Sprintf("/api/offers/%d/deliveries", offer.ID)) {
		if d.Outcome == urltracker.DeliverySilenced {
			silenced = append(silenced, d)
		}
	}
	if len(silenced) != 2 || !strings.Contains(silenced[0].Error, "snoozed until") || silenced[0].Event != urltracker.NoticeFailing {
		t.Errorf("silenced deliveries = %+v, want the failing notice listed for both channels", silenced)
	}
	a.JSON(t, "POST", fmt.Sprintf("/api/offers/%d/snooze", offer.ID), map[string]any{"until": nil}, true, http.StatusOK, &snoozed)
	if snoozed.Snooze != nil {
		t.Errorf("snooze not lifted: %+v", snoozed.Snooze)
	}

	// The kill switch is told to the default channel, off and on.
	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=false", nil, true, http.StatusOK, nil)
	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=true", nil, true, http.StatusOK, nil)
	slack.waitFor(t, 5, "the kill switch notices")
	titles := strings.Join(slack.titles(t)[3:], "|")
	if !strings.Contains(titles, "Automation is OFF") || !strings.Contains(titles, "Automation is back on") {
		t.Errorf("kill switch notices = %s", titles)
	}
	if n := len(hook.messages(t)); n != 2 {
		t.Errorf("the offer's own channel got %d messages, want 2 (the kill switch goes to default channels)", n)
	}

	// The channel's log, and the rest of the channel API.
	log := deliveriesOf(t, a, fmt.Sprintf("/api/channels/%d/deliveries", slackCh.ID))
	if len(log) < 5 || log[0].Event != urltracker.NoticeKillSwitch || log[0].OfferID != nil {
		t.Errorf("Slack channel's deliveries = %+v", log)
	}
	var got urltracker.Channel
	a.JSON(t, "PATCH", fmt.Sprintf("/api/channels/%d", hookCh.ID), map[string]any{"name": "renamed"}, true, http.StatusOK, &got)
	if got.Name != "renamed" || strings.Join(got.SecretsSet, ",") != "url,secret" {
		t.Errorf("patched channel = %+v, want the secrets kept", got)
	}
	a.JSON(t, "GET", fmt.Sprintf("/api/channels/%d", hookCh.ID), nil, true, http.StatusOK, &got)
	_, list := a.Do(t, "GET", "/api/channels", nil, true)
	_, audit := a.Do(t, "GET", "/api/audit", nil, true)
	for _, secret := range []string{"SLACKSECRET", "HMACSECRET"} {
		if strings.Contains(string(list), secret) || strings.Contains(string(audit), secret) {
			t.Errorf("a channel secret shows in GET /api/channels or the audit log:\n%s\n%s", list, audit)
		}
	}
	if !strings.Contains(string(audit), "POST /api/channels") {
		t.Errorf("the audit log does not record the channel's creation: %s", audit)
	}
	a.JSON(t, "DELETE", fmt.Sprintf("/api/channels/%d", hookCh.ID), nil, true, http.StatusOK, nil)
	var after offerAnswer
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d", offer.ID), nil, true, http.StatusOK, &after)
	if len(after.Channels) != 0 {
		t.Errorf("offer still names the deleted channel: %v", after.Channels)
	}
	status, body = a.Do(t, "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"channels": []int64{hookCh.ID}}, true)
	if status != http.StatusBadRequest || !strings.Contains(string(body), "no channel") {
		t.Errorf("naming a deleted channel: %d %s", status, body)
	}
}

// TestNotificationRetriesHonourRetryAfter: a receiver that answers 500
// twice, then 200, gets the message delivered once, after three attempts
// that the channel's log shows.
func TestNotificationRetriesHonourRetryAfter(t *testing.T) {
	flaky := newChatReceiver(t, 500, 500, 200)
	a := startApp(t, actionEnv(t))
	var ch urltracker.Channel
	a.JSON(t, "POST", "/api/channels", map[string]any{"name": "flaky", "kind": "slack", "default": true, "url": flaky.URL + "/x"},
		true, http.StatusCreated, &ch)
	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=false", nil, true, http.StatusOK, nil)
	var log []urltracker.Delivery
	testutil.Eventually(t, 60*time.Second, "three attempts", func() bool {
		log = deliveriesOf(t, a, fmt.Sprintf("/api/channels/%d/deliveries", ch.ID))
		return len(log) == 3
	})
	outcomes := []urltracker.DeliveryOutcome{log[2].Outcome, log[1].Outcome, log[0].Outcome}
	if fmt.Sprint(outcomes) != "[retrying retrying succeeded]" || log[0].Attempt != 3 || log[2].StatusCode != 500 ||
		log[2].NextAttemptAt == nil || log[0].JobID != log[2].JobID {
		t.Errorf("deliveries = %+v", log)
	}
	if got := flaky.titles(t); len(got) != 3 || got[2] != "Automation is OFF: the kill switch was turned off" {
		t.Errorf("receiver got %q", got)
	}
}

// TestMaintenanceWindowsAPI creates, reads, changes and deletes a weekly
// window, and refuses a malformed one.
func TestMaintenanceWindowsAPI(t *testing.T) {
	a := startApp(t, actionEnv(t))
	var w urltracker.MaintenanceWindow
	a.JSON(t, "POST", "/api/maintenance", map[string]any{"name": "nightly", "time_zone": "Europe/Berlin",
		"weekly": map[string]any{"days": []string{"sat", "sun"}, "start": "23:00", "duration_minutes": 120}}, true, http.StatusCreated, &w)
	if w.ID == 0 || w.Weekly == nil || len(w.Offers) != 0 {
		t.Fatalf("window = %+v", w)
	}
	status, body := a.Do(t, "POST", "/api/maintenance", map[string]any{"name": "bad", "time_zone": "Mars/Olympus",
		"weekly": map[string]any{"days": []string{"sat"}, "start": "23:00", "duration_minutes": 120}}, true)
	if status != http.StatusBadRequest || !strings.Contains(string(body), "time_zone") {
		t.Errorf("bad zone: %d %s", status, body)
	}
	start := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	var changed urltracker.MaintenanceWindow
	a.JSON(t, "PATCH", fmt.Sprintf("/api/maintenance/%d", w.ID), map[string]any{"weekly": nil,
		"starts_at": start, "ends_at": start.Add(time.Hour)}, true, http.StatusOK, &changed)
	if changed.Weekly != nil || changed.StartsAt == nil || changed.Name != "nightly" {
		t.Errorf("patched window = %+v", changed)
	}
	var list struct {
		Windows []struct {
			ID          int64      `json:"id"`
			ActiveUntil *time.Time `json:"active_until"`
		} `json:"windows"`
	}
	a.JSON(t, "GET", "/api/maintenance", nil, true, http.StatusOK, &list)
	if len(list.Windows) != 1 || list.Windows[0].ActiveUntil == nil || !list.Windows[0].ActiveUntil.Equal(start.Add(time.Hour)) {
		t.Errorf("list = %+v, want the window on until its end", list)
	}
	a.JSON(t, "GET", fmt.Sprintf("/api/maintenance/%d", w.ID), nil, true, http.StatusOK, &changed)
	a.JSON(t, "DELETE", fmt.Sprintf("/api/maintenance/%d", w.ID), nil, true, http.StatusOK, nil)
	if status, _ := a.Do(t, "GET", fmt.Sprintf("/api/maintenance/%d", w.ID), nil, true); status != http.StatusNotFound {
		t.Errorf("deleted window: %d", status)
	}
}

// TestFleetSendsOneMessagePerChannelPerOutage: three instances on one
// PostgreSQL database check a broken offer at the same time, each through
// its own trigger, then again once it healed; each channel gets exactly one
// failing and one resolved message.
func TestFleetSendsOneMessagePerChannelPerOutage(t *testing.T) {
	site := newOfferSite(t)
	slack, hook := newChatReceiver(t), newChatReceiver(t)
	dbURL := testutil.PostgresURL(t)
	fleet := startFleet(t, dbURL, 3)
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hookCh urltracker.Channel
	fleet[0].JSON(t, "POST", "/api/channels", map[string]any{"name": "ops", "kind": "slack", "default": true, "url": slack.URL + "/s"},
		true, http.StatusCreated, nil)
	fleet[1].JSON(t, "POST", "/api/channels", map[string]any{"name": "hook", "kind": "webhook", "url": hook.URL + "/h"},
		true, http.StatusCreated, &hookCh)
	offer := createOffer(t, fleet[2], map[string]any{"name": "fleet-outage", "url": site.URL(), "update_interval_seconds": fleetInterval,
		"check_every_seconds": 0, "policy": map[string]any{"confirm_after_seconds": 0},
		"alert": map[string]any{"failure_threshold": 1, "remind_every_seconds": 0}, "channels": []int64{hookCh.ID}})

	together := func(verdict urltracker.Verdict) {
		var wg sync.WaitGroup
		for _, a := range fleet {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var c urltracker.Check
				a.JSON(t, "POST", fmt.Sprintf("/api/trackier-trigger/%d", offer.ID), nil, true, http.StatusOK, &c)
				if c.Verdict != verdict {
					t.Errorf("check verdict %s, want %s", c.Verdict, verdict)
				}
			}()
		}
		wg.Wait()
		// Every notice was enqueued in the transaction of its check, which
		// committed before the trigger answered: wait until all ran.
		testutil.Eventually(t, 30*time.Second, "notification jobs to settle", func() bool {
			var n int
			if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'notify'
				AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n == 0
		})
	}
	site.broken.Store(true)
	together(urltracker.VerdictBroken)
	site.broken.Store(false)
	together(urltracker.VerdictHealthy)
	for name, r := range map[string]*chatReceiver{"slack": slack, "webhook": hook} {
		var events []string
		for _, m := range r.messages(t) {
			if e, ok := m["event"]; ok {
				events = append(events, fmt.Sprint(e))
			} else {
				events = append(events, fmt.Sprint(m["text"]))
			}
		}
		want := []string{`Offer "fleet-outage" is failing: broken`, `Offer "fleet-outage" is healthy again`}
		if name == "webhook" {
			want = []string{"failing", "resolved"}
		}
		if strings.Join(events, "|") != strings.Join(want, "|") {
			t.Errorf("%s got %q, want exactly %q", name, events, want)
		}
	}
}
