package urltracker

import "testing"

func TestVerdictHealth(t *testing.T) {
	tests := []struct {
		verdict Verdict
		want    Health
	}{
		{VerdictHealthy, HealthHealthy},
		{VerdictBroken, HealthFailing},
		{VerdictLoop, HealthFailing},
		{VerdictTooManyHops, HealthFailing},
		{VerdictTimeout, HealthFailing},
		{VerdictUnexpectedLanding, HealthFailing},
		{VerdictBlocked, HealthNeutral},
		{VerdictSoft404, HealthFailing},
		{VerdictOfferExpired, HealthFailing},
		{VerdictParkedDomain, HealthFailing},
		{VerdictContentMismatch, HealthFailing},
		{VerdictSlow, HealthFailing},
		{VerdictRefused, HealthNeutral},
		{"a_verdict_of_a_newer_build", HealthFailing},
	}
	for _, tt := range tests {
		if got := tt.verdict.Health(); got != tt.want {
			t.Errorf("Verdict(%q).Health() = %s, want %s", tt.verdict, got, tt.want)
		}
	}
}
