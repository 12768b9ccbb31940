package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

// dashboardClient is a signed-in browser without JavaScript: cookies, forms.
type dashboardClient struct {
	t    *testing.T
	base string
	hc   *http.Client
}

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func signIn(t *testing.T, a *app) *dashboardClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &dashboardClient{t: t, base: a.BaseURL, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	if status, body := c.post("/login", url.Values{"token": {a.AdminToken}, "csrf": {c.csrf("/login")}}); status != http.StatusOK || !strings.Contains(body, "Overview") {
		t.Fatalf("sign in: status %d", status)
	}
	return c
}

func (c *dashboardClient) get(path string) (int, string) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (c *dashboardClient) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (c *dashboardClient) csrf(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := csrfFieldRE.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF token on %s", path)
	}
	return m[1]
}

// TestDashboardShowsActionsAndTestsTheTrackierConnection runs a real pause
// through the Trackier API and the real connection test, as an admin sees
// them in the dashboard.
func TestDashboardShowsActionsAndTestsTheTrackierConnection(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t)
	a := startApp(t, actionEnv(t))
	offer := createOffer(t, a, boundOffer("shoes", site, api, map[string]any{"pause_after_failures": 1}))
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionSucceeded, 15*time.Second)

	c := signIn(t, a)
	page := fmt.Sprintf("/offers/%d", offer.ID)
	_, body := c.get(page)
	for _, want := range []string{`<tr class="action">`, "pause", `class="badge ok">succeeded<`, `<td data-label="HTTP">200</td>`, "held by urltracker (disabled)", "Test connection"} {
		if !strings.Contains(body, want) {
			t.Errorf("offer page lacks %q", want)
		}
	}
	if strings.Contains(body, testAPIKey) {
		t.Error("offer page shows the API key")
	}
	_, body = c.get("/")
	if !strings.Contains(body, `<tr class="action">`) || !strings.Contains(body, `class="badge ok">succeeded<`) {
		t.Error("overview lacks the recent pause")
	}

	calls := len(api.Calls())
	status, _ := c.post(page+"/trackier-test", url.Values{})
	if status != http.StatusForbidden || len(api.Calls()) != calls {
		t.Fatalf("test connection without CSRF token: status %d, %d API calls made", status, len(api.Calls())-calls)
	}
	var ans struct {
		KeyValid *bool  `json:"key_valid"`
		Advice   string `json:"advice"`
	}
	status, out := c.post(page+"/trackier-test", url.Values{"csrf": {c.csrf(page)}})
	if err := json.Unmarshal([]byte(out), &ans); status != http.StatusOK || err != nil || ans.KeyValid == nil || !*ans.KeyValid || ans.Advice == "" {
		t.Fatalf("test connection: status %d, %s", status, out)
	}
	if got := api.Calls()[len(api.Calls())-1]; got.Method != http.MethodGet || got.APIKey != testAPIKey || !strings.HasSuffix(got.Path, "/cmp-77") {
		t.Errorf("the test called %+v", got)
	}
}

// TestDashboardSaysWhatObserveModeWouldDoAndApprovesAProposal: an offer in
// observe mode says what it would have done and sends nothing; an acting
// offer's destination proposal is approved with the offer page's button.
func TestDashboardSaysWhatObserveModeWouldDoAndApprovesAProposal(t *testing.T) {
	site, api := newOfferSite(t), newFakeTrackier(t)
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/offer" {
			http.Redirect(w, r, "/new-landing?seen=1", http.StatusMovedPermanently)
			return
		}
		io.WriteString(w, "<!doctype html><title>Landing</title>")
	}))
	defer moved.Close()
	a := startApp(t, actionEnv(t))
	watching := createOffer(t, a, boundOffer("watching", site, api, map[string]any{"mode": "observe", "pause_after_failures": 1}))
	site.broken.Store(true)
	trigger(t, a, watching.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, watching.ID, urltracker.ActionPause, urltracker.ActionObserved, 15*time.Second)

	c := signIn(t, a)
	_, body := c.get(fmt.Sprintf("/offers/%d", watching.ID))
	for _, want := range []string{"<strong>observes</strong>", "would have held campaign cmp-77 at", "after 1 failed check in a row (last: broken)", "would be held (disabled)"} {
		if !strings.Contains(body, want) {
			t.Errorf("observing offer's page lacks %q", want)
		}
	}
	if _, body := c.get("/offers"); !strings.Contains(body, "observes campaign cmp-77") {
		t.Error("the offers list does not say the offer observes")
	}
	if calls := api.Calls(); len(calls) != 0 {
		t.Errorf("observe mode called Trackier: %+v", calls)
	}

	moving := boundOffer("moving", site, api, map[string]any{"update_destination": true})
	moving["url"] = moved.URL + "/offer"
	offer := createOffer(t, a, moving)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	waitOutcome(t, a, offer.ID, urltracker.ActionSetDestination, urltracker.ActionAwaitingApproval, 15*time.Second)
	page := fmt.Sprintf("/offers/%d", offer.ID)
	_, body = c.get(page)
	if !strings.Contains(body, "Approve: set the campaign URL") || !strings.Contains(body, moved.URL+"/new-landing") {
		t.Fatalf("offer page lacks the proposal and its approve button")
	}
	proposal := attempts(t, a, offer.ID, urltracker.ActionSetDestination)[0]
	status, body := c.post(fmt.Sprintf("%s/actions/%d/approve", page, proposal.ID), url.Values{"csrf": {c.csrf(page)}})
	if status != http.StatusOK || !strings.Contains(body, "Approved") {
		t.Fatalf("approve: status %d", status)
	}
	waitOutcome(t, a, offer.ID, urltracker.ActionSetDestination, urltracker.ActionSucceeded, 15*time.Second)
	w := api.Writes()
	if len(w) != 1 || w[0].Body["url"] != moved.URL+"/new-landing?c={click_id}" {
		t.Errorf("writes = %+v, want the campaign URL moved with its {click_id} kept", w)
	}
	// The API approves a proposal once.
	status, out := a.Do(t, http.MethodPost, fmt.Sprintf("/api/offers/%d/actions/%d/approve", offer.ID, proposal.ID), nil, true)
	if status != http.StatusConflict || !strings.Contains(string(out), "approved already") {
		t.Errorf("second approval through the API: %d %s, want 409", status, out)
	}
}
