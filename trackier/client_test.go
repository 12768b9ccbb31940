package trackier_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/trackier"
)

func newFake(t *testing.T) (*trackierfake.Server, trackier.Binding) {
	t.Helper()
	f := trackierfake.New(t)
	f.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes DE", Status: trackier.StatusActive,
		URL: "https://adv.example/track?aff=7&click={click_id}"})
	return f, trackier.Binding{APIBaseURL: f.URL, APIKey: f.Key, CampaignID: "101"}
}

func TestGetCampaignReadsStatusAndURL(t *testing.T) {
	f, b := newFake(t)
	c := trackier.New(5 * time.Second)
	got, res, err := c.GetCampaign(context.Background(), b)
	if err != nil {
		t.Fatal(err)
	}
	want := trackier.Campaign{ID: "101", Name: "Shoes DE", Status: trackier.StatusActive, URL: "https://adv.example/track?aff=7&click={click_id}"}
	if got != want {
		t.Errorf("campaign %+v, want %+v", got, want)
	}
	if res.StatusCode != 200 || res.Request.Method != "GET" || res.Request.URL != f.URL+"/v2/campaigns/101" {
		t.Errorf("result %+v", res)
	}
	if log := f.Requests(); len(log) != 1 || log[0].APIKey != f.Key {
		t.Errorf("requests %+v", log)
	}
}

func TestSetStatusUsesTheStatusEndpoint(t *testing.T) {
	f, b := newFake(t)
	c := trackier.New(5 * time.Second)
	for _, s := range []trackier.Status{trackier.StatusDisabled, trackier.StatusActive, trackier.StatusPaused} {
		if _, err := c.SetStatus(context.Background(), b, s); err != nil {
			t.Fatalf("set %s: %v", s, err)
		}
		if got := f.Campaign("101").Status; got != s {
			t.Fatalf("campaign is %s after setting %s", got, s)
		}
	}
	log := f.Requests()
	if len(log) != 3 || log[0].Method != "POST" || log[0].Path != "/v2/campaigns/status" ||
		log[0].Body != `{"campaignIds":[101],"status":"disabled"}` {
		t.Fatalf("requests %+v", log)
	}
}

func TestSetStatusFallsBackPerBaseURLAndRemembers(t *testing.T) {
	for _, tt := range []struct {
		name    string
		disable func(f *trackierfake.Server)
	}{
		{"404", func(f *trackierfake.Server) { f.SetStatusEndpoint(false) }},
		{"405", func(f *trackierfake.Server) { f.FailNext(0, 405) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			old, oldB := newFake(t)
			tt.disable(old)
			modern, modernB := newFake(t)
			c := trackier.New(5 * time.Second)
			ctx := context.Background()

			res, err := c.SetStatus(ctx, oldB, trackier.StatusDisabled)
			if err != nil {
				t.Fatal(err)
			}
			if old.Campaign("101").Status != trackier.StatusDisabled {
				t.Fatal("the fallback did not disable the campaign")
			}
			if res.Request.URL != old.URL+"/v2/campaigns/101" || res.Request.Body != `{"status":"disabled"}` {
				t.Errorf("result of the fallback %+v", res.Request)
			}
			if _, err := c.SetStatus(ctx, oldB, trackier.StatusActive); err != nil {
				t.Fatal(err)
			}
			var paths []string
			for _, r := range old.Requests() {
				paths = append(paths, r.Path)
			}
			want := []string{"/v2/campaigns/status", "/v2/campaigns/101", "/v2/campaigns/101"}
			if strings.Join(paths, " ") != strings.Join(want, " ") {
				t.Errorf("old API saw %v, want %v (the second call goes straight to the edit endpoint)", paths, want)
			}

			if _, err := c.SetStatus(ctx, modernB, trackier.StatusDisabled); err != nil {
				t.Fatal(err)
			}
			if log := modern.Requests(); len(log) != 1 || log[0].Path != "/v2/campaigns/status" {
				t.Errorf("another base URL keeps the status endpoint: %+v", log)
			}
		})
	}
}

func TestSetStatusOfAnUnknownCampaignDoesNotFallBack(t *testing.T) {
	f, b := newFake(t)
	b.CampaignID = "999"
	_, err := trackier.New(5*time.Second).SetStatus(context.Background(), b, trackier.StatusDisabled)
	var e *trackier.Error
	if !errors.As(err, &e) || e.Code != trackier.CodeNotFound || e.Retryable() {
		t.Fatalf("err = %v, want final code 31", err)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: a 404 with code 31 is an answer, not a missing endpoint", n)
	}
}

func TestSetURLKeepsDisabledAndReactivatesPaused(t *testing.T) {
	f, b := newFake(t)
	c := trackier.New(5 * time.Second)
	ctx := context.Background()
	newURL := "https://adv2.example/track?aff=7&click={click_id}&sub={p1}"
	for _, tt := range []struct{ start, want trackier.Status }{
		{trackier.StatusDisabled, trackier.StatusDisabled},
		{trackier.StatusPaused, trackier.StatusActive},
	} {
		f.SetByHand("101", tt.start)
		res, err := c.SetURL(ctx, b, newURL)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Campaign("101"); got.URL != newURL || got.Status != tt.want {
			t.Errorf("from %s: campaign %+v, want URL kept verbatim and status %s", tt.start, got, tt.want)
		}
		if res.Request.Body != `{"url":"`+newURL+`"}` {
			t.Errorf("body %s", res.Request.Body)
		}
	}
}

func TestTrackierErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *trackierfake.Server, b *trackier.Binding)
		wantHTTP   int
		wantCode   int
		retryable  bool
		wantAdvice string
	}{
		{"invalid key", func(f *trackierfake.Server, b *trackier.Binding) { b.APIKey = "wrong-key" }, 400, 13, false, "Settings → API"},
		{"campaign not found", func(f *trackierfake.Server, b *trackier.Binding) { b.CampaignID = "999" }, 404, 31, false, "trackier.campaign_id"},
		{"IP not whitelisted", func(f *trackierfake.Server, b *trackier.Binding) { f.SetIPWhitelisted(false) }, 403, 41, false,
			"whitelist the egress IP of every urltracker instance in Trackier"},
		{"maintenance", func(f *trackierfake.Server, b *trackier.Binding) { f.SetMaintenance(true) }, 503, 50, true, "retries later"},
		{"too many requests", func(f *trackierfake.Server, b *trackier.Binding) { f.FailNext(40, 429) }, 429, 40, true, "retries later"},
		{"success:false in a 200 is a failure", func(f *trackierfake.Server, b *trackier.Binding) { f.FailNext(41, 200) }, 200, 41, false, "whitelist"},
		{"code 50 in a 200 is retried", func(f *trackierfake.Server, b *trackier.Binding) { f.FailNext(50, 200) }, 200, 50, true, "retries later"},
		{"plain 500", func(f *trackierfake.Server, b *trackier.Binding) { f.FailNext(0, 500) }, 500, 0, true, "500"},
		{"plain 400", func(f *trackierfake.Server, b *trackier.Binding) { f.FailNext(0, 400) }, 400, 0, false, "400"},
	}
	calls := []struct {
		name string
		do   func(c *trackier.Client, b trackier.Binding) error
	}{
		{"get", func(c *trackier.Client, b trackier.Binding) error {
			_, _, err := c.GetCampaign(context.Background(), b)
			return err
		}},
		{"set status", func(c *trackier.Client, b trackier.Binding) error {
			_, err := c.SetStatus(context.Background(), b, trackier.StatusDisabled)
			return err
		}},
		{"set url", func(c *trackier.Client, b trackier.Binding) error {
			_, err := c.SetURL(context.Background(), b, "https://adv.example/new")
			return err
		}},
		{"list", func(c *trackier.Client, b trackier.Binding) error {
			_, err := c.ListCampaigns(context.Background(), b.APIBaseURL, b.APIKey)
			return err
		}},
	}
	for _, tt := range tests {
		for _, cl := range calls {
			if cl.name == "list" && tt.wantCode == trackier.CodeNotFound {
				continue // a list has no campaign to miss
			}
			t.Run(tt.name+"/"+cl.name, func(t *testing.T) {
				f, b := newFake(t)
				tt.setup(f, &b)
				err := cl.do(trackier.New(5*time.Second), b)
				var e *trackier.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v, want *trackier.Error", err)
				}
				if e.StatusCode != tt.wantHTTP || e.Code != tt.wantCode || e.Retryable() != tt.retryable {
					t.Errorf("status %d code %d retryable %v, want %d %d %v", e.StatusCode, e.Code, e.Retryable(), tt.wantHTTP, tt.wantCode, tt.retryable)
				}
				if !strings.Contains(err.Error(), tt.wantAdvice) {
					t.Errorf("message %q does not say %q", err, tt.wantAdvice)
				}
				if strings.Contains(err.Error(), f.Key) {
					t.Error("the message holds the API key")
				}
				if f.Campaign("101").Status != trackier.StatusActive {
					t.Error("a failed call changed the campaign")
				}
			})
		}
	}
}

func TestListCampaignsPagesToTheEnd(t *testing.T) {
	for _, n := range []int{0, 1, 100, 250} {
		t.Run(itoa(n), func(t *testing.T) {
			f := trackierfake.New(t)
			for i := 1; i <= n; i++ {
				f.AddCampaign(trackier.Campaign{ID: itoa(i), Name: "campaign " + itoa(i), URL: "https://adv.example/?c={click_id}"})
			}
			got, err := trackier.New(5*time.Second).ListCampaigns(context.Background(), f.URL, f.Key)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d campaigns, want %d", len(got), n)
			}
			for i, c := range got {
				if c.ID != itoa(i+1) || c.Status != trackier.StatusActive || c.URL != "https://adv.example/?c={click_id}" {
					t.Fatalf("campaign %d: %+v", i, c)
				}
			}
			for i, r := range f.Requests() {
				if r.Path != "/v2/campaigns" || r.RawQuery != "limit=100&page="+itoa(i+1) || r.Code != 0 {
					t.Errorf("request %d: %+v", i, r)
				}
			}
			if pages := len(f.Requests()); pages != n/100+1 {
				t.Errorf("%d pages read, want %d", pages, n/100+1)
			}
		})
	}
}

func TestRateLimitKeepsAFleetOfCallsUnderTrackiersLimit(t *testing.T) {
	f, b := newFake(t)
	c := trackier.New(5 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for range 12 {
		wg.Go(func() {
			if _, _, err := c.GetCampaign(context.Background(), b); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("a call over the limit: %v", err)
	}
	for _, r := range f.Requests() {
		if r.Code == trackier.CodeTooManyRequests {
			t.Fatal("Trackier answered code 40: the client sent more than 5 requests/s with one key")
		}
	}
}

func TestRateLimitWaitsUnderTheCallersContext(t *testing.T) {
	f, b := newFake(t)
	c := trackier.New(5*time.Second, trackier.WithRateLimit(0.01))
	if _, _, err := c.GetCampaign(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := c.GetCampaign(ctx, b)
	var e *trackier.Error
	if !errors.As(err, &e) || !e.Retryable() || !strings.Contains(err.Error(), "rate limit") {
		t.Fatalf("err = %v, want a retryable rate limit error", err)
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: a call that did not get its turn is not sent", n)
	}
	other := b
	other.APIKey = "another-key"
	f.AddKey("another-key")
	if _, _, err := c.GetCampaign(context.Background(), other); err != nil {
		t.Errorf("another key has its own limit: %v", err)
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		base string
		ok   bool
		hint string
	}{
		{"https://api.trackier.com", true, ""},
		{"https://api.trackier.com/", true, ""},
		{"http://127.0.0.1:8080", true, ""},
		{"https://api.trackier.com/v2", false, "type https://api.trackier.com"},
		{"https://api.trackier.com/v2/", false, "type https://api.trackier.com"},
		{"https://proxy.example/trackier/V2", false, "type https://proxy.example/trackier"},
		{"api.trackier.com", false, "https://"},
		{"ftp://api.trackier.com", false, "https://"},
		{"https://api.trackier.com?x=1", false, "query"},
	}
	for _, tt := range tests {
		err := trackier.CheckBaseURL(tt.base)
		if (err == nil) != tt.ok || err != nil && !strings.Contains(err.Error(), tt.hint) {
			t.Errorf("CheckBaseURL(%q) = %v, want ok=%v with %q", tt.base, err, tt.ok, tt.hint)
		}
	}
	f, b := newFake(t)
	b.APIBaseURL = f.URL + "/v2"
	if _, _, err := trackier.New(time.Second).GetCampaign(context.Background(), b); err == nil || len(f.Requests()) != 0 {
		t.Errorf("a /v2 base is refused before any call: err %v, %d requests", err, len(f.Requests()))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestConnectionTestDiagnoses(t *testing.T) {
	yes, no := true, false
	status := func(s trackier.Status) *trackier.Status { return &s }
	tests := []struct {
		name   string
		setup  func(f *trackierfake.Server, b *trackier.Binding)
		want   trackier.ConnectionTest
		advice string
	}{
		{"active", func(*trackierfake.Server, *trackier.Binding) {},
			trackier.ConnectionTest{KeyValid: &yes, CampaignFound: &yes, CampaignStatus: status(trackier.StatusActive), IPWhitelisted: &yes},
			`Connection works: the key is accepted and campaign 101 ("Shoes DE") is active.`},
		{"paused", func(f *trackierfake.Server, _ *trackier.Binding) { f.SetByHand("101", trackier.StatusPaused) },
			trackier.ConnectionTest{KeyValid: &yes, CampaignFound: &yes, CampaignStatus: status(trackier.StatusPaused), IPWhitelisted: &yes},
			"cap is reached"},
		{"suspended", func(f *trackierfake.Server, _ *trackier.Binding) { f.SetByHand("101", trackier.StatusSuspended) },
			trackier.ConnectionTest{KeyValid: &yes, CampaignFound: &yes, CampaignStatus: status(trackier.StatusSuspended), IPWhitelisted: &yes},
			"Offer Checker"},
		{"invalid key", func(_ *trackierfake.Server, b *trackier.Binding) { b.APIKey = "wrong" },
			trackier.ConnectionTest{KeyValid: &no}, "Settings → API"},
		{"IP not whitelisted", func(f *trackierfake.Server, _ *trackier.Binding) { f.SetIPWhitelisted(false) },
			trackier.ConnectionTest{IPWhitelisted: &no}, "whitelist the egress IP of every urltracker instance in Trackier"},
		{"campaign not found", func(_ *trackierfake.Server, b *trackier.Binding) { b.CampaignID = "999" },
			trackier.ConnectionTest{KeyValid: &yes, CampaignFound: &no, IPWhitelisted: &yes}, "no campaign 999"},
		{"maintenance", func(f *trackierfake.Server, _ *trackier.Binding) { f.SetMaintenance(true) },
			trackier.ConnectionTest{}, "test again in a minute"},
		{"wrong base URL", func(f *trackierfake.Server, _ *trackier.Binding) { f.FailNext(0, 404) },
			trackier.ConnectionTest{}, "check trackier.api_base_url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, b := newFake(t)
			tt.setup(f, &b)
			got := trackier.New(5*time.Second).TestConnection(context.Background(), b)
			if !strings.Contains(got.Advice, tt.advice) {
				t.Errorf("advice %q does not say %q", got.Advice, tt.advice)
			}
			got.Advice = ""
			if show(got) != show(tt.want) {
				t.Errorf("got %s, want %s", show(got), show(tt.want))
			}
		})
	}
}

func show(c trackier.ConnectionTest) string {
	b, _ := json.Marshal(c)
	return string(b)
}
