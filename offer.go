package urltracker

import (
	"net"
	"net/url"
	"strings"
	"time"
)

// DefaultUpdateInterval is the debounce period of a new offer, in seconds.
const DefaultUpdateInterval = 300

// DefaultTrackierAPIBaseURL is Trackier's public API.
const DefaultTrackierAPIBaseURL = "https://api.trackier.com"

// NewOffer is an offer with every default a new one starts with: enabled,
// checked at least hourly, and a policy in observe mode (it records what it
// would do and sends nothing to Trackier until switched to act) that
// confirms a failure before counting it.
func NewOffer() Offer {
	return Offer{
		UpdateIntervalSeconds: DefaultUpdateInterval,
		CheckEverySeconds:     DefaultCheckEverySeconds,
		Enabled:               true,
		Policy: Policy{Mode: ModeObserve, HoldStatus: HoldDisabled,
			ConfirmAfterSeconds: DefaultConfirmAfterSeconds},
	}
}

// Normalize returns o as every way of editing an offer stores it: text
// fields without surrounding spaces, the expected host in lower case, and
// Trackier's public API as base URL when a campaign is bound without one.
// Callers normalize, then Validate.
func (o Offer) Normalize() Offer {
	for _, s := range []*string{&o.Name, &o.URL, &o.ExpectedHost, &o.Trackier.APIBaseURL, &o.Trackier.APIKey, &o.Trackier.CampaignID, &o.Policy.AlertURL} {
		*s = strings.TrimSpace(*s)
	}
	o.ExpectedHost = strings.ToLower(o.ExpectedHost)
	if o.Trackier.CampaignID != "" && o.Trackier.APIBaseURL == "" {
		o.Trackier.APIBaseURL = DefaultTrackierAPIBaseURL
	}
	if o.Policy.Mode == "" {
		o.Policy.Mode = ModeObserve
	}
	if o.Policy.HoldStatus == "" {
		o.Policy.HoldStatus = HoldDisabled
	}
	o.Rules = o.Rules.normalize()
	return o
}

// Validate checks every field of an offer and says what is wrong with each.
// It returns nil when the offer is valid.
func (o Offer) Validate() FieldErrors {
	fe := FieldErrors{}
	if strings.TrimSpace(o.Name) == "" {
		fe["name"] = "required"
	} else if len(o.Name) > 200 {
		fe["name"] = "at most 200 characters"
	}
	if msg := CheckHTTPURL(o.URL); msg != "" {
		fe["url"] = msg
	}
	if o.UpdateIntervalSeconds < 1 {
		fe["update_interval_seconds"] = "must be at least 1"
	} else if o.UpdateIntervalSeconds > 30*24*3600 {
		fe["update_interval_seconds"] = "must be at most 2592000 (30 days)"
	}
	if o.CheckEverySeconds < 0 || o.CheckEverySeconds > 30*24*3600 {
		fe["check_every_seconds"] = "must be 0 (only when clicks arrive) to 2592000 (30 days)"
	}
	if h := o.ExpectedHost; h != "" {
		if strings.ContainsAny(h, "/:?# ") || net.ParseIP(h) == nil && !strings.Contains(h, ".") && h != "localhost" {
			fe["expected_host"] = "a host name such as shop.example.com, without scheme or path"
		}
	}
	if o.Trackier.APIBaseURL != "" {
		if msg := CheckTrackierBaseURL(o.Trackier.APIBaseURL); msg != "" {
			fe["trackier.api_base_url"] = msg
		}
	}
	if o.Policy.PauseAfterFailures < 0 {
		fe["policy.pause_after_failures"] = "must be 0 (off) or more"
	}
	if o.Policy.ResumeAfterSuccesses < 0 {
		fe["policy.resume_after_successes"] = "must be 0 (off) or more"
	}
	if m := o.Policy.Mode; m != ModeObserve && m != ModeAct {
		fe["policy.mode"] = `must be "observe" (record what it would do, send nothing) or "act"`
	}
	if h := o.Policy.HoldStatus; h != HoldDisabled && h != HoldPaused {
		fe["policy.hold_status"] = `must be "disabled" (never lifted by Trackier itself) or "paused"`
	}
	if c := o.Policy.ConfirmAfterSeconds; c < 0 || c > 3600 {
		fe["policy.confirm_after_seconds"] = "must be 0 (count a failure at once) to 3600"
	}
	if o.Policy.AutoUpdateDestination && !o.Policy.UpdateDestination {
		fe["policy.auto_update_destination"] = "needs policy.update_destination"
	}
	if o.Policy.AlertURL != "" {
		if msg := CheckHTTPURL(o.Policy.AlertURL); msg != "" {
			fe["policy.alert_url"] = msg
		}
	}
	o.validateActions(fe)
	o.Rules.validate(fe)
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// CheckHTTPURL says what is wrong with raw as an absolute http(s) URL, or "".
func CheckHTTPURL(raw string) string {
	if strings.TrimSpace(raw) == "" {
		return "required"
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an absolute http:// or https:// URL"
	}
	return ""
}

// CheckTrackierBaseURL says what is wrong with raw as a Trackier API base
// URL, or "". urltracker adds /v2/… itself, so a base ending in /v2 would
// call /v2/v2/… and is refused with what to type instead.
func CheckTrackierBaseURL(raw string) string {
	if msg := CheckHTTPURL(raw); msg != "" {
		return msg + ", such as " + DefaultTrackierAPIBaseURL
	}
	u, _ := url.Parse(strings.TrimSpace(raw))
	if p := strings.TrimRight(u.Path, "/"); strings.HasSuffix(strings.ToLower(p), "/v2") {
		return "must not end in /v2: urltracker adds /v2/… itself; type " + u.Scheme + "://" + u.Host + p[:len(p)-len("/v2")]
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "must not have a query or fragment; type only scheme and host, such as " + DefaultTrackierAPIBaseURL
	}
	return ""
}

// validateActions checks that a policy asking for Trackier calls has a
// campaign to call, and that destination parameters are usable.
func (o Offer) validateActions(fe FieldErrors) {
	p := o.Policy
	wantsAPI := p.PauseAfterFailures > 0 || p.ResumeAfterSuccesses > 0 || p.UpdateDestination
	hasKey := o.Trackier.APIKey != "" || o.Trackier.APIKeySet
	// The errors name the missing field by its key, so that the API and the
	// dashboard's form put them where the user types.
	const needed = "needed to pause, resume or update the destination; set it, or turn those off"
	if wantsAPI && o.Trackier.CampaignID == "" {
		fe["trackier.campaign_id"] = needed
	}
	if wantsAPI && !hasKey {
		fe["trackier.api_key"] = needed
	}
	if len(p.DestinationParams) > 50 {
		fe["policy.destination_params"] = "at most 50 parameters"
	}
	for k := range p.DestinationParams {
		if strings.TrimSpace(k) == "" {
			fe["policy.destination_params"] = "parameter names must not be empty"
		}
	}
}

// CheckPeriod is how often the scheduler checks o, clicks or not: every
// update interval while urltracker holds its campaign (so that a link that
// healed gets its campaign resumed without any click), else every
// check_every_seconds, but never more often than the update interval, the
// fleet-wide debounce, allows. ok is false when o has no scheduled checks:
// disabled, or checked only when clicks arrive.
func CheckPeriod(o Offer, held bool) (period time.Duration, ok bool) {
	switch {
	case !o.Enabled:
		return 0, false
	case held:
		return o.UpdateInterval(), true
	case o.CheckEverySeconds <= 0:
		return 0, false
	}
	return max(time.Duration(o.CheckEverySeconds)*time.Second, o.UpdateInterval()), true
}
