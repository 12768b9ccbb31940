package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/trackier"
)

// backendEnv is the environment of a test instance on backend's database.
func backendEnv(t *testing.T, backend string) map[string]string {
	env := actionEnv(t)
	env["URLTRACKER_DATABASE_URL"] = testutil.DatabaseURL(t, backend)
	return env
}

func TestConnectionTestDiagnosesTheBinding(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			site := newOfferSite(t)
			f := trackierfake.New(t)
			f.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes DE", URL: "https://adv.example/t?click={click_id}"})
			f.AddCampaign(trackier.Campaign{ID: "102", Name: "Bags FR", Status: trackier.StatusDisabled})
			a := startApp(t, backendEnv(t, backend))
			bind := func(name, key, campaign string) int64 {
				return createOffer(t, a, map[string]any{"name": name, "url": site.URL(),
					"trackier": map[string]any{"api_base_url": f.URL, "api_key": key, "campaign_id": campaign}}).ID
			}
			tests := []struct {
				name   string
				offer  int64
				setup  func()
				want   string // the answer without advice
				advice string
			}{
				{"works", bind("works", f.Key, "101"), func() {},
					`{"campaign_found":true,"campaign_status":"active","ip_whitelisted":true,"key_valid":true}`, "Connection works"},
				{"disabled campaign", bind("disabled", f.Key, "102"), func() {},
					`{"campaign_found":true,"campaign_status":"disabled","ip_whitelisted":true,"key_valid":true}`, "is disabled"},
				{"wrong key", bind("wrong key", "not-the-key", "101"), func() {},
					`{"campaign_found":null,"campaign_status":null,"ip_whitelisted":null,"key_valid":false}`, "Settings → API"},
				{"unknown campaign", bind("unknown", f.Key, "999"), func() {},
					`{"campaign_found":false,"campaign_status":null,"ip_whitelisted":true,"key_valid":true}`, "trackier.campaign_id"},
				{"IP not whitelisted", bind("ip", f.Key, "101"), func() { f.SetIPWhitelisted(false) },
					`{"campaign_found":null,"campaign_status":null,"ip_whitelisted":false,"key_valid":null}`,
					"whitelist the egress IP of every urltracker instance in Trackier"},
			}
			for _, tt := range tests {
				tt.setup()
				before := len(f.Requests())
				var ans map[string]any
				a.JSON(t, "POST", fmt.Sprintf("/api/offers/%d/trackier-test", tt.offer), nil, true, http.StatusOK, &ans)
				advice, _ := ans["advice"].(string)
				delete(ans, "advice")
				if got, _ := json.Marshal(ans); string(got) != tt.want || !strings.Contains(advice, tt.advice) {
					t.Errorf("%s: answer %s advice %q, want %s advice saying %q", tt.name, got, advice, tt.want, tt.advice)
				}
				reqs := f.Requests()[before:]
				if len(reqs) != 1 || reqs[0].Method != "GET" || !strings.HasPrefix(reqs[0].Path, "/v2/campaigns/") {
					t.Errorf("%s: Trackier saw %+v, want one campaign read", tt.name, reqs)
				}
				if strings.Contains(advice, f.Key) {
					t.Errorf("%s: the advice holds the API key", tt.name)
				}
			}
		})
	}
}

type importAnswer struct {
	Created []offerAnswer `json:"created"`
	Skipped []struct {
		CampaignID string `json:"campaign_id"`
		Reason     string `json:"reason"`
	} `json:"skipped"`
}

func TestImportFromTrackierCreatesOffersWithPushURLsOnce(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			f := trackierfake.New(t)
			f.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes DE", URL: "https://adv.example/t?click={click_id}&sub={p1}"})
			f.AddCampaign(trackier.Campaign{ID: "102", Name: "Bags FR", Status: trackier.StatusPaused, URL: "https://adv.example/bags"})
			f.AddCampaign(trackier.Campaign{ID: "103", Name: "Gone", Status: trackier.StatusExpired, URL: "https://adv.example/gone"})
			a := startApp(t, backendEnv(t, backend))
			body := map[string]any{"api_base_url": f.URL, "api_key": f.Key, "campaign_ids": nil, "mode": "observe"}

			var first importAnswer
			a.JSON(t, "POST", "/api/trackier/import", body, true, http.StatusOK, &first)
			if len(first.Created) != 2 || first.Created[0].Name != "Shoes DE (Trackier 101)" || first.Created[1].Trackier.CampaignID != "102" {
				t.Fatalf("created %+v", first.Created)
			}
			shoes := first.Created[0]
			if shoes.Policy.Mode != "observe" {
				t.Errorf("mode %q, want observe as the import asked", shoes.Policy.Mode)
			}
			if shoes.URL != "https://adv.example/t?click=urltracker-check&sub=urltracker-test" {
				t.Errorf("link to check %q", shoes.URL)
			}
			if !strings.Contains(shoes.WebhookURL, "/api/trackier-webhook?token="+shoes.WebhookToken) || shoes.WebhookToken == "" {
				t.Errorf("push URL %q", shoes.WebhookURL)
			}
			if len(first.Skipped) != 1 || first.Skipped[0].CampaignID != "103" || !strings.Contains(first.Skipped[0].Reason, "expired") {
				t.Errorf("skipped %+v", first.Skipped)
			}
			// The imported offer is a real offer: listed, bound, key write-only.
			var got offerAnswer
			a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d", shoes.ID), nil, true, http.StatusOK, &got)
			if got.Trackier.CampaignID != "101" || !got.Trackier.APIKeySet || got.Trackier.APIBaseURL != f.URL {
				t.Errorf("stored binding %+v", got.Trackier)
			}

			var second importAnswer
			a.JSON(t, "POST", "/api/trackier/import", body, true, http.StatusOK, &second)
			if len(second.Created) != 0 || len(second.Skipped) != 3 {
				t.Errorf("second import: created %d, skipped %+v", len(second.Created), second.Skipped)
			}
			var list struct{ Offers []offerAnswer }
			a.JSON(t, "GET", "/api/offers", nil, true, http.StatusOK, &list)
			if len(list.Offers) != 2 {
				t.Errorf("%d offers after importing twice, want 2", len(list.Offers))
			}
			_, raw := a.Do(t, "POST", "/api/trackier/import", body, true)
			if strings.Contains(string(raw), f.Key) {
				t.Error("the import answer holds the API key")
			}
		})
	}
}

func TestImportRefusesWhatItCannotImport(t *testing.T) {
	f := trackierfake.New(t)
	a := startApp(t, actionEnv(t))
	tests := []struct {
		name   string
		body   map[string]any
		status int
		says   string
	}{
		{"base ending in /v2", map[string]any{"api_base_url": f.URL + "/v2", "api_key": f.Key}, 400, "must not end in /v2"},
		{"no key", map[string]any{"api_base_url": f.URL}, 400, "api_key is required"},
		{"bad mode", map[string]any{"api_base_url": f.URL, "api_key": f.Key, "mode": "auto"}, 400, "observe"},
		{"ids not a list", map[string]any{"api_base_url": f.URL, "api_key": f.Key, "campaign_ids": "101"}, 400, "campaign_ids"},
		{"refused key", map[string]any{"api_base_url": f.URL, "api_key": "wrong"}, 400, "Settings → API"},
	}
	for _, tt := range tests {
		status, raw := a.Do(t, "POST", "/api/trackier/import", tt.body, true)
		var ans map[string]any
		_ = json.Unmarshal(raw, &ans)
		if status != tt.status || ans["success"] != false || !strings.Contains(fmt.Sprint(ans["error"]), tt.says) {
			t.Errorf("%s: %d %s, want %d saying %q", tt.name, status, raw, tt.status, tt.says)
		}
	}
	f.SetIPWhitelisted(false)
	if status, raw := a.Do(t, "POST", "/api/trackier/import", map[string]any{"api_base_url": f.URL, "api_key": f.Key}, true); status != http.StatusBadGateway ||
		!strings.Contains(string(raw), "whitelist the egress IP") {
		t.Errorf("IP not whitelisted: %d %s", status, raw)
	}
	a.JSON(t, "POST", "/api/trackier-emergency-toggle?enabled=false", nil, true, http.StatusOK, nil)
	before := len(f.Requests())
	if status, raw := a.Do(t, "POST", "/api/trackier/import", map[string]any{"api_base_url": f.URL, "api_key": f.Key}, true); status != http.StatusForbidden ||
		len(f.Requests()) != before {
		t.Errorf("kill switch off: %d %s, %d Trackier calls", status, raw, len(f.Requests())-before)
	}
	if status, _ := a.Do(t, "POST", "/api/trackier/import", map[string]any{"api_base_url": f.URL, "api_key": f.Key}, false); status != http.StatusUnauthorized {
		t.Errorf("without the admin token: %d", status)
	}
}

func TestOfferWithABaseURLEndingInV2IsRefused(t *testing.T) {
	a := startApp(t, actionEnv(t))
	status, raw := a.Do(t, "POST", "/api/offers", map[string]any{"name": "v2", "url": "https://offer.example/",
		"trackier": map[string]any{"api_base_url": "https://api.trackier.com/v2", "api_key": "k", "campaign_id": "101"}}, true)
	var ans struct {
		Fields map[string]string `json:"fields"`
	}
	_ = json.Unmarshal(raw, &ans)
	if status != http.StatusBadRequest || !strings.Contains(ans.Fields["trackier.api_base_url"], "type https://api.trackier.com") {
		t.Errorf("create with a /v2 base URL: %d %s, want 400 saying what to type", status, raw)
	}
}
