package trackier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// pageSize is how many campaigns ListCampaigns asks for per page, and
// maxPages bounds the walk should an API ignore the page parameter.
const (
	pageSize = 100
	maxPages = 1000
)

// CheckBaseURL says what is wrong with base as a Trackier API base URL, or
// returns nil. The client adds /v2/… itself, so a base ending in /v2 would
// call /v2/v2/… and is refused.
func CheckBaseURL(base string) error {
	if msg := urltracker.CheckTrackierBaseURL(base); msg != "" {
		return fmt.Errorf("Trackier API base URL %q %s", base, msg)
	}
	return nil
}

// GetCampaign reads the campaign b addresses.
func (c *Client) GetCampaign(ctx context.Context, b Binding) (Campaign, Result, error) {
	if b.CampaignID == "" {
		return Campaign{}, Result{}, &Error{Msg: "no Trackier campaign id: set trackier.campaign_id"}
	}
	res, raw, err := c.do(ctx, call{base: b.APIBaseURL, key: b.APIKey, method: http.MethodGet,
		path: campaignPath(b.CampaignID), keep: maxReadBody})
	if err != nil {
		return Campaign{}, res, err
	}
	var body struct {
		Campaign *wireCampaign `json:"campaign"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Campaign == nil {
		return Campaign{}, res, &Error{StatusCode: res.StatusCode,
			Msg: fmt.Sprintf("Trackier API answered %d without a campaign: check trackier.api_base_url (https://api.trackier.com)", res.StatusCode)}
	}
	return body.Campaign.campaign(), res, nil
}

// statusRoute is how a base URL takes status changes: through the status
// endpoint or, where that does not exist, the campaign edit endpoint.
type statusRoute int

const (
	routeUnknown statusRoute = iota
	routeStatusEndpoint
	routeCampaignEdit
)

// SetStatus sets the campaign's status: POST {base}/v2/campaigns/status,
// and where that endpoint answers 404 or 405, POST {base}/v2/campaigns/{id}.
// Which one works is remembered per base URL. Trackier takes active,
// disabled and paused.
func (c *Client) SetStatus(ctx context.Context, b Binding, s Status) (Result, error) {
	if s != StatusActive && s != StatusDisabled && s != StatusPaused {
		return Result{}, &Error{Msg: fmt.Sprintf("Trackier status %q cannot be set: use active, disabled or paused", s)}
	}
	if b.CampaignID == "" {
		return Result{}, &Error{Msg: "no Trackier campaign id: set trackier.campaign_id"}
	}
	if c.route(b.APIBaseURL) != routeCampaignEdit {
		body, err := jsonenc.Marshal(map[string]any{"campaignIds": []any{idValue(b.CampaignID)}, "status": s})
		if err != nil {
			return Result{}, err
		}
		res, _, err := c.do(ctx, call{base: b.APIBaseURL, key: b.APIKey, method: http.MethodPost, path: "/v2/campaigns/status", body: body})
		if !routeMissing(err) {
			if err == nil {
				c.setRoute(b.APIBaseURL, routeStatusEndpoint)
			}
			return res, err
		}
	}
	res, err := c.edit(ctx, b, map[string]any{"status": s})
	if err == nil {
		c.setRoute(b.APIBaseURL, routeCampaignEdit)
	}
	return res, err
}

// SetURL sets the campaign's URL (the advertiser's tracking URL, with its
// macros) through the campaign edit endpoint.
func (c *Client) SetURL(ctx context.Context, b Binding, campaignURL string) (Result, error) {
	return c.edit(ctx, b, map[string]any{"url": campaignURL})
}

// edit posts the fields to change to the campaign edit endpoint.
func (c *Client) edit(ctx context.Context, b Binding, fields map[string]any) (Result, error) {
	if b.CampaignID == "" {
		return Result{}, &Error{Msg: "no Trackier campaign id: set trackier.campaign_id"}
	}
	body, err := jsonenc.Marshal(fields)
	if err != nil {
		return Result{}, err
	}
	res, _, err := c.do(ctx, call{base: b.APIBaseURL, key: b.APIKey, method: http.MethodPost, path: campaignPath(b.CampaignID), body: body})
	return res, err
}

// ListCampaigns reads every campaign the key may see, a page of 100 at a
// time to the end, each page within the rate limit.
func (c *Client) ListCampaigns(ctx context.Context, base, key string) ([]Campaign, error) {
	var all []Campaign
	seen := map[string]bool{}
	for page := 1; page <= maxPages; page++ {
		_, raw, err := c.do(ctx, call{base: base, key: key, method: http.MethodGet,
			path: fmt.Sprintf("/v2/campaigns?limit=%d&page=%d", pageSize, page), keep: maxReadBody})
		if err != nil {
			return all, fmt.Errorf("list campaigns, page %d: %w", page, err)
		}
		var body struct {
			Campaigns *[]wireCampaign `json:"campaigns"`
		}
		if json.Unmarshal(raw, &body) != nil || body.Campaigns == nil {
			return all, &Error{Msg: fmt.Sprintf("list campaigns, page %d: Trackier API answered without a campaign list: check the API base URL (https://api.trackier.com)", page)}
		}
		fresh := 0
		for _, w := range *body.Campaigns {
			camp := w.campaign()
			if !seen[camp.ID] {
				seen[camp.ID] = true
				all = append(all, camp)
				fresh++
			}
		}
		// A short page is the last; a page of nothing new means the API
		// ignores paging.
		if len(*body.Campaigns) < pageSize || fresh == 0 {
			return all, nil
		}
	}
	return all, &Error{Msg: fmt.Sprintf("list campaigns: more than %d pages; import a list of campaign_ids instead", maxPages)}
}

// wireCampaign is a campaign as the API spells it: the id may be a number
// or a string, and the name is Trackier's title.
type wireCampaign struct {
	ID     json.RawMessage `json:"id"`
	Title  string          `json:"title"`
	Name   string          `json:"name"`
	Status Status          `json:"status"`
	URL    string          `json:"url"`
}

func (w wireCampaign) campaign() Campaign {
	name := w.Title
	if name == "" {
		name = w.Name
	}
	return Campaign{ID: strings.Trim(string(w.ID), `"`), Name: name, Status: w.Status, URL: w.URL}
}

// idValue sends a numeric campaign id as a number, as Trackier's ids are,
// and anything else as a string.
func idValue(id string) any {
	if _, err := strconv.ParseUint(id, 10, 64); err == nil {
		return json.Number(id)
	}
	return id
}

// routeMissing tells whether err means "no such endpoint" rather than a
// Trackier answer about the request: a 404 or 405 without an error code.
func routeMissing(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == 0 && (e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusMethodNotAllowed)
}

func (c *Client) route(base string) statusRoute {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.routes[baseKey(base)]
}

func (c *Client) setRoute(base string, r statusRoute) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.routes[baseKey(base)] = r
}

// campaignPath is the API path of a campaign.
func campaignPath(id string) string {
	return "/v2/campaigns/" + url.PathEscape(id)
}
