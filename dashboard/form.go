package dashboard

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// The offer form's fields are named after the keys of
// urltracker.FieldErrors, so that Offer.Validate's messages land on them.
const (
	fName           = "name"
	fURL            = "url"
	fExpectedHost   = "expected_host"
	fInterval       = "update_interval_seconds"
	fCheckEvery     = "check_every_seconds"
	fMode           = "policy.mode"
	fHoldStatus     = "policy.hold_status"
	fConfirmAfter   = "policy.confirm_after_seconds"
	fAutoDest       = "policy.auto_update_destination"
	fEnabled        = "enabled"
	fCampaignID     = "trackier.campaign_id"
	fAPIKey         = "trackier.api_key"
	fAPIBaseURL     = "trackier.api_base_url"
	fPauseAfter     = "policy.pause_after_failures"
	fResumeAfter    = "policy.resume_after_successes"
	fUpdateDest     = "policy.update_destination"
	fDestParams     = "policy.destination_params"
	fAlertURL       = "policy.alert_url"
	fMustContain    = "rules.must_contain"
	fMustNotContain = "rules.must_not_contain"
	fMaxTotalMS     = "rules.max_total_ms"
	fMaxHops        = "rules.max_hops"
	fRefusedBroken  = "rules.refused_is_broken"
	checkboxChecked = "on"
)

// offerValues are the form values showing o. The API key is write-only and
// never shown.
func offerValues(o urltracker.Offer) map[string]string {
	v := map[string]string{
		fName: o.Name, fURL: o.URL, fExpectedHost: o.ExpectedHost,
		fInterval:   strconv.Itoa(o.UpdateIntervalSeconds),
		fCheckEvery: strconv.Itoa(o.CheckEverySeconds),
		fMode:       string(o.Policy.Mode), fHoldStatus: string(o.Policy.HoldStatus),
		fConfirmAfter: strconv.Itoa(o.Policy.ConfirmAfterSeconds),
		fCampaignID:   o.Trackier.CampaignID, fAPIBaseURL: o.Trackier.APIBaseURL,
		fPauseAfter:  strconv.Itoa(o.Policy.PauseAfterFailures),
		fResumeAfter: strconv.Itoa(o.Policy.ResumeAfterSuccesses),
		fDestParams:  formatParams(o.Policy.DestinationParams),
		fAlertURL:    o.Policy.AlertURL,
		fMustContain: strings.Join(o.Rules.MustContain, "\n"), fMustNotContain: strings.Join(o.Rules.MustNotContain, "\n"),
		fMaxTotalMS: strconv.FormatInt(o.Rules.MaxTotalMS, 10), fMaxHops: strconv.Itoa(o.Rules.MaxHops),
	}
	if o.Rules.RefusedIsBroken {
		v[fRefusedBroken] = checkboxChecked
	}
	if o.Enabled {
		v[fEnabled] = checkboxChecked
	}
	if o.Policy.UpdateDestination {
		v[fUpdateDest] = checkboxChecked
	}
	if o.Policy.AutoUpdateDestination {
		v[fAutoDest] = checkboxChecked
	}
	return v
}

// offerFromForm applies a submitted offer form to o. It returns the offer,
// the values to show again, and what is wrong with each field: first what
// cannot be read at all (a number that is not one), then Offer.Validate.
func offerFromForm(form url.Values, o urltracker.Offer) (urltracker.Offer, map[string]string, urltracker.FieldErrors) {
	values := map[string]string{}
	for _, k := range []string{fName, fURL, fExpectedHost, fInterval, fCheckEvery, fCampaignID, fAPIBaseURL,
		fMode, fPauseAfter, fResumeAfter, fHoldStatus, fConfirmAfter, fDestParams, fAlertURL,
		fMustContain, fMustNotContain, fMaxTotalMS, fMaxHops} {
		values[k] = strings.TrimSpace(form.Get(k))
	}
	for _, k := range []string{fEnabled, fUpdateDest, fAutoDest, fRefusedBroken} {
		if form.Get(k) != "" {
			values[k] = checkboxChecked
		}
	}
	unreadable := urltracker.FieldErrors{}
	number := func(name string, empty int) int {
		if values[name] == "" {
			return empty
		}
		n, err := strconv.Atoi(values[name])
		if err != nil {
			unreadable[name] = "must be a whole number"
		}
		return n
	}
	o.Name, o.URL, o.ExpectedHost = values[fName], values[fURL], values[fExpectedHost]
	o.UpdateIntervalSeconds = number(fInterval, 0)
	o.CheckEverySeconds = number(fCheckEvery, urltracker.DefaultCheckEverySeconds)
	o.Enabled = values[fEnabled] != ""
	o.Trackier.CampaignID, o.Trackier.APIBaseURL = values[fCampaignID], values[fAPIBaseURL]
	// Write-only: an empty key field keeps the stored key.
	o.Trackier.APIKey = strings.TrimSpace(form.Get(fAPIKey))
	o.Policy.PauseAfterFailures = number(fPauseAfter, 0)
	o.Policy.ResumeAfterSuccesses = number(fResumeAfter, 0)
	o.Policy.Mode = urltracker.Mode(values[fMode])
	o.Policy.HoldStatus = urltracker.HoldStatus(values[fHoldStatus])
	o.Policy.ConfirmAfterSeconds = number(fConfirmAfter, urltracker.DefaultConfirmAfterSeconds)
	o.Policy.UpdateDestination = values[fUpdateDest] != ""
	o.Policy.AutoUpdateDestination = values[fAutoDest] != ""
	o.Policy.AlertURL = values[fAlertURL]
	params, err := parseParams(values[fDestParams])
	if err != nil {
		unreadable[fDestParams] = err.Error()
	}
	o.Policy.DestinationParams = params
	o.Rules.MustContain = strings.Split(values[fMustContain], "\n")
	o.Rules.MustNotContain = strings.Split(values[fMustNotContain], "\n")
	o.Rules.MaxTotalMS = int64(number(fMaxTotalMS, 0))
	o.Rules.MaxHops = number(fMaxHops, 0)
	o.Rules.RefusedIsBroken = values[fRefusedBroken] != ""

	o = o.Normalize()
	fe := o.Validate()
	for k, msg := range unreadable {
		if fe == nil {
			fe = urltracker.FieldErrors{}
		}
		fe[k] = msg
	}
	if fe != nil && o.Trackier.APIKey != "" {
		fe[fAPIKey] = "not saved, because of the errors above: enter the key again"
	}
	return o, values, fe
}

// parseParams reads "name=value" lines.
func parseParams(text string) (map[string]string, error) {
	params := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("line %d: write one name=value per line", i+1)
		}
		params[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return params, nil
}

func formatParams(params map[string]string) string {
	lines := make([]string, 0, len(params))
	for k, v := range params {
		lines = append(lines, k+"="+v)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// field is one input of a form, as the template draws it.
type field struct {
	Name, Label, Type, Value, Hint, Error string
	Required                              bool
	// Options are the choices of a select.
	Options []option
}

type option struct{ Value, Label string }

// ID is the element id of the field's input.
func (f field) ID() string { return "f-" + strings.ReplaceAll(f.Name, ".", "-") }

// Checked tells whether a checkbox is ticked.
func (f field) Checked() bool { return f.Value != "" }

type fieldset struct {
	Legend string
	Fields []field
}

type offerFormPage struct {
	page
	Offer  *store.OfferRecord // nil for a new offer
	Action string
	Sets   []fieldset
	// Errors lists the invalid fields in form order, for the summary.
	Errors []field
}

func newOfferFormPage(rec *store.OfferRecord, values map[string]string, fe urltracker.FieldErrors) *offerFormPage {
	p := &offerFormPage{page: page{Title: "New offer", Nav: "offers", LoggedIn: true}, Offer: rec, Action: "/offers/new"}
	keyHint := "Write-only: it is stored and never shown again."
	if rec != nil {
		p.Title, p.Action = "Edit "+rec.Name, fmt.Sprintf("/offers/%d/edit", rec.ID)
		if rec.Trackier.APIKeySet {
			keyHint = "A key is stored. Leave this empty to keep it, or enter a new one to replace it."
		}
	}
	p.Sets = []fieldset{
		{Legend: "Offer", Fields: []field{
			{Name: fName, Label: "Name", Type: "text", Required: true},
			{Name: fURL, Label: "Link to check", Type: "url", Required: true, Hint: "The offer link as a visitor opens it, e.g. https://track.example.com/click?o=42."},
			{Name: fExpectedHost, Label: "Expected landing host", Type: "text", Hint: "Optional. The host the chain must end on, e.g. shop.example.com; any other is an unexpected landing."},
			{Name: fInterval, Label: "Update interval (seconds)", Type: "number", Required: true, Hint: "At most one check per interval, however many clicks arrive. A held campaign's offer is re-checked this often."},
			{Name: fCheckEvery, Label: "Check at least every (seconds)", Type: "number", Hint: "Checks run this often even without clicks. 0 checks only when clicks arrive; empty means 3600."},
			{Name: fEnabled, Label: "Enabled: check this offer", Type: "checkbox"},
		}},
		{Legend: "Trackier campaign", Fields: []field{
			{Name: fCampaignID, Label: "Campaign ID", Type: "text", Hint: "Optional. The campaign urltracker pauses, resumes or updates."},
			{Name: fAPIKey, Label: "API key", Type: "password", Hint: keyHint},
			{Name: fAPIBaseURL, Label: "API base URL", Type: "url", Hint: "Leave empty for " + urltracker.DefaultTrackierAPIBaseURL + "."},
		}},
		{Legend: "Health policy", Fields: []field{
			{Name: fMode, Label: "Mode", Type: "select", Options: []option{
				{string(urltracker.ModeObserve), "Observe: record what it would do, send nothing to Trackier"},
				{string(urltracker.ModeAct), "Act: hold, resume and update the Trackier campaign"}}},
			{Name: fPauseAfter, Label: "Hold the campaign after failed checks in a row", Type: "number", Hint: "0: never hold."},
			{Name: fHoldStatus, Label: "Hold with status", Type: "select", Options: []option{
				{string(urltracker.HoldDisabled), "disabled (Trackier never lifts it by itself)"},
				{string(urltracker.HoldPaused), "paused (Trackier lifts it when a cap refreshes or the campaign is edited)"}}},
			{Name: fResumeAfter, Label: "Resume after healthy checks in a row", Type: "number", Hint: "0: never resume. Only a campaign urltracker holds, still in the status it set, is resumed."},
			{Name: fConfirmAfter, Label: "Confirm a failure after (seconds)", Type: "number", Hint: "A failing check is re-checked once after this long before it counts. 0 counts it at once; empty means 30."},
			{Name: fUpdateDest, Label: "Propose a new campaign URL when the offer link moved permanently (301/308 on two checks in a row)", Type: "checkbox"},
			{Name: fAutoDest, Label: "Send the new campaign URL without waiting for approval", Type: "checkbox"},
			{Name: fDestParams, Label: "Parameters to add to a new destination", Type: "textarea", Hint: "One name=value per line."},
			{Name: fAlertURL, Label: "Alert URL", Type: "url", Hint: "Optional. urltracker POSTs a JSON alert here when it acts."},
		}},
		{Legend: "Rules", Fields: []field{
			{Name: fMustContain, Label: "The landing must contain", Type: "textarea", Hint: "One rule per line: plain text, found in the page's visible text ignoring case and accents, or a /regular expression/ matched against its HTML. A page that lacks one gets the verdict content_mismatch."},
			{Name: fMustNotContain, Label: "The landing must not contain", Type: "textarea", Hint: "One rule per line, as above."},
			{Name: fMaxTotalMS, Label: "Slow after (milliseconds)", Type: "number", Hint: "A chain that takes longer gets the verdict slow. 0: no limit."},
			{Name: fMaxHops, Label: "Most redirects allowed", Type: "number", Hint: "More redirects give the verdict too_many_hops. 0: only the global limit."},
			{Name: fRefusedBroken, Label: "Count a landing that refuses urltracker (403/429) as broken", Type: "checkbox"},
		}},
	}
	shown := map[string]bool{}
	for i := range p.Sets {
		for j := range p.Sets[i].Fields {
			f := &p.Sets[i].Fields[j]
			f.Value, f.Error = values[f.Name], fe[f.Name]
			if f.Error != "" {
				p.Errors = append(p.Errors, *f)
				shown[f.Name] = true
			}
		}
	}
	// An error on no field of the form is still shown, under the label of
	// its part of the offer: a form that only re-renders says nothing.
	var rest []string
	for name := range fe {
		if !shown[name] {
			rest = append(rest, name)
		}
	}
	sort.Strings(rest)
	for _, name := range rest {
		p.Errors = append(p.Errors, field{Name: name, Label: sectionLabel(name), Error: fe[name]})
	}
	return p
}

// sectionLabel names the part of the offer a field error key belongs to.
func sectionLabel(key string) string {
	switch prefix, _, _ := strings.Cut(key, "."); prefix {
	case "trackier":
		return "Trackier campaign"
	case "policy":
		return "Health policy"
	case "rules":
		return "Rules"
	}
	return "Offer"
}
