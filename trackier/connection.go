package trackier

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ConnectionTest is what reading one campaign tells about a binding. A nil
// field is one the answer did not tell (Trackier was down, or refused the
// call before looking at it).
type ConnectionTest struct {
	KeyValid       *bool   `json:"key_valid"`
	CampaignFound  *bool   `json:"campaign_found"`
	CampaignStatus *Status `json:"campaign_status"`
	IPWhitelisted  *bool   `json:"ip_whitelisted"`
	Advice         string  `json:"advice"` // one line: what works, or what to do
}

// TestConnection reads the campaign b addresses and says what works and
// what to fix: the key, the campaign id, this instance's IP on Trackier's
// whitelist, and the campaign's status.
func (c *Client) TestConnection(ctx context.Context, b Binding) ConnectionTest {
	camp, _, err := c.GetCampaign(ctx, b)
	yes, no := true, false
	if err == nil {
		t := ConnectionTest{KeyValid: &yes, CampaignFound: &yes, IPWhitelisted: &yes, CampaignStatus: &camp.Status}
		t.Advice = statusAdvice(camp)
		return t
	}
	var e *Error
	if !errors.As(err, &e) {
		return ConnectionTest{Advice: err.Error()}
	}
	switch {
	case e.Code == CodeIPNotWhitelisted:
		return ConnectionTest{IPWhitelisted: &no, Advice: "Trackier refuses the IP address of this urltracker instance: whitelist the egress IP of every urltracker instance in Trackier (Settings → API), then test again."}
	case e.Code == CodeInvalidKey || e.Code == 0 && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden):
		return ConnectionTest{KeyValid: &no, Advice: "Trackier refuses the API key: set trackier.api_key to the admin API key from Trackier (Settings → API), then test again."}
	case e.Code == CodeNotFound:
		return ConnectionTest{KeyValid: &yes, IPWhitelisted: &yes, CampaignFound: &no,
			Advice: fmt.Sprintf("The key works, but this Trackier account has no campaign %s: set trackier.campaign_id to the campaign's numeric id in Trackier.", b.CampaignID)}
	case e.StatusCode >= 200 && e.StatusCode < 300:
		// Trackier accepted the call but did not answer a campaign: the
		// base URL points at something else.
		return ConnectionTest{KeyValid: &yes, IPWhitelisted: &yes, Advice: e.Msg}
	case e.StatusCode == http.StatusNotFound:
		return ConnectionTest{Advice: e.Msg + ": check trackier.api_base_url (https://api.trackier.com, without /v2)."}
	case e.Retryable():
		return ConnectionTest{Advice: e.Msg + ". Nothing is wrong with the settings as far as urltracker can tell; test again in a minute."}
	}
	return ConnectionTest{Advice: e.Msg}
}

func statusAdvice(c Campaign) string {
	works := fmt.Sprintf("Connection works: the key is accepted and campaign %s", c.ID)
	if c.Name != "" {
		works += fmt.Sprintf(" (%q)", c.Name)
	}
	switch c.Status {
	case StatusActive:
		return works + " is active."
	case StatusPaused:
		return works + " is paused: Trackier pauses a campaign whose cap is reached and re-activates it when the cap refreshes or the campaign is edited."
	case StatusDisabled:
		return works + " is disabled: it gets no traffic until someone (or urltracker, if it held it) sets it active."
	case StatusSuspended:
		return works + " is suspended by Trackier's Offer Checker: review it in Trackier; urltracker does not resume it."
	}
	return fmt.Sprintf("%s is %s.", works, c.Status)
}
