package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// TestPushFromAnotherCampaignSchedulesNothing sends pushes whose camp_id is
// and is not the offer's bound campaign, on both databases: a push from
// another campaign is stored as campaign_mismatch, schedules no check, and
// the offer page warns about it.
func TestPushFromAnotherCampaignSchedulesNothing(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			env := appEnv(t.TempDir())
			if backend == "postgres" {
				env["URLTRACKER_DATABASE_URL"] = testutil.DatabaseURL(t, backend)
			}
			a := startApp(t, env)
			site := newOfferSite(t)
			var offer struct {
				ID           int64  `json:"id"`
				WebhookToken string `json:"webhook_token"`
				WebhookURL   string `json:"webhook_url"`
			}
			a.JSON(t, http.MethodPost, "/api/offers", map[string]any{"name": "bound", "url": site.URL(), "check_every_seconds": 0,
				"trackier": map[string]any{"campaign_id": "101", "api_key": testAPIKey}}, true, http.StatusCreated, &offer)
			for _, macro := range []string{"camp_id={camp_id}", "source={source}", "country_id={country_id}", "click_time={click_time}", "campaign_id={campaign_id}"} {
				if !strings.Contains(offer.WebhookURL, "&"+macro) {
					t.Errorf("push URL %s lacks %s", offer.WebhookURL, macro)
				}
			}
			push := func(click, campID string) string {
				t.Helper()
				var answer struct {
					Outcome string `json:"outcome"`
				}
				q := url.Values{"token": {offer.WebhookToken}, "click_id": {click}, "camp_id": {campID}}
				a.JSON(t, http.MethodGet, "/api/trackier-webhook?"+q.Encode(), nil, false, http.StatusOK, &answer)
				return answer.Outcome
			}
			if got := push("c1", "202"); got != "campaign_mismatch" {
				t.Errorf("push from campaign 202: outcome %q, want campaign_mismatch", got)
			}
			time.Sleep(1500 * time.Millisecond) // a check scheduled by mistake would have run by now
			var checks struct {
				Checks []map[string]any `json:"checks"`
			}
			a.JSON(t, http.MethodGet, fmt.Sprintf("/api/offers/%d/checks", offer.ID), nil, true, http.StatusOK, &checks)
			if len(checks.Checks) != 0 || site.hits.Load() != 0 {
				t.Errorf("a push from another campaign led to %d checks", len(checks.Checks))
			}
			page := signIn(t, a)
			_, body := page.get(fmt.Sprintf("/offers/%d", offer.ID))
			if !strings.Contains(body, "1 recent push came from campaign 202, not from the bound campaign 101") {
				t.Errorf("the offer page does not warn about the push from campaign 202:\n%s", body)
			}
			if got := push("c2", "101"); got != "check_scheduled" {
				t.Errorf("push from the bound campaign: outcome %q, want check_scheduled", got)
			}
		})
	}
}
