package policy

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CampaignURL is the campaign URL to set when the offer link moved
// permanently to target: current (the campaign URL as Trackier answers it)
// with only its scheme, host and path replaced by target's.
//
// A campaign URL is the advertiser's tracking URL, and its query carries
// Trackier macros such as {click_id} that attribution depends on; the query
// (and any fragment) is therefore kept byte for byte, never decoded and
// re-encoded. target's own query is dropped: it holds what one check
// observed, such as click ids, which must never reach a live campaign.
func CampaignURL(current, target string) (string, error) {
	if strings.TrimSpace(current) == "" {
		return "", errors.New("the campaign has no URL in Trackier to keep the query of")
	}
	t, err := url.Parse(target)
	if err != nil || (t.Scheme != "http" && t.Scheme != "https") || t.Host == "" {
		return "", fmt.Errorf("redirect target %q is not an absolute http(s) URL", target)
	}
	rest := ""
	if i := strings.IndexAny(current, "?#"); i >= 0 {
		rest = current[i:]
	}
	path := t.EscapedPath()
	if path == "" {
		path = "/"
	}
	return t.Scheme + "://" + t.Host + path + rest, nil
}
