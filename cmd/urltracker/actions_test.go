package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/trackier"
)

const testAPIKey = "trk-key-SECRET-5f2c9a7d41"

// apiCall is one request the local Trackier API received.
type apiCall struct {
	Method, Path, APIKey, ContentType string
	Body                              map[string]string
}

// fakeTrackier is a local Trackier API with one campaign, cmp-77. A read
// answers the campaign with its status; each write gets the next status of
// script (the last one repeats) and, answered 2xx, sets the status. hang
// makes calls wait until the client gives up. Answers echo the API key, as
// a careless API might, to prove urltracker never stores what comes back.
// (internal/trackierfake is the faithful fake; this one scripts failures.)
type fakeTrackier struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []apiCall
	script []int
	status string
	url    string
	hang   atomic.Bool
}

func newFakeTrackier(t *testing.T, script ...int) *fakeTrackier {
	f := &fakeTrackier{script: script, status: "active", url: "https://adv.example/t?c={click_id}"}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		call := apiCall{Method: r.Method, Path: r.URL.Path, APIKey: r.Header.Get("X-Api-Key"), ContentType: r.Header.Get("Content-Type")}
		if len(raw) > 0 {
			var body map[string]any
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Errorf("API got a body that is not a JSON object: %s", raw)
			}
			call.Body = map[string]string{}
			for k, v := range body {
				call.Body[k] = fmt.Sprint(v)
			}
		}
		f.mu.Lock()
		f.calls = append(f.calls, call)
		status := http.StatusOK
		if len(f.script) > 0 {
			status = f.script[0]
			if len(f.script) > 1 {
				f.script = f.script[1:]
			}
		}
		if status < 300 && call.Body["status"] != "" {
			f.status = call.Body["status"]
		}
		if status < 300 && call.Body["url"] != "" {
			f.url = call.Body["url"]
		}
		campaign, campaignURL := f.status, f.url
		f.mu.Unlock()
		if f.hang.Load() {
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		if r.Method == http.MethodGet && status < 300 {
			fmt.Fprintf(w, `{"success":true,"campaign":{"id":"cmp-77","status":%q,"url":%q},"echo":%q}`,
				campaign, campaignURL, r.Header.Get("X-Api-Key"))
			return
		}
		fmt.Fprintf(w, `{"success":%v,"echo":%q}`, status < 300, r.Header.Get("X-Api-Key"))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTrackier) setScript(script ...int) {
	f.mu.Lock()
	f.script = script
	f.mu.Unlock()
}

// Writes are the calls that were not reads.
func (f *fakeTrackier) Writes() []apiCall {
	var out []apiCall
	for _, c := range f.Calls() {
		if c.Method != http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

// Calls are the calls the API received.
func (f *fakeTrackier) Calls() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

// alertReceiver is a local Slack-like incoming webhook.
type alertReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	alerts []map[string]any
}

func newAlertReceiver(t *testing.T) *alertReceiver {
	r := &alertReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var a map[string]any
		if err := json.NewDecoder(req.Body).Decode(&a); err != nil {
			t.Errorf("alert is not JSON: %v", err)
		}
		r.mu.Lock()
		r.alerts = append(r.alerts, a)
		r.mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *alertReceiver) Alerts() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.alerts...)
}

// offerSite is an offer's link that redirects to a landing page, or fails
// with 500 while broken.
type offerSite struct {
	*httptest.Server
	broken  atomic.Bool
	landing atomic.Value // path and query of the landing page
	hits    atomic.Int64 // requests of the offer link
}

func newOfferSite(t *testing.T) *offerSite {
	s := &offerSite{}
	s.landing.Store("/landing?click_id=CLK-OBSERVED-1&gclid=G1")
	mux := http.NewServeMux()
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.broken.Load() {
			http.Error(w, "offer is down", http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, s.landing.Load().(string), http.StatusFound)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><title>Landing</title>")
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *offerSite) URL() string { return s.Server.URL + "/offer" }

// actionsAnswer is GET /api/offers/{id}/actions.
type actionsAnswer struct {
	Actions []urltracker.Action
	Health  store.Health
}

func actionsOf(t *testing.T, a *app, offerID int64) actionsAnswer {
	t.Helper()
	var ans actionsAnswer
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/actions?limit=1000", offerID), nil, true, http.StatusOK, &ans)
	return ans
}

// trigger runs a check of the offer now and expects verdict.
func trigger(t *testing.T, a *app, offerID int64, verdict urltracker.Verdict) urltracker.Check {
	t.Helper()
	var c urltracker.Check
	a.JSON(t, "POST", fmt.Sprintf("/api/trackier-trigger/%d", offerID), nil, true, http.StatusOK, &c)
	if c.Verdict != verdict {
		t.Fatalf("check verdict %q (error %q), want %q", c.Verdict, c.Error, verdict)
	}
	return c
}

// attempts returns the offer's action attempts of kind, oldest first.
func attempts(t *testing.T, a *app, offerID int64, kind urltracker.ActionKind) []urltracker.Action {
	t.Helper()
	var out []urltracker.Action
	all := actionsOf(t, a, offerID).Actions
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind {
			out = append(out, all[i])
		}
	}
	return out
}

// waitOutcome waits until the newest attempt of kind has outcome.
func waitOutcome(t *testing.T, a *app, offerID int64, kind urltracker.ActionKind, outcome urltracker.ActionOutcome, within time.Duration) []urltracker.Action {
	t.Helper()
	var got []urltracker.Action
	testutil.Eventually(t, within, fmt.Sprintf("a %s attempt with outcome %s", kind, outcome), func() bool {
		got = attempts(t, a, offerID, kind)
		return len(got) > 0 && got[len(got)-1].Outcome == outcome
	})
	return got
}

// waitDelivery waits until the offer's deliveries log holds a notice of
// event with outcome, and returns the log.
func waitDelivery(t *testing.T, a *app, offerID int64, event urltracker.NoticeEvent, outcome urltracker.DeliveryOutcome) []urltracker.Delivery {
	t.Helper()
	var list struct {
		Deliveries []urltracker.Delivery `json:"deliveries"`
	}
	testutil.Eventually(t, 20*time.Second, fmt.Sprintf("a %s notice with outcome %s", event, outcome), func() bool {
		a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/deliveries", offerID), nil, true, 200, &list)
		for _, d := range list.Deliveries {
			if d.Event == event && d.Outcome == outcome {
				return true
			}
		}
		return false
	})
	return list.Deliveries
}

// waitActionsSettled waits until no action or notification job of the
// instance is waiting or running: every decided call has been made, dropped
// or given up. It reads the job table, which is shared by every instance.
func waitActionsSettled(t *testing.T, a *app) {
	t.Helper()
	db := openStore(t, a)
	testutil.Eventually(t, 30*time.Second, "action jobs to settle", func() bool {
		var n int
		err := db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind IN ('offer_action', 'notify')
			AND state NOT IN ('completed', 'cancelled', 'discarded')`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

// openStore opens the instance's database beside it, to read what it stored.
func openStore(t *testing.T, a *app) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), "sqlite:"+filepath.Join(a.Dir, "urltracker.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// trackierBreakerThreshold is the failures that open the breaker.
const trackierBreakerThreshold = trackier.BreakerThreshold

func actionEnv(t *testing.T) map[string]string {
	env := appEnv(t.TempDir())
	env["URLTRACKER_API_TIMEOUT"] = "2s"
	return env
}

// boundOffer is an offer bound to api's campaign, acting on it at once:
// mode act, failures counted without a confirming check, unless policy
// says otherwise.
func boundOffer(name string, site *offerSite, api *fakeTrackier, policy map[string]any) map[string]any {
	p := map[string]any{"mode": "act", "confirm_after_seconds": 0}
	for k, v := range policy {
		p[k] = v
	}
	policy = p
	return map[string]any{
		"name": name, "url": site.URL(), "update_interval_seconds": 3600,
		"trackier": map[string]any{"api_base_url": api.URL, "api_key": testAPIKey, "campaign_id": "cmp-77"},
		"policy":   policy,
	}
}

func TestPauseAfterNFailuresOncePerOutageAndResumeAfterMHealthy(t *testing.T) {
	site, api, recv := newOfferSite(t), newFakeTrackier(t), newAlertReceiver(t)
	a := startApp(t, actionEnv(t))
	offer := createOffer(t, a, boundOffer("shoes", site, api, map[string]any{
		"pause_after_failures": 3, "resume_after_successes": 2, "alert_url": recv.URL + "/services/T0/B0/XYZ",
	}))

	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	site.broken.Store(true)
	for i := 1; i <= 2; i++ {
		trigger(t, a, offer.ID, urltracker.VerdictBroken)
		if h := actionsOf(t, a, offer.ID).Health; h.State != urltracker.StateActive || h.ConsecutiveFailures != i {
			t.Fatalf("after %d failures health = %+v, want active with %d failures", i, h, i)
		}
	}
	failing := trigger(t, a, offer.ID, urltracker.VerdictBroken)
	if h := actionsOf(t, a, offer.ID).Health; h.State != urltracker.StateHeld {
		t.Fatalf("after 3 failures health = %+v, want held", h)
	}
	pauses := waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionSucceeded, 15*time.Second)
	if p := pauses[0]; len(pauses) != 1 || !p.Success || p.StatusCode != 200 || p.CheckID != failing.ID || p.Attempt != 1 {
		t.Errorf("pause attempts = %+v", pauses)
	}
	// The outage goes on: no second pause.
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)

	site.broken.Store(false)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	if h := actionsOf(t, a, offer.ID).Health; h.State != urltracker.StateHeld || h.ConsecutiveSuccesses != 1 {
		t.Fatalf("after 1 healthy check health = %+v, want still paused", h)
	}
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	waitOutcome(t, a, offer.ID, urltracker.ActionResume, urltracker.ActionSucceeded, 15*time.Second)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	waitActionsSettled(t, a)

	want := []apiCall{
		{"POST", "/v2/campaigns/status", testAPIKey, "application/json", map[string]string{"campaignIds": "[cmp-77]", "status": "disabled"}},
		{"POST", "/v2/campaigns/status", testAPIKey, "application/json", map[string]string{"campaignIds": "[cmp-77]", "status": "active"}},
	}
	if got := api.Writes(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Trackier API calls\n got %+v\nwant %+v", got, want)
	}

	// Notices, through the implicit channel of the alert_url: the outage
	// at the threshold (2 failed checks), the hold, the recovery, the
	// resume.
	waitActionsSettled(t, a)
	var events []string
	for _, al := range recv.Alerts() {
		events = append(events, fmt.Sprint(al["event"], ":", al["action"], ":", al["outcome"]))
		text, _ := al["text"].(string)
		if !strings.Contains(text, `"shoes"`) || al["offer_id"] != float64(offer.ID) || al["offer_name"] != "shoes" ||
			al["timestamp"] == nil || al["event"] != "action" && al["outage"] == "" {
			t.Errorf("alert lacks fields: %v", al)
		}
	}
	// Notices run concurrently, so their order may vary.
	sort.Strings(events)
	if got := strings.Join(events, " "); got != "action:pause:succeeded action:resume:succeeded failing:: resolved::" {
		t.Errorf("alerts = %s", got)
	}
	for _, al := range recv.Alerts() {
		if al["event"] == "failing" && (al["verdict"] != "broken" || !strings.Contains(al["error"].(string), "500")) {
			t.Errorf("failure alert = %v", al)
		}
	}
	var channels struct {
		Channels []urltracker.Channel `json:"channels"`
	}
	a.JSON(t, "GET", "/api/channels", nil, true, 200, &channels)
	if b, _ := json.Marshal(channels); strings.Contains(string(b), "XYZ") || len(channels.Channels) != 1 {
		t.Errorf("channels keep the alert URL's secret path, or more than the implicit one: %s", b)
	}
}

func TestNoResumeOfACampaignUrltrackerDidNotPause(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t)
	a := startApp(t, actionEnv(t))
	// Pausing is off, so whoever paused this campaign, it was not urltracker.
	offer := createOffer(t, a, boundOffer("human-paused", site, api, map[string]any{
		"pause_after_failures": 0, "resume_after_successes": 1,
	}))
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	site.broken.Store(false)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	waitActionsSettled(t, a)
	if calls := api.Calls(); len(calls) != 0 {
		t.Errorf("Trackier API got %+v, want no call", calls)
	}
	if ans := actionsOf(t, a, offer.ID); len(ans.Actions) != 0 || ans.Health.State != urltracker.StateActive {
		t.Errorf("actions = %+v", ans)
	}
}

func TestBlockedChecksDoNotCount(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t)
	a := startApp(t, actionEnv(t))
	offer := createOffer(t, a, boundOffer("guarded", site, api, map[string]any{"pause_after_failures": 1}))
	// 10.0.0.0/8 is not in the test's allow list: the guard refuses it
	// before any packet leaves.
	a.JSON(t, "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"url": "http://10.255.255.1/offer"}, true, 200, nil)
	trigger(t, a, offer.ID, urltracker.VerdictBlocked)
	trigger(t, a, offer.ID, urltracker.VerdictBlocked)
	waitActionsSettled(t, a)
	if h := actionsOf(t, a, offer.ID).Health; h.ConsecutiveFailures != 0 || h.State != urltracker.StateActive {
		t.Errorf("health after blocked checks = %+v, want untouched", h)
	}
	if calls := api.Calls(); len(calls) != 0 {
		t.Errorf("Trackier API got %+v after blocked checks", calls)
	}
}

func TestRetriesOn503AndNeverOn400(t *testing.T) {
	site := newOfferSite(t)
	// The read before the write answers 200; the write 503, then 200.
	flaky, rejecting := newFakeTrackier(t, 200, 503, 200), newFakeTrackier(t, 400)
	a := startApp(t, actionEnv(t))
	retried := createOffer(t, a, boundOffer("flaky-api", site, flaky, map[string]any{"pause_after_failures": 1, "resume_after_successes": 1}))
	refused := createOffer(t, a, boundOffer("refusing-api", site, rejecting, map[string]any{"pause_after_failures": 1, "resume_after_successes": 1}))
	site.broken.Store(true)
	trigger(t, a, retried.ID, urltracker.VerdictBroken)
	trigger(t, a, refused.ID, urltracker.VerdictBroken)

	got := waitOutcome(t, a, retried.ID, urltracker.ActionPause, urltracker.ActionSucceeded, 30*time.Second)
	if len(got) != 2 || got[0].Outcome != urltracker.ActionRetrying || got[0].StatusCode != 503 || got[0].NextAttemptAt == nil ||
		got[1].Attempt != 2 || got[1].StatusCode != 200 || got[1].JobID != got[0].JobID {
		t.Fatalf("attempts = %+v, want 503 retrying then 200 succeeded", got)
	}
	gap := got[1].At.Sub(got[0].At)
	t.Logf("first retry came %s after the failed attempt", gap.Round(time.Millisecond))
	if gap > 15*time.Second {
		t.Errorf("first retry came %s after the failure, want within 15s", gap)
	}
	var req struct{ Method, URL, Body string }
	if err := json.Unmarshal(got[0].Request, &req); err != nil || req.Method != "POST" ||
		req.URL != flaky.URL+"/v2/campaigns/status" || req.Body != `{"campaignIds":["cmp-77"],"status":"disabled"}` || got[1].VerifiedAfterMS == nil {
		t.Errorf("logged request = %s (%v)", got[0].Request, err)
	}

	waitActionsSettled(t, a)
	rej := attempts(t, a, refused.ID, urltracker.ActionPause)
	if len(rej) != 1 || rej[0].Outcome != urltracker.ActionFailed || rej[0].StatusCode != 400 || rej[0].Success {
		t.Errorf("400 attempts = %+v, want one failed attempt", rej)
	}
	if n := len(rejecting.Calls()); n != 1 {
		t.Errorf("the refusing API got %d calls, want 1 (no retry on 400)", n)
	}
	// The pause did not happen, so a healthy check must not resume.
	if h := actionsOf(t, a, refused.ID).Health; h.State != urltracker.StateActive {
		t.Errorf("health after a refused pause = %+v, want active", h)
	}
	site.broken.Store(false)
	trigger(t, a, refused.ID, urltracker.VerdictHealthy)
	waitActionsSettled(t, a)
	if n := len(rejecting.Calls()); n != 1 {
		t.Errorf("refusing API got %d calls; a campaign urltracker failed to pause was resumed", n)
	}
}

func TestHungAPIAttemptsEndAtTheDeadlineAndTheBreakerOpens(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t)
	api.hang.Store(true)
	env := actionEnv(t)
	env["URLTRACKER_API_TIMEOUT"] = "300ms"
	a := startApp(t, env)
	site.broken.Store(true)
	var ids []int64
	for i := range 6 {
		o := createOffer(t, a, boundOffer(fmt.Sprint("hung-", i), site, api, map[string]any{"pause_after_failures": 1}))
		ids = append(ids, o.ID)
		trigger(t, a, o.ID, urltracker.VerdictBroken)
	}
	testutil.Eventually(t, 45*time.Second, "an attempt refused by the open breaker", func() bool {
		for _, id := range ids {
			for _, at := range attempts(t, a, id, urltracker.ActionPause) {
				if strings.Contains(at.Error, "circuit breaker open") {
					return true
				}
			}
		}
		return false
	})
	// Stopping lets in-flight attempts end and be logged, so that every
	// call the API saw can be matched with a logged attempt.
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	db := openStore(t, a)
	timeouts, refused := 0, 0
	for _, id := range ids {
		logged, err := db.Actions(context.Background(), id, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, at := range logged {
			switch {
			case strings.Contains(at.Error, "did not answer within 300ms"):
				timeouts++
				t.Logf("hung attempt ended after %d ms (deadline 300ms)", at.DurationMS)
				if at.DurationMS > 5000 || at.Outcome != urltracker.ActionRetrying {
					t.Errorf("hung attempt %+v, want retrying, ended near the 300ms deadline", at)
				}
			case strings.Contains(at.Error, "circuit breaker open"):
				refused++
				t.Logf("attempt refused by the open breaker took %d ms", at.DurationMS)
				if at.DurationMS > 100 || at.StatusCode != 0 || at.Outcome != urltracker.ActionRetrying {
					t.Errorf("refused attempt %+v, want an immediate retrying failure", at)
				}
			default:
				t.Errorf("unexpected attempt %+v", at)
			}
		}
	}
	if timeouts < trackierBreakerThreshold || refused < 1 {
		t.Errorf("%d timed-out and %d refused attempts, want at least %d then at least 1", timeouts, refused, trackierBreakerThreshold)
	}
	// A refused attempt sends nothing: every call the API saw is a logged
	// timeout.
	if n := len(api.Calls()); n != timeouts {
		t.Errorf("hung API got %d calls for %d timed-out attempts", n, timeouts)
	}
}

func TestKillSwitchOffSendsNothingAndSuppressesDueActions(t *testing.T) {
	site, api, recv := newOfferSite(t), newFakeTrackier(t, 503), newAlertReceiver(t)
	a := startApp(t, actionEnv(t))
	body := boundOffer("emergency", site, api, map[string]any{
		"pause_after_failures": 1, "resume_after_successes": 1, "alert_url": recv.URL + "/hook",
	})
	body["alert"] = map[string]any{"failure_threshold": 1}
	offer := createOffer(t, a, body)
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionRetrying, 15*time.Second)
	waitDelivery(t, a, offer.ID, urltracker.NoticeFailing, urltracker.DeliverySucceeded)

	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=false", nil, true, 200, nil)
	apiBefore, alertsBefore := len(api.Calls()), len(recv.Alerts())
	api.setScript(200)

	// The pause's retry comes due while the switch is off: dropped.
	got := waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionSuppressed, 30*time.Second)
	if last := got[len(got)-1]; last.Success || last.StatusCode != 0 {
		t.Errorf("suppressed attempt = %+v", last)
	}
	if status, body := a.Do(t, "POST", fmt.Sprintf("/api/offers/%d/trackier-test", offer.ID), nil, true); status != http.StatusForbidden {
		t.Errorf("connection test while off: %d %s, want 403", status, body)
	}
	waitActionsSettled(t, a)

	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=true", nil, true, 200, nil)
	// Nothing is sent later, and a recovery can no longer "resume" a pause
	// that never happened.
	site.broken.Store(false)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	waitDelivery(t, a, offer.ID, urltracker.NoticeResolved, urltracker.DeliverySucceeded)
	waitActionsSettled(t, a)
	if n := len(api.Calls()); n != apiBefore {
		t.Errorf("Trackier API got %d calls after the kill switch went off, want none", n-apiBefore)
	}
	alerts := recv.Alerts()
	if len(alerts) != alertsBefore+1 || alerts[len(alerts)-1]["event"] != "resolved" || alerts[len(alerts)-1]["verdict"] != "healthy" {
		t.Errorf("alerts after the emergency = %v, want only the recovery", alerts[alertsBefore:])
	}
	if h := actionsOf(t, a, offer.ID).Health; h.State != urltracker.StateActive {
		t.Errorf("health = %+v, want active (the pause was never sent)", h)
	}
}

func TestRetryHappensAfterRestart(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t, 503)
	env := actionEnv(t)
	a := startApp(t, env)
	offer := createOffer(t, a, boundOffer("durable", site, api, map[string]any{"pause_after_failures": 1}))
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionRetrying, 15*time.Second)
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	api.setScript(200)

	a = startApp(t, env)
	got := waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionSucceeded, 30*time.Second)
	if len(got) != 2 || got[0].JobID != got[1].JobID || got[1].Attempt != 2 {
		t.Errorf("attempts across the restart = %+v", got)
	}
	if calls := api.Writes(); len(calls) != 1 || calls[0].Body["status"] != "disabled" {
		t.Errorf("API writes = %+v, want the retried pause (the failed attempt's read was refused)", calls)
	}
}

func TestAPIKeyIsWriteOnlyAndNeverLeaks(t *testing.T) {
	site, api, recv := newOfferSite(t), newFakeTrackier(t, 401), newAlertReceiver(t)
	a := startApp(t, actionEnv(t))
	offer := createOffer(t, a, boundOffer("secret", site, api, map[string]any{"pause_after_failures": 1, "alert_url": recv.URL}))
	if !offer.Trackier.APIKeySet {
		t.Error("api_key_set is false after storing a key")
	}
	id := offer.ID
	// PATCH without the key keeps it.
	a.JSON(t, "PATCH", fmt.Sprintf("/api/offers/%d", id), map[string]any{"trackier": map[string]any{"campaign_id": "cmp-77"}}, true, 200, nil)

	var answers []string
	record := func(method, path string, wantStatus int) {
		status, body := a.Do(t, method, path, nil, true)
		if status != wantStatus {
			t.Errorf("%s %s: %d %s", method, path, status, body)
		}
		answers = append(answers, string(body))
	}
	var test map[string]any
	a.JSON(t, "POST", fmt.Sprintf("/api/offers/%d/trackier-test", id), nil, true, 200, &test)
	if test["key_valid"] != false || !strings.Contains(fmt.Sprint(test["advice"]), "api_key") {
		t.Errorf("connection test with a refused key = %v", test)
	}
	b, _ := json.Marshal(test)
	answers = append(answers, string(b))

	site.broken.Store(true)
	trigger(t, a, id, urltracker.VerdictBroken)
	waitOutcome(t, a, id, urltracker.ActionPause, urltracker.ActionFailed, 15*time.Second)
	waitActionsSettled(t, a)
	record("GET", fmt.Sprintf("/api/offers/%d", id), 200)
	record("GET", "/api/offers", 200)
	record("GET", "/api/trackier-status", 200)
	record("GET", fmt.Sprintf("/api/offers/%d/actions", id), 200)
	record("GET", fmt.Sprintf("/api/offers/%d/checks", id), 200)
	for _, body := range answers {
		if strings.Contains(body, testAPIKey) {
			t.Errorf("an API answer holds the key: %s", body)
		}
	}
	var got offerAnswer
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d", id), nil, true, 200, &got)
	if !got.Trackier.APIKeySet || got.Trackier.CampaignID != "cmp-77" {
		t.Errorf("trackier = %+v, want the key kept after PATCH", got.Trackier)
	}
	for _, al := range recv.Alerts() {
		if b, _ := json.Marshal(al); strings.Contains(string(b), testAPIKey) {
			t.Errorf("an alert holds the key: %s", b)
		}
	}
	// The API did get the key: it was sent, only never shown or stored.
	if calls := api.Calls(); len(calls) < 2 || calls[len(calls)-1].APIKey != testAPIKey {
		t.Errorf("API calls = %+v", calls)
	}

	db := openStore(t, a)
	for _, q := range []string{`SELECT request || error FROM actions`, `SELECT CAST(args AS TEXT) || CAST(errors AS TEXT) FROM river_job`} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			rows.Scan(&s)
			if strings.Contains(s, testAPIKey) {
				t.Errorf("%s: a stored row holds the key: %s", q, s)
			}
		}
		rows.Close()
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(a.Logs.String(), testAPIKey) {
		t.Error("the logs hold the API key")
	}
}

func TestPauseStillRetryingWhenTheOfferRecoversIsNotSent(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t, 503, 200)
	a := startApp(t, actionEnv(t))
	offer := createOffer(t, a, boundOffer("flapping", site, api, map[string]any{"pause_after_failures": 1, "resume_after_successes": 1}))
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionRetrying, 15*time.Second)
	site.broken.Store(false)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)

	pauses := waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionFailed, 30*time.Second)
	if last := pauses[len(pauses)-1]; !strings.Contains(last.Error, "superseded") || last.StatusCode != 0 {
		t.Errorf("stale pause attempt = %+v", last)
	}
	waitActionsSettled(t, a)
	// The late pause would leave a healthy offer's campaign held. The
	// resume finds the campaign active, never held, and leaves it.
	if w := api.Writes(); len(w) != 0 {
		t.Errorf("API writes = %+v, want none: no late pause", w)
	}
	resumes := attempts(t, a, offer.ID, urltracker.ActionResume)
	if len(resumes) != 1 || resumes[0].Outcome != urltracker.ActionSkipped {
		t.Errorf("resume attempts = %+v, want one skipped", resumes)
	}
}

// holdRetrying binds an offer to campaign cmp-77 at api, breaks its link
// and waits until the hold failed once (api's script answers 503) and waits
// for its retry.
func holdRetrying(t *testing.T, a *app, site *offerSite, api *fakeTrackier) offerAnswer {
	t.Helper()
	offer := createOffer(t, a, boundOffer("failing", site, api, map[string]any{"pause_after_failures": 1}))
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionRetrying, 15*time.Second)
	return offer
}

// The scenario of issue 12: a destination change for campaign A retries
// after a 503, the offer is deleted, and a new offer is bound to campaign B.
// The retry must not overwrite campaign B's URL: the new offer gets a new id
// and the deleted offer's jobs are cancelled.
func TestDeletedOffersPendingActionNeverReachesAnotherCampaign(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t, 503, 200)
	a := startApp(t, actionEnv(t))
	deleted := holdRetrying(t, a, site, api)

	a.JSON(t, "DELETE", fmt.Sprintf("/api/offers/%d", deleted.ID), nil, true, http.StatusOK, nil)
	next := boundOffer("campaign-b", site, api, nil)
	next["trackier"].(map[string]any)["campaign_id"] = "cmp-B"
	created := createOffer(t, a, next)
	if created.ID == deleted.ID {
		t.Errorf("the new offer got id %d, the deleted offer's id", created.ID)
	}
	waitActionsSettled(t, a)

	calls := api.Calls()
	if len(calls) != 1 || calls[0].Path != "/v2/campaigns/cmp-77" {
		t.Errorf("Trackier API calls = %+v, want only the first, failed attempt on campaign A", calls)
	}
	var states []string
	rows, err := openStore(t, a).SQL().Query(`SELECT state FROM river_job WHERE kind = 'offer_action'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		rows.Scan(&s)
		states = append(states, s)
	}
	if fmt.Sprint(states) != "[cancelled]" {
		t.Errorf("action jobs after the delete: %v, want the pending retry cancelled", states)
	}
}

// A campaign re-bound while an action for the old one waits: the action is
// not sent to the new campaign, and the log says why.
func TestActionDecidedForOneCampaignIsNotSentToAnother(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t, 503, 200)
	a := startApp(t, actionEnv(t))
	offer := holdRetrying(t, a, site, api)

	a.JSON(t, "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"trackier": map[string]any{"campaign_id": "cmp-B"}}, true, http.StatusOK, nil)
	got := waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionFailed, 30*time.Second)
	if last := got[len(got)-1]; !strings.Contains(last.Error, `campaign changed from "cmp-77" to "cmp-B"`) || last.StatusCode != 0 {
		t.Errorf("attempt after the re-binding = %+v, want not sent, naming both campaigns", last)
	}
	waitActionsSettled(t, a)
	if calls := api.Calls(); len(calls) != 1 || calls[0].Path != "/v2/campaigns/cmp-77" {
		t.Errorf("Trackier API calls = %+v, want only the first, failed attempt on campaign A", calls)
	}
}
