package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/trackier"
)

func TestImportPageCreatesOffersFromTrackierOnce(t *testing.T) {
	e := newEnv(t)
	f := trackierfake.New(t)
	f.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes DE", URL: "https://adv.example/t?click={click_id}&s={source}"})
	f.AddCampaign(trackier.Campaign{ID: "102", Name: "Old", Status: trackier.StatusDeleted, URL: "https://adv.example/old"})
	b := e.browser()
	b.login()
	mustContain(t, "offers page", b.get("/offers").Body, `href="/trackier/import"`)
	form := b.get("/trackier/import")
	mustContain(t, "import form", form.Body, `name="api_key" type="password"`, `value="https://api.trackier.com"`, "Settings → API", `value="observe" checked`)

	if p := b.post("/trackier/import", url.Values{"api_base_url": {f.URL}, "api_key": {f.Key}}, ""); p.Status != http.StatusForbidden {
		t.Errorf("import without CSRF token: status %d", p.Status)
	}
	values := url.Values{"api_base_url": {f.URL}, "api_key": {f.Key}, "campaign_ids": {""}, "mode": {"observe"}}
	p := b.post("/trackier/import", values, "/trackier/import")
	if p.Status != http.StatusOK {
		t.Fatalf("import: status %d\n%s", p.Status, p.Body)
	}
	mustContain(t, "result", p.Body, "Created 1 offer<", "Shoes DE (Trackier 101)",
		"https://adv.example/t?click=urltracker-check&amp;s=urltracker-test", "http://push.example/api/trackier-webhook?token=",
		"Skipped 1 campaign<", "the campaign is deleted")
	mustNotContain(t, "result", p.Body, f.Key)
	if n := offerCount(t, e.DB); n != 1 {
		t.Fatalf("%d offers after import, want 1", n)
	}

	offers, err := e.DB.Offers(context.Background(), 10)
	if err != nil || len(offers) != 1 || offers[0].Policy.Mode != urltracker.ModeObserve {
		t.Errorf("imported offers %+v, %v: want one, in observe mode", offers, err)
	}

	f.AddCampaign(trackier.Campaign{ID: "103", Name: "Hats", URL: "https://adv.example/hats"})
	values.Set("mode", "act")
	p = b.post("/trackier/import", values, "/trackier/import")
	mustContain(t, "second import", p.Body, "Created 1 offer<", "Hats (Trackier 103)", "already imported as offer")
	if offers, _ := e.DB.Offers(context.Background(), 10); len(offers) != 2 || offers[0].Policy.Mode != urltracker.ModeAct {
		t.Errorf("the offer imported in act mode: %+v", offers)
	}
	values.Set("mode", "observe")
	p = b.post("/trackier/import", values, "/trackier/import")
	mustContain(t, "third import", p.Body, "Created 0 offers", "already imported as offer")
	if n := offerCount(t, e.DB); n != 2 {
		t.Errorf("%d offers after importing three times, want 2", n)
	}

	values.Set("api_base_url", f.URL+"/v2")
	p = b.post("/trackier/import", values, "/trackier/import")
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "must not end in /v2") || strings.Contains(p.Body, f.Key) {
		t.Errorf("a /v2 base URL: status %d, want 422 saying why, without the key", p.Status)
	}

	values.Set("api_base_url", f.URL)
	values.Set("api_key", "wrong")
	p = b.post("/trackier/import", values, "/trackier/import")
	if p.Status != http.StatusUnprocessableEntity || !strings.Contains(p.Body, "code 13") || !strings.Contains(p.Body, "the API key is not valid") {
		t.Errorf("a refused key: status %d\n%s", p.Status, p.Body)
	}

	f.SetIPWhitelisted(false)
	values.Set("api_key", f.Key)
	p = b.post("/trackier/import", values, "/trackier/import")
	if p.Status != http.StatusBadGateway || !strings.Contains(p.Body, "code 41") || !strings.Contains(p.Body, "refuses this caller&#39;s IP address") {
		t.Errorf("IP not whitelisted: status %d\n%s", p.Status, p.Body)
	}
}
