package jobs_test

import (
	"os"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/trackier"
)

// TestMeasureHoldAndResumeWithoutClicks measures, on three instances sharing
// one PostgreSQL database, how long after a link breaks its campaign is held
// in Trackier, and how long after it heals the campaign is active again,
// with no click at all. It reports figures and asserts no timing; it runs
// only with URLTRACKER_MEASURE=1:
//
//	URLTRACKER_MEASURE=1 go test -count=1 -v -run TestMeasureHoldAndResume ./jobs
func TestMeasureHoldAndResumeWithoutClicks(t *testing.T) {
	if os.Getenv("URLTRACKER_MEASURE") != "1" {
		t.Skip("set URLTRACKER_MEASURE=1 to measure")
	}
	url := testutil.DatabaseURL(t, "postgres")
	fleet := []*instance{startInstance(t, url), startInstance(t, url), startInstance(t, url)}
	api := trackierfake.New(t)
	api.SetReadLag(time.Second)
	link := newMovable(t)
	const interval, every, confirm = 2, 2, 1
	rec := actingOffer(t, fleet[0], api, link.URL+"/offer", func(o *urltracker.Offer) {
		o.UpdateIntervalSeconds, o.CheckEverySeconds = interval, every
		o.Policy.PauseAfterFailures, o.Policy.ResumeAfterSuccesses, o.Policy.ConfirmAfterSeconds = 2, 2, confirm
	})
	waitStatus := func(want trackier.Status) time.Duration {
		start := time.Now()
		testutil.Eventually(t, 2*time.Minute, "campaign "+string(want), func() bool { return api.Campaign("101").Status == want })
		return time.Since(start)
	}
	time.Sleep(3 * time.Second) // let the first scheduled checks pass
	const rounds = 3
	var held, resumed []time.Duration
	for range rounds {
		link.broken.Store(true)
		held = append(held, waitStatus(trackier.StatusDisabled))
		link.broken.Store(false)
		resumed = append(resumed, waitStatus(trackier.StatusActive))
	}
	checks := checksOf(t, fleet[0].db, rec.ID)
	t.Logf("3 instances, PostgreSQL, no clicks; update_interval %ds, check_every %ds, confirm_after %ds, hold after 2 failures, resume after 2 healthy checks, Trackier read lag 1s",
		interval, every, confirm)
	t.Logf("link broken → campaign disabled in Trackier: %v", held)
	t.Logf("link healed → campaign active in Trackier:   %v", resumed)
	t.Logf("%d checks in all", len(checks))
}
