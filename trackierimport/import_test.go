package trackierimport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/trackier"
	"github.com/urltracker/urltracker/trackierimport"
)

func forEachBackend(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, testutil.DatabaseURL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			fn(t, db)
		})
	}
}

func account(t *testing.T) *trackierfake.Server {
	f := trackierfake.New(t)
	f.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes DE", Status: trackier.StatusActive,
		URL: "https://adv.example/t?aff=7&click={click_id}&sub={p1}&src={source}"})
	f.AddCampaign(trackier.Campaign{ID: "102", Name: "Bags FR", Status: trackier.StatusDisabled, URL: "https://adv.example/bags"})
	f.AddCampaign(trackier.Campaign{ID: "103", Name: "Old", Status: trackier.StatusDeleted, URL: "https://adv.example/old"})
	f.AddCampaign(trackier.Campaign{ID: "104", Name: "No link", Status: trackier.StatusActive})
	return f
}

func names(recs []store.OfferRecord) string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Name)
	}
	return strings.Join(out, "; ")
}

func skipped(s []trackierimport.Skipped) map[string]string {
	out := map[string]string{}
	for _, x := range s {
		out[x.CampaignID] = x.Reason
	}
	return out
}

func TestImportCreatesOneOfferPerCampaignOnlyOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		f := account(t)
		im := trackierimport.Importer{DB: db, Trackier: trackier.New(5 * time.Second)}
		ctx := context.Background()
		res, err := im.Import(ctx, trackierimport.Request{APIBaseURL: f.URL + "/", APIKey: f.Key, Mode: "observe"})
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Created); got != "Shoes DE (Trackier 101); Bags FR (Trackier 102)" {
			t.Fatalf("created %q", got)
		}
		shoes := res.Created[0]
		if shoes.URL != "https://adv.example/t?aff=7&click=urltracker-check&sub=urltracker-test&src=urltracker-test" {
			t.Errorf("link to check %q: every macro replaced by a labelled test value", shoes.URL)
		}
		if shoes.Trackier.APIBaseURL != f.URL || shoes.Trackier.CampaignID != "101" || !shoes.Trackier.APIKeySet || !shoes.Enabled {
			t.Errorf("binding %+v enabled %v", shoes.Trackier, shoes.Enabled)
		}
		if shoes.Policy.Mode != urltracker.ModeObserve {
			t.Errorf("mode %q, want observe as the import asked", shoes.Policy.Mode)
		}
		if shoes.WebhookToken == "" {
			t.Error("an imported offer needs a push URL token")
		}
		stored, err := db.Offer(ctx, shoes.ID)
		if err != nil || stored.Trackier.APIKey != f.Key {
			t.Errorf("stored offer %+v, %v: the key must be stored to act", stored.Trackier, err)
		}
		sk := skipped(res.Skipped)
		if len(sk) != 2 || !strings.Contains(sk["103"], "deleted") || !strings.Contains(sk["104"], "no URL") {
			t.Errorf("skipped %v", res.Skipped)
		}

		again, err := im.Import(ctx, trackierimport.Request{APIBaseURL: f.URL, APIKey: f.Key, Mode: "observe"})
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Created) != 0 {
			t.Fatalf("a second import created %q", names(again.Created))
		}
		sk = skipped(again.Skipped)
		if sk["101"] != fmt.Sprintf("already imported as offer %d", shoes.ID) || !strings.HasPrefix(sk["102"], "already imported") {
			t.Errorf("second import skipped %v", again.Skipped)
		}
		all, _ := db.Offers(ctx, 100)
		if len(all) != 2 {
			t.Errorf("%d offers after importing twice, want 2", len(all))
		}
	})
}

func TestImportNamedCampaigns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *store.DB) {
		f := account(t)
		im := trackierimport.Importer{DB: db, Trackier: trackier.New(5 * time.Second)}
		var req trackierimport.Request
		if err := json.Unmarshal([]byte(`{"api_base_url":"`+f.URL+`","api_key":"`+f.Key+`","campaign_ids":[102,"999",102],"mode":"act"}`), &req); err != nil {
			t.Fatal(err)
		}
		res, err := im.Import(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(res.Created); got != "Bags FR (Trackier 102)" {
			t.Errorf("created %q", got)
		}
		if p := res.Created[0].Policy; p.Mode != urltracker.ModeAct || p.PauseAfterFailures != 2 || res.Created[0].CheckEverySeconds != urltracker.DefaultCheckEverySeconds {
			t.Errorf("imported in act mode: %+v, checked every %d s", p, res.Created[0].CheckEverySeconds)
		}
		if sk := skipped(res.Skipped); len(sk) != 1 || !strings.Contains(sk["999"], "no campaign 999") {
			t.Errorf("skipped %v", res.Skipped)
		}
		for _, r := range f.Requests() {
			if r.Path == "/v2/campaigns" {
				t.Error("a few named campaigns are read one by one, not by listing the account")
			}
		}
	})
}

func TestImportOfManyNamedCampaignsListsTheAccountPageByPage(t *testing.T) {
	db := openSQLite(t)
	f := trackierfake.New(t)
	var ids []string
	for i := 1; i <= 150; i++ {
		f.AddCampaign(trackier.Campaign{ID: fmt.Sprint(i), Name: fmt.Sprint("c", i), URL: fmt.Sprintf("https://adv.example/%d?c={click_id}", i)})
		if i%5 == 0 {
			ids = append(ids, fmt.Sprint(i))
		}
	}
	res, err := trackierimport.Importer{DB: db, Trackier: trackier.New(5 * time.Second)}.Import(context.Background(),
		trackierimport.Request{APIBaseURL: f.URL, APIKey: f.Key, CampaignIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 30 || len(res.Skipped) != 0 || res.Created[0].Policy.Mode != urltracker.ModeObserve {
		t.Fatalf("created %d (mode %q, want observe when none is asked), skipped %v", len(res.Created), res.Created[0].Policy.Mode, res.Skipped)
	}
	var pages []string
	for _, r := range f.Requests() {
		pages = append(pages, r.Path+"?"+r.RawQuery)
	}
	if strings.Join(pages, " ") != "/v2/campaigns?limit=100&page=1 /v2/campaigns?limit=100&page=2" {
		t.Errorf("requests %v", pages)
	}
}

func TestImportRefusesBadRequestsBeforeCallingTrackier(t *testing.T) {
	db := openSQLite(t)
	f := account(t)
	tests := []struct {
		name string
		req  trackierimport.Request
		want string
	}{
		{"base ending in /v2", trackierimport.Request{APIBaseURL: f.URL + "/v2", APIKey: f.Key}, "must not end in /v2"},
		{"no key", trackierimport.Request{APIBaseURL: f.URL}, "api_key is required"},
		{"unknown mode", trackierimport.Request{APIBaseURL: f.URL, APIKey: f.Key, Mode: "yolo"}, `use "observe"`},
		{"empty id list", trackierimport.Request{APIBaseURL: f.URL, APIKey: f.Key, CampaignIDs: trackierimport.IDs{}}, "send null"},
	}
	for _, tt := range tests {
		_, err := trackierimport.Importer{DB: db, Trackier: trackier.New(time.Second)}.Import(context.Background(), tt.req)
		var in *trackierimport.InputError
		if !errors.As(err, &in) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want an input error saying %q", tt.name, err, tt.want)
		}
	}
	if n := len(f.Requests()); n != 0 {
		t.Errorf("%d Trackier calls for refused requests", n)
	}
}

func TestImportWithARefusedKeyCreatesNothing(t *testing.T) {
	db := openSQLite(t)
	f := account(t)
	_, err := trackierimport.Importer{DB: db, Trackier: trackier.New(time.Second)}.Import(context.Background(),
		trackierimport.Request{APIBaseURL: f.URL, APIKey: "wrong"})
	var api *trackier.Error
	if !errors.As(err, &api) || api.Code != trackier.CodeInvalidKey {
		t.Fatalf("err = %v, want Trackier's code 13", err)
	}
	if all, _ := db.Offers(context.Background(), 10); len(all) != 0 {
		t.Errorf("%d offers created", len(all))
	}
}

func TestImportSkipsACampaignWhoseNameIsTaken(t *testing.T) {
	db := openSQLite(t)
	f := account(t)
	ctx := context.Background()
	if _, err := db.CreateOffer(ctx, urltracker.Offer{Name: "Shoes DE (Trackier 101)", URL: "https://a.example/", UpdateIntervalSeconds: 60, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	res, err := trackierimport.Importer{DB: db, Trackier: trackier.New(time.Second)}.Import(ctx,
		trackierimport.Request{APIBaseURL: f.URL, APIKey: f.Key, CampaignIDs: trackierimport.IDs{"101"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 0 || !strings.Contains(skipped(res.Skipped)["101"], "already exists") {
		t.Errorf("created %q skipped %v", names(res.Created), res.Skipped)
	}
}

func TestTestLinkReplacesEveryMacro(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://adv.example/t?click={click_id}", "https://adv.example/t?click=urltracker-check"},
		{"https://adv.example/t?c={CLICK_ID}&p={p1}&g={gaid}", "https://adv.example/t?c=urltracker-check&p=urltracker-test&g=urltracker-test"},
		{"https://adv.example/t?c=%7Bclick_id%7D&s=%7bsource%7d", "https://adv.example/t?c=urltracker-check&s=urltracker-test"},
		{"https://adv.example/{camp_id}/land", "https://adv.example/urltracker-test/land"},
		{"https://adv.example/plain?a=1", "https://adv.example/plain?a=1"},
		{" https://adv.example/x ", "https://adv.example/x"},
	}
	for _, tt := range tests {
		if got := trackierimport.TestLink(tt.in); got != tt.want {
			t.Errorf("TestLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func openSQLite(t *testing.T) *store.DB {
	ctx := context.Background()
	db, err := store.Open(ctx, testutil.DatabaseURL(t, "sqlite"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestImportWaitsForTheKillSwitch(t *testing.T) {
	db := openSQLite(t)
	f := account(t)
	ctx := context.Background()
	if _, err := db.SetKillSwitch(ctx, false, store.Actor{Instance: "test"}, ""); err != nil {
		t.Fatal(err)
	}
	_, err := trackierimport.Importer{DB: db, Trackier: trackier.New(time.Second)}.Import(ctx,
		trackierimport.Request{APIBaseURL: f.URL, APIKey: f.Key})
	if !errors.Is(err, trackierimport.ErrAutomationOff) || len(f.Requests()) != 0 {
		t.Errorf("err = %v with %d Trackier calls, want ErrAutomationOff and none", err, len(f.Requests()))
	}
}
