// Package trackierimport creates offers from the campaigns of a Trackier
// account: one offer per campaign not yet imported, bound to it, whose link
// to check is the campaign URL with every {macro} replaced by a labelled
// test value. Importing twice creates nothing new.
package trackierimport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/trackier"
)

// Test values put in place of the campaign URL's macros, so that whoever
// reads the advertiser's logs sees that the click came from urltracker.
const (
	ClickIDValue = "urltracker-check"
	MacroValue   = "urltracker-test"
)

// maxIDs bounds the campaign ids of one import; fewer than fetchEachBelow
// are read one by one, more by listing the account.
const (
	maxIDs         = 1000
	fetchEachBelow = 25
)

// Request is what to import.
type Request struct {
	APIBaseURL string `json:"api_base_url"`
	APIKey     string `json:"api_key"`
	// CampaignIDs limits the import to these campaigns; nil imports all.
	CampaignIDs IDs `json:"campaign_ids"`
	// Mode is the policy mode of the new offers: observe (the default) or
	// act.
	Mode urltracker.Mode `json:"mode"`
}

// IDs are campaign ids, given as JSON strings or numbers.
type IDs []string

// UnmarshalJSON takes ["101", 102].
func (ids *IDs) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New("campaign_ids must be a list of campaign ids or null")
	}
	if raw == nil {
		*ids = nil
		return nil
	}
	out := make(IDs, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) != nil {
			var n json.Number
			if json.Unmarshal(r, &n) != nil {
				return fmt.Errorf("campaign_ids: %s is not a campaign id", r)
			}
			s = n.String()
		}
		out = append(out, strings.TrimSpace(s))
	}
	*ids = out
	return nil
}

// Skipped is a campaign the import did not create an offer for, and why.
type Skipped struct {
	CampaignID string `json:"campaign_id"`
	Reason     string `json:"reason"`
}

// Result is what an import did.
type Result struct {
	Created []store.OfferRecord
	Skipped []Skipped
}

// ErrAutomationOff is the error of an import while the kill switch is off:
// no Trackier call leaves urltracker then.
var ErrAutomationOff = errors.New("the kill switch is off: no Trackier call leaves urltracker; turn automation back on first")

// InputError is a request that cannot be imported as it is; its message
// says what to change.
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

// Importer imports campaigns into offers.
type Importer struct {
	DB       *store.DB
	Trackier *trackier.Client
}

// Import reads the campaigns req names (every campaign when it names none)
// and creates an offer for each that has none yet. It reads everything from
// Trackier before it creates anything, so a failing API leaves no half
// import. Errors are *InputError, ErrAutomationOff, *trackier.Error or
// storage errors.
func (im Importer) Import(ctx context.Context, req Request) (Result, error) {
	req, err := normalize(req)
	if err != nil {
		return Result{}, err
	}
	enabled, err := im.DB.KillSwitch(ctx)
	if err != nil {
		return Result{}, err
	}
	if !enabled {
		return Result{}, ErrAutomationOff
	}
	bindings, err := im.DB.CampaignBindings(ctx)
	if err != nil {
		return Result{}, err
	}
	imported := map[string]int64{}
	for _, b := range bindings {
		imported[bindingKey(b.APIBaseURL, b.CampaignID)] = b.OfferID
	}
	campaigns, res, err := im.campaigns(ctx, req)
	if err != nil {
		return Result{}, err
	}
	res.Created = []store.OfferRecord{}
	for _, c := range campaigns {
		if id, ok := imported[bindingKey(req.APIBaseURL, c.ID)]; ok {
			res.Skipped = append(res.Skipped, Skipped{c.ID, fmt.Sprintf("already imported as offer %d", id)})
			continue
		}
		if reason := unusable(c); reason != "" {
			res.Skipped = append(res.Skipped, Skipped{c.ID, reason})
			continue
		}
		o := offerFor(req, c)
		if fe := o.Validate(); fe != nil {
			res.Skipped = append(res.Skipped, Skipped{c.ID, "the offer would be invalid: " + fe.Error()})
			continue
		}
		rec, err := im.DB.CreateOffer(ctx, o)
		if errors.Is(err, urltracker.ErrConflict) {
			// Another import may have created it just now; otherwise an
			// unrelated offer has the name.
			res.Skipped = append(res.Skipped, Skipped{c.ID, fmt.Sprintf("an offer named %q already exists: rename it, or bind it to campaign %s, and import again", o.Name, c.ID)})
			continue
		}
		if err != nil {
			return res, err
		}
		imported[bindingKey(req.APIBaseURL, c.ID)] = rec.ID
		res.Created = append(res.Created, rec)
	}
	if res.Skipped == nil {
		res.Skipped = []Skipped{}
	}
	return res, nil
}

func normalize(req Request) (Request, error) {
	req.APIBaseURL, req.APIKey = strings.TrimSpace(req.APIBaseURL), strings.TrimSpace(req.APIKey)
	req.Mode = urltracker.Mode(strings.TrimSpace(string(req.Mode)))
	if req.APIBaseURL == "" {
		req.APIBaseURL = urltracker.DefaultTrackierAPIBaseURL
	}
	req.APIBaseURL = strings.TrimRight(req.APIBaseURL, "/")
	if err := trackier.CheckBaseURL(req.APIBaseURL); err != nil {
		return req, &InputError{"api_base_url: " + err.Error()}
	}
	if req.APIKey == "" {
		return req, &InputError{"api_key is required: the admin API key from Trackier (Settings → API)"}
	}
	switch req.Mode {
	case "":
		req.Mode = urltracker.ModeObserve
	case urltracker.ModeObserve, urltracker.ModeAct:
	default:
		return req, &InputError{fmt.Sprintf("mode %q: use \"observe\" (record what urltracker would do) or \"act\"", req.Mode)}
	}
	if req.CampaignIDs != nil {
		if len(req.CampaignIDs) == 0 {
			return req, &InputError{"campaign_ids is empty: list the campaigns to import, or send null to import every campaign"}
		}
		if len(req.CampaignIDs) > maxIDs {
			return req, &InputError{fmt.Sprintf("campaign_ids: at most %d per import", maxIDs)}
		}
		seen := map[string]bool{}
		ids := IDs{}
		for _, id := range req.CampaignIDs {
			if id == "" {
				return req, &InputError{"campaign_ids: an id is empty"}
			}
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		req.CampaignIDs = ids
	}
	return req, nil
}

// campaigns reads the campaigns to import: every one, or those req names
// (one by one when they are few, else from the list); a named campaign
// Trackier does not have is skipped.
func (im Importer) campaigns(ctx context.Context, req Request) ([]trackier.Campaign, Result, error) {
	var res Result
	if req.CampaignIDs == nil {
		all, err := im.Trackier.ListCampaigns(ctx, req.APIBaseURL, req.APIKey)
		return all, res, err
	}
	notFound := func(id string) {
		res.Skipped = append(res.Skipped, Skipped{id, "Trackier has no campaign " + id + " for this API key"})
	}
	var out []trackier.Campaign
	if len(req.CampaignIDs) < fetchEachBelow {
		for _, id := range req.CampaignIDs {
			c, _, err := im.Trackier.GetCampaign(ctx, trackier.Binding{APIBaseURL: req.APIBaseURL, APIKey: req.APIKey, CampaignID: id})
			var apiErr *trackier.Error
			if errors.As(err, &apiErr) && apiErr.Code == trackier.CodeNotFound {
				notFound(id)
				continue
			}
			if err != nil {
				return nil, res, fmt.Errorf("read campaign %s: %w", id, err)
			}
			out = append(out, c)
		}
		return out, res, nil
	}
	all, err := im.Trackier.ListCampaigns(ctx, req.APIBaseURL, req.APIKey)
	if err != nil {
		return nil, res, err
	}
	byID := map[string]trackier.Campaign{}
	for _, c := range all {
		byID[c.ID] = c
	}
	for _, id := range req.CampaignIDs {
		if c, ok := byID[id]; ok {
			out = append(out, c)
		} else {
			notFound(id)
		}
	}
	return out, res, nil
}

// unusable says why a campaign gets no offer, or "".
func unusable(c trackier.Campaign) string {
	switch {
	case c.ID == "":
		return "Trackier answered a campaign without an id"
	case c.Status == trackier.StatusDeleted || c.Status == trackier.StatusExpired:
		return fmt.Sprintf("the campaign is %s", c.Status)
	case strings.TrimSpace(c.URL) == "":
		return "the campaign has no URL to check"
	}
	if msg := urltracker.CheckHTTPURL(TestLink(c.URL)); msg != "" {
		return "the campaign URL " + msg
	}
	return ""
}

// offerFor is the offer an imported campaign becomes.
func offerFor(req Request, c trackier.Campaign) urltracker.Offer {
	name := strings.TrimSpace(c.Name)
	if name == "" {
		name = "campaign"
	}
	suffix := fmt.Sprintf(" (Trackier %s)", c.ID)
	if len(name)+len(suffix) > 200 {
		name = strings.ToValidUTF8(name[:200-len(suffix)], "")
	}
	o := urltracker.NewOffer()
	o.Name, o.URL = name+suffix, TestLink(c.URL)
	o.Trackier = urltracker.Trackier{APIBaseURL: req.APIBaseURL, APIKey: req.APIKey, CampaignID: c.ID}
	// An imported campaign is held after two broken checks and resumed
	// after two healthy ones; observe mode only records that it would be.
	o.Policy.Mode = req.Mode
	o.Policy.PauseAfterFailures, o.Policy.ResumeAfterSuccesses = 2, 2
	return o.Normalize()
}

// macro matches a Trackier macro, written {name} or URL-escaped %7Bname%7D.
var macro = regexp.MustCompile(`(?i)\{([a-z0-9_.-]+)\}|%7B([a-z0-9_.-]+)%7D`)

// TestLink is the campaign URL urltracker checks: every {macro} replaced by
// a labelled test value ({click_id} by ClickIDValue, any other by
// MacroValue), so the check is a real visit that no one mistakes for a
// real click.
func TestLink(campaignURL string) string {
	return macro.ReplaceAllStringFunc(strings.TrimSpace(campaignURL), func(m string) string {
		name := strings.ToLower(macro.FindStringSubmatch(m)[1] + macro.FindStringSubmatch(m)[2])
		if name == "click_id" {
			return ClickIDValue
		}
		return MacroValue
	})
}

// bindingKey tells campaigns of different accounts or API hosts apart.
func bindingKey(base, campaignID string) string {
	return strings.TrimRight(strings.ToLower(strings.TrimSpace(base)), "/") + " " + strings.TrimSpace(campaignID)
}
