package jobs

import (
	"testing"
	"time"
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
