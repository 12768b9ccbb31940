package jobs_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/trackier"
)

// movable is an offer link that is healthy, broken, or moved permanently
// (its first hop answers 301 to /new-landing).
type movable struct {
	*httptest.Server
	broken, moved atomic.Bool
}

func newMovable(t *testing.T) *movable {
	m := &movable{}
	mux := http.NewServeMux()
	mux.HandleFunc("/offer", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case m.broken.Load():
			http.Error(w, "gone", http.StatusNotFound)
		case m.moved.Load():
			http.Redirect(w, r, "/new-landing?seen_click=obs-1", http.StatusMovedPermanently)
		default:
			w.Write([]byte("<html><title>Shoes</title>on sale</html>"))
		}
	})
	mux.HandleFunc("/new-landing", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<html><title>Shoes</title>on sale</html>"))
	})
	m.Server = httptest.NewServer(mux)
	t.Cleanup(m.Close)
	return m
}

const campaignURL = "https://adv.example/track?aff={click_id}&sub={p1}&src=trk"

// actingOffer is an offer bound to campaign 101 of api that acts at once:
// one failure holds, one healthy check resumes, nothing scheduled.
func actingOffer(t *testing.T, in *instance, api *trackierfake.Server, link string, change func(*urltracker.Offer)) store.OfferRecord {
	t.Helper()
	api.AddCampaign(trackier.Campaign{ID: "101", Name: "Shoes", Status: trackier.StatusActive, URL: campaignURL})
	o := urltracker.NewOffer()
	o.Name, o.URL, o.CheckEverySeconds = "shoes", link, 0
	o.Trackier = urltracker.Trackier{APIBaseURL: api.URL, APIKey: api.Key, CampaignID: "101"}
	o.Policy.Mode, o.Policy.PauseAfterFailures, o.Policy.ResumeAfterSuccesses, o.Policy.ConfirmAfterSeconds = urltracker.ModeAct, 1, 1, 0
	if change != nil {
		change(&o)
	}
	rec, err := in.db.CreateOffer(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func check(t *testing.T, in *instance, offerID int64) urltracker.Check {
	t.Helper()
	c, err := in.runner.Run(context.Background(), offerID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitAction waits for the offer's newest attempt of kind to end in outcome
// (any final outcome when outcome is ""), and returns it.
func waitAction(t *testing.T, in *instance, offerID int64, kind urltracker.ActionKind, outcome urltracker.ActionOutcome) urltracker.Action {
	t.Helper()
	var last urltracker.Action
	testutil.Eventually(t, 20*time.Second, string(kind)+" "+string(outcome), func() bool {
		actions, err := in.db.Actions(context.Background(), offerID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range actions {
			if a.Kind == kind {
				last = a
				return a.Outcome == outcome
			}
		}
		return false
	})
	return last
}

func writes(api *trackierfake.Server) []trackierfake.Request {
	var out []trackierfake.Request
	for _, r := range api.Requests() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

func health(t *testing.T, in *instance, offerID int64) store.Health {
	t.Helper()
	h, err := in.db.Health(context.Background(), offerID)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestSafeActions checks every rule of holding and resuming a campaign
// against the fake Trackier, on both databases.
func TestSafeActions(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, in *instance, api *trackierfake.Server, link *movable)
	}{
		{"hold disables an active campaign and resume activates it, each read back until Trackier shows it", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			api.SetReadLag(400 * time.Millisecond)
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			link.broken.Store(true)
			check(t, in, rec.ID)
			held := waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionSucceeded)
			if got := api.Campaign("101").Status; got != trackier.StatusDisabled {
				t.Errorf("campaign is %s after the hold, want disabled (paused is Trackier's own, lifted by any edit)", got)
			}
			if held.VerifiedAfterMS == nil || *held.VerifiedAfterMS < 400 {
				t.Errorf("verified_after_ms = %v, want at least the read lag (400 ms)", held.VerifiedAfterMS)
			}
			w := writes(api)
			if len(w) != 1 || w[0].Path != "/v2/campaigns/status" || w[0].Body != `{"campaignIds":[101],"status":"disabled"}` {
				t.Errorf("writes = %+v, want one POST /v2/campaigns/status", w)
			}
			if reqs := api.Requests(); reqs[0].Method != http.MethodGet {
				t.Errorf("first request %s %s, want the campaign read before writing", reqs[0].Method, reqs[0].Path)
			}
			link.broken.Store(false)
			check(t, in, rec.ID)
			resumed := waitAction(t, in, rec.ID, urltracker.ActionResume, urltracker.ActionSucceeded)
			if got := api.Campaign("101").Status; got != trackier.StatusActive || resumed.VerifiedAfterMS == nil {
				t.Errorf("after the resume: campaign %s, verified %v; want active, verified", got, resumed.VerifiedAfterMS)
			}
			if h := health(t, in, rec.ID); h.State != urltracker.StateActive {
				t.Errorf("health after the resume: %+v", h)
			}
		}},
		{"a campaign that is not active is not held, and the hold is forgotten", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			api.SetByHand("101", trackier.StatusPaused) // a cap, say
			link.broken.Store(true)
			check(t, in, rec.ID)
			a := waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionSkipped)
			if a.Error != "campaign is paused, not active: changed outside urltracker; not held" {
				t.Errorf("error = %q", a.Error)
			}
			if len(writes(api)) != 0 || api.Campaign("101").Status != trackier.StatusPaused {
				t.Errorf("a paused campaign was written: %+v", writes(api))
			}
			if h := health(t, in, rec.ID); h.State != urltracker.StateActive {
				t.Errorf("health = %+v, want the hold forgotten", h)
			}
		}},
		{"a campaign changed while held is not resumed, and the hold is forgotten", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			link.broken.Store(true)
			check(t, in, rec.ID)
			waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionSucceeded)
			api.SetByHand("101", trackier.StatusPaused) // a person, or a cap
			link.broken.Store(false)
			check(t, in, rec.ID)
			a := waitAction(t, in, rec.ID, urltracker.ActionResume, urltracker.ActionSkipped)
			if a.Error != "campaign is paused, not disabled: changed outside urltracker; not resumed" {
				t.Errorf("error = %q", a.Error)
			}
			if n := len(writes(api)); n != 1 || api.Campaign("101").Status != trackier.StatusPaused {
				t.Errorf("%d writes, campaign %s; want only the hold written, the campaign left paused", n, api.Campaign("101").Status)
			}
			if h := health(t, in, rec.ID); h.State != urltracker.StateActive {
				t.Errorf("health = %+v, want the hold forgotten", h)
			}
		}},
		{"a write Trackier's reads never show is failed, and the hold given back", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			api.SetReadLag(time.Minute)
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			link.broken.Store(true)
			check(t, in, rec.ID)
			a := waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionFailed)
			if !strings.Contains(a.Error, "never showed the change") || a.VerifiedAfterMS != nil {
				t.Errorf("action = %+v", a)
			}
			if h := health(t, in, rec.ID); h.State != urltracker.StateActive {
				t.Errorf("health = %+v, want the hold given back", h)
			}
		}},
		{"without the status endpoint, the campaign edit endpoint takes the status, remembered", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			api.SetStatusEndpoint(false)
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			link.broken.Store(true)
			check(t, in, rec.ID)
			waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionSucceeded)
			link.broken.Store(false)
			check(t, in, rec.ID)
			waitAction(t, in, rec.ID, urltracker.ActionResume, urltracker.ActionSucceeded)
			var paths []string
			for _, w := range writes(api) {
				paths = append(paths, w.Path)
			}
			if strings.Join(paths, " ") != "/v2/campaigns/status /v2/campaigns/101 /v2/campaigns/101" {
				t.Errorf("writes = %q, want the status endpoint tried once, then the edit endpoint", paths)
			}
		}},
		{"observe mode records what it would do and sends nothing", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", func(o *urltracker.Offer) { o.Policy.Mode = urltracker.ModeObserve })
			link.broken.Store(true)
			check(t, in, rec.ID)
			a := waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionObserved)
			if a.Reason != "after 1 failed check in a row (last: broken)" {
				t.Errorf("reason = %q", a.Reason)
			}
			link.broken.Store(false)
			check(t, in, rec.ID)
			waitAction(t, in, rec.ID, urltracker.ActionResume, urltracker.ActionObserved)
			if reqs := api.Requests(); len(reqs) != 0 {
				t.Errorf("observe mode called Trackier: %+v", reqs)
			}
		}},
		{"invalid key: failed at once, saying what to do", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			api.FailNext(trackier.CodeInvalidKey, http.StatusBadRequest)
			link.broken.Store(true)
			check(t, in, rec.ID)
			a := waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionFailed)
			if a.Attempt != 1 || !strings.Contains(a.Error, "set trackier.api_key") {
				t.Errorf("action = %+v, want one failed attempt saying to set the key", a)
			}
		}},
		{"too many requests: retried", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", nil)
			api.FailNext(trackier.CodeTooManyRequests, http.StatusTooManyRequests)
			link.broken.Store(true)
			check(t, in, rec.ID)
			a := waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionRetrying)
			if a.NextAttemptAt == nil || !strings.Contains(a.Error, "retries later") {
				t.Errorf("action = %+v, want a retry", a)
			}
		}},
		{"a permanent move is proposed, waits for approval, and keeps every macro", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", func(o *urltracker.Offer) { o.Policy.UpdateDestination = true })
			link.moved.Store(true)
			check(t, in, rec.ID)
			check(t, in, rec.ID)
			proposal := waitAction(t, in, rec.ID, urltracker.ActionSetDestination, urltracker.ActionAwaitingApproval)
			if len(api.Requests()) != 0 {
				t.Fatalf("a proposal called Trackier: %+v", api.Requests())
			}
			if _, err := in.queue.Approve(context.Background(), rec.ID, proposal.ID); err != nil {
				t.Fatal(err)
			}
			waitAction(t, in, rec.ID, urltracker.ActionSetDestination, urltracker.ActionSucceeded)
			want := link.URL + "/new-landing?aff={click_id}&sub={p1}&src=trk"
			if got := api.Campaign("101").URL; got != want {
				t.Errorf("campaign URL = %q, want %q", got, want)
			}
			if _, err := in.queue.Approve(context.Background(), rec.ID, proposal.ID); err == nil || !strings.Contains(err.Error(), "approved already") {
				t.Errorf("second approval: %v, want refused", err)
			}
		}},
		{"a campaign urltracker holds is never edited", func(t *testing.T, in *instance, api *trackierfake.Server, link *movable) {
			rec := actingOffer(t, in, api, link.URL+"/offer", func(o *urltracker.Offer) {
				o.Policy.UpdateDestination, o.Policy.ResumeAfterSuccesses = true, 5
			})
			link.moved.Store(true)
			check(t, in, rec.ID)
			check(t, in, rec.ID)
			proposal := waitAction(t, in, rec.ID, urltracker.ActionSetDestination, urltracker.ActionAwaitingApproval)
			link.broken.Store(true)
			check(t, in, rec.ID)
			waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionSucceeded)
			if _, err := in.queue.Approve(context.Background(), rec.ID, proposal.ID); err != nil {
				t.Fatal(err)
			}
			a := waitAction(t, in, rec.ID, urltracker.ActionSetDestination, urltracker.ActionSkipped)
			if !strings.Contains(a.Error, "urltracker holds the campaign") || api.Campaign("101").URL != campaignURL {
				t.Errorf("action = %+v, campaign URL %q; want skipped, URL unchanged", a, api.Campaign("101").URL)
			}
		}},
	}
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					in := startInstance(t, testutil.DatabaseURL(t, backend))
					tt.run(t, in, trackierfake.New(t), newMovable(t))
				})
			}
		})
	}
}
