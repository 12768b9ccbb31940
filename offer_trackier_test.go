package urltracker

import (
	"strings"
	"testing"
)

func TestTrackierBaseURLIsRefusedWithWhatToType(t *testing.T) {
	tests := []struct{ base, says string }{
		{"https://api.trackier.com", ""},
		{"https://api.trackier.com/", ""},
		{"https://api.trackier.com/v2", "type https://api.trackier.com"},
		{"https://api.trackier.com/v2/", "must not end in /v2"},
		{"api.trackier.com", "absolute http"},
		{"https://api.trackier.com/?key=1", "query"},
	}
	for _, tt := range tests {
		o := Offer{Name: "o", URL: "https://offer.example/", UpdateIntervalSeconds: 60,
			Trackier: Trackier{APIBaseURL: tt.base, APIKey: "k", CampaignID: "1"}}.Normalize()
		got := o.Validate()["trackier.api_base_url"]
		if tt.says == "" && got != "" || !strings.Contains(got, tt.says) {
			t.Errorf("api_base_url %q: %q, want it to say %q", tt.base, got, tt.says)
		}
	}
}
