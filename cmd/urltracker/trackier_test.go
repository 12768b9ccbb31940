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
