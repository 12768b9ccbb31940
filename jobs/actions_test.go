package jobs

import (
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

func TestRetryScheduleRetriesSoonAndGivesUpAfterAboutTenMinutes(t *testing.T) {
	if d := retryDelay(1); d > 15*time.Second {
		t.Errorf("first retry after %s, want within 15s", d)
	}
	var total time.Duration
	for attempt := 1; attempt < actionMaxAttempts; attempt++ {
		if attempt > 1 && retryDelay(attempt) != 2*retryDelay(attempt-1) {
			t.Errorf("delay after attempt %d is %s, want twice %s", attempt, retryDelay(attempt), retryDelay(attempt-1))
		}
		total += retryDelay(attempt)
	}
	if total < 9*time.Minute || total > 12*time.Minute {
		t.Errorf("last attempt comes %s after the first, want about 10 minutes", total)
	}
}

// TestActionReportSaysWhy: the report of an action tells the reason the
// policy gave for it (policy.TestPlansSayWhy words the counts).
func TestActionReportSaysWhy(t *testing.T) {
	offer := urltracker.Offer{ID: 7, Name: "shoes", Trackier: urltracker.Trackier{CampaignID: "c1"}}
	ok := urltracker.Action{Success: true}
	_, text := actionReport(offer, ActionArgs{Action: urltracker.ActionPause, Reason: "after 1 failed check in a row (last: broken)"}, ok)
	if text != `Held Trackier campaign c1 of offer "shoes" (#7) after 1 failed check in a row (last: broken)` {
		t.Errorf("pause report %q", text)
	}
	_, text = actionReport(offer, ActionArgs{Action: urltracker.ActionResume, Reason: "after 3 healthy checks in a row"}, ok)
	if text != `Resumed Trackier campaign c1 of offer "shoes" (#7) after 3 healthy checks in a row` {
		t.Errorf("resume report %q", text)
	}
}
