package urltracker

import "testing"

func TestPolicyNeedsACampaignToCall(t *testing.T) {
	bound := Trackier{APIBaseURL: DefaultTrackierAPIBaseURL, APIKey: "k", CampaignID: "1"}
	storedKey := Trackier{APIBaseURL: DefaultTrackierAPIBaseURL, APIKeySet: true, CampaignID: "1"}
	tests := []struct {
		name     string
		trackier Trackier
		policy   Policy
		bad      string
	}{
		{"alerts only need no campaign", Trackier{}, Policy{AlertURL: "https://hooks.example/x"}, ""},
		{"pause without campaign", Trackier{}, Policy{PauseAfterFailures: 3}, "trackier.campaign_id"},
		{"pause without key", Trackier{}, Policy{PauseAfterFailures: 3}, "trackier.api_key"},
		{"resume without key", Trackier{CampaignID: "1"}, Policy{ResumeAfterSuccesses: 1}, "trackier.api_key"},
		{"destination without campaign", Trackier{APIKey: "k"}, Policy{UpdateDestination: true}, "trackier.campaign_id"},
		{"bound", bound, Policy{PauseAfterFailures: 3, ResumeAfterSuccesses: 2, UpdateDestination: true}, ""},
		{"key stored earlier (PATCH)", storedKey, Policy{PauseAfterFailures: 3}, ""},
		{"empty parameter name", bound, Policy{DestinationParams: map[string]string{" ": "x"}}, "policy.destination_params"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Offer{Name: "o", URL: "https://offer.example/", UpdateIntervalSeconds: 60, Trackier: tt.trackier, Policy: tt.policy}.Normalize()
			fe := o.Validate()
			if tt.bad == "" && fe != nil {
				t.Errorf("Validate() = %v, want valid", fe)
			}
			if tt.bad != "" && fe[tt.bad] == "" {
				t.Errorf("Validate() = %v, want an error on %s", fe, tt.bad)
			}
		})
	}
}
