package dashboard_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/dashboard"
	"github.com/urltracker/urltracker/store"
)

// The alert URL's path is its credential (Slack's is): the offer page shows
// its host only.
func TestOfferPageShowsOnlyTheAlertURLsHost(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	path := b.createOffer(url.Values{"name": {"Alerts"}, "url": {"https://track.example/c"},
		"policy.alert_url": {"https://hooks.slack.example/services/T000/B000/XyZsecretPart"}})
	body := b.get(path).Body
	mustContain(t, "offer page", body, "alerts <code>https://hooks.slack.example/…</code>")
	mustNotContain(t, "offer page", body, "XyZsecretPart", "/services/T000")
}

// An offer bound to no campaign has no campaign to call held or not.
func TestNoCampaignBadgeWithoutACampaign(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	unbound := newOffer(t, e.DB, "Unbound", "https://track.example/u")
	body := b.get(fmt.Sprintf("/offers/%d", unbound.ID)).Body
	mustContain(t, "unbound offer page", body, "no Trackier campaign bound")
	mustNotContain(t, "unbound offer page", body, `campaign <span class="badge ok">not held</span>`)

	bound := b.createOffer(url.Values{"name": {"Bound"}, "url": {"https://track.example/b"},
		"trackier.campaign_id": {"cmp-1"}, "trackier.api_key": {"key-0123456789"}})
	mustContain(t, "bound offer page", b.get(bound).Body, `campaign <span class="badge ok">not held</span>`)
}

// While automation is off, every page says so in red, in its header.
func TestAutomationOffBannerOnEveryPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	rec := newOffer(t, e.DB, "Shoes", "https://track.example/s")
	pages := []string{"/", "/offers", fmt.Sprintf("/offers/%d", rec.ID), fmt.Sprintf("/offers/%d/edit", rec.ID), "/offers/new", "/trace"}
	for _, p := range pages {
		mustNotContain(t, p+" with automation on", b.get(p).Body, `id="automation-off"`)
	}
	if _, err := e.DB.SetKillSwitch(context.Background(), false, store.Actor{Instance: "test"}, ""); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		body := b.get(p).Body
		header, _, _ := strings.Cut(body, "</header>")
		mustContain(t, p+" header with automation off", header, `class="alarm" role="alert" id="automation-off"`, "Automation is off")
	}
}

// Times read as "3 min ago", with the absolute time on hover.
func TestTimesAreRelativeWithTheAbsoluteTimeOnHover(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	rec := newOffer(t, e.DB, "Shoes", "https://track.example/s")
	started := e.Clock.Now().Add(-3*time.Minute - 10*time.Second).UTC().Truncate(time.Second)
	c := urltracker.Check{OfferID: rec.ID, StartedAt: started, Verdict: urltracker.VerdictHealthy, Chain: []urltracker.Hop{}}
	if err := e.DB.SaveCheck(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`<time datetime="%s" title="%s">3 min ago</time>`, started.Format(time.RFC3339), started.Format("2006-01-02 15:04:05 UTC"))
	mustContain(t, "overview", b.get("/").Body, want)
	mustContain(t, "offer page", b.get(fmt.Sprintf("/offers/%d", rec.ID)).Body, want)
	mustContain(t, "offers live part", b.get("/live/offers").Body, want)
}

// Counts agree with their nouns, a policy reads as a sentence, and a
// field's error and its hint are two paragraphs.
func TestWording(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	path := b.createOffer(url.Values{"name": {"Words"}, "url": {"https://track.example/w"},
		"trackier.campaign_id": {"cmp-1"}, "trackier.api_key": {"key-0123456789"}, "policy.pause_after_failures": {"1"}})
	var id int64
	fmt.Sscanf(path, "/offers/%d", &id)
	c := urltracker.Check{OfferID: id, StartedAt: e.Clock.Now(), Verdict: urltracker.VerdictBroken,
		Chain: []urltracker.Hop{{URL: "https://track.example/w", Status: 500, RedirectType: urltracker.RedirectFinal}}}
	if err := e.DB.SaveCheck(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	body := b.get(path).Body
	mustContain(t, "offer page", body, "1 hop ·", "0 ms, 1 hop<", "holds the campaign (disabled) after 1 failed check in a row, never resumes it",
		"in a row: 0 failed checks, 0 healthy checks")
	mustNotContain(t, "offer page", body, "1 hops", "1 failed checks", "(0 = never)")

	form := b.post("/offers/new", url.Values{"update_interval_seconds": {"60"}}, "/offers/new").Body
	mustContain(t, "form", form, `<p class="field-error" id="f-name-err"><strong>required</strong></p>`,
		`aria-describedby="f-url-err f-url-msg"`, `<p class="hint" id="f-url-msg">The offer link`)
}

// A live refresh the browser cut short (by leaving the page) is logged at
// DEBUG, not as a storage ERROR.
func TestCancelledPageIsNotLoggedAsAnError(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	dashboard.Register(mux, dashboard.Deps{DB: e.DB, Logger: logger, AdminToken: adminToken, Instance: "dash-test", Now: e.Clock.Now,
		TrackierTest: http.NotFoundHandler()})
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(gone, http.MethodGet, "/live/overview", nil)
	u, _ := url.Parse(e.URL)
	for _, c := range b.hc.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	mux.ServeHTTP(httptest.NewRecorder(), req)
	if !strings.Contains(logs.String(), `"level":"DEBUG","msg":"dashboard: storage"`) || strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("logs of a cancelled live refresh:\n%s\nwant a DEBUG line and no ERROR", logs.String())
	}
}

// Every page names its icon, and /favicon.ico answers too: no 404 and no
// console error on every page.
func TestFavicon(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	mustContain(t, "login page", b.get("/login").Body, `<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">`)
	for _, path := range []string{"/assets/favicon.svg", "/favicon.ico"} {
		p := b.get(path)
		if p.Status != http.StatusOK || p.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(p.Body, "<svg") {
			t.Errorf("GET %s: %d %s", path, p.Status, p.Header.Get("Content-Type"))
		}
	}
}
