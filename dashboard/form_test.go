package dashboard

import (
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

// An error on a key the form has no field for is still listed, under a
// label, never dropped: the form would re-render with no message.
func TestEveryFieldErrorIsShown(t *testing.T) {
	fe := urltracker.FieldErrors{"name": "required", "policy.something_new": "must be positive", "mystery": "is wrong"}
	p := newOfferFormPage(nil, map[string]string{}, fe)
	got := map[string]string{}
	for _, f := range p.Errors {
		got[f.Label] = f.Error
	}
	want := map[string]string{"Name": "required", "Health policy": "must be positive", "Offer": "is wrong"}
	for label, msg := range want {
		if got[label] != msg {
			t.Errorf("summary %v lacks %s: %s", got, label, msg)
		}
	}
}

func TestRelativeTimes(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		ago  time.Duration
		want string
	}{
		{2 * time.Second, "just now"}, {42 * time.Second, "42 s ago"}, {3*time.Minute + 59*time.Second, "3 min ago"},
		{5 * time.Hour, "5 h ago"}, {47 * time.Hour, "47 h ago"}, {72 * time.Hour, "3 days ago"},
		{-10 * time.Minute, "in 10 min"},
	} {
		if got := relative(now.Add(-tt.ago), now); got != tt.want {
			t.Errorf("relative(%s ago) = %q, want %q", tt.ago, got, tt.want)
		}
	}
}
