package server

import (
	"errors"
	"net/http"

	"github.com/urltracker/urltracker/trackier"
)

// handleOfferActions lists the offer's action attempts, newest first, with
// its health state (streaks, and whether urltracker holds it paused).
func handleOfferActions(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, limit, ok := offerList(w, r, d)
		if !ok {
			return
		}
		actions, err := d.DB.Actions(r.Context(), id, limit)
		if err != nil {
			storeError(w, err)
			return
		}
		health, err := d.DB.Health(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"actions": actions, "health": health})
	})
}

// trackierTestAnswer is the answer of the connection test. KeyValid and
// CampaignExists are null when the API's answer does not tell.
type trackierTestAnswer struct {
	Success        bool   `json:"success"`
	KeyValid       *bool  `json:"key_valid"`
	CampaignExists *bool  `json:"campaign_exists"`
	StatusCode     int    `json:"status_code"`
	Error          string `json:"error,omitempty"`
	DurationMS     int64  `json:"duration_ms"`
	CampaignURL    string `json:"campaign_url"`
}

// handleTrackierTest reads the offer's campaign from the Trackier API to
// tell whether its key and campaign id work. Like every outbound call it is
// refused while the kill switch is off.
func handleTrackierTest(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		offer, err := d.DB.Offer(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		if offer.Trackier.CampaignID == "" || offer.Trackier.APIKey == "" {
			writeError(w, http.StatusConflict, "offer has no Trackier binding: PATCH it with trackier.campaign_id and trackier.api_key first")
			return
		}
		enabled, err := d.DB.KillSwitch(r.Context())
		if err != nil {
			storeError(w, err)
			return
		}
		if !enabled {
			writeError(w, http.StatusForbidden, "the kill switch is off: no Trackier call leaves urltracker; turn automation back on with POST /api/trackier-emergency-toggle?enabled=true")
			return
		}
		res, err := d.Trackier.Get(r.Context(), trackier.Binding{
			APIBaseURL: offer.Trackier.APIBaseURL, APIKey: offer.Trackier.APIKey, CampaignID: offer.Trackier.CampaignID,
		})
		ans := trackierTestAnswer{Success: err == nil, StatusCode: res.StatusCode, DurationMS: res.Duration.Milliseconds(),
			CampaignURL: res.Request.URL}
		yes, no := true, false
		switch {
		case err == nil:
			ans.KeyValid, ans.CampaignExists = &yes, &yes
		case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
			ans.KeyValid = &no
		case res.StatusCode == http.StatusNotFound:
			ans.KeyValid, ans.CampaignExists = &yes, &no
		}
		if err != nil {
			ans.Error = testAdvice(err, res.StatusCode)
		}
		writeJSON(w, http.StatusOK, ans)
	})
}

func testAdvice(err error, status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return err.Error() + ": the API key is not valid for this campaign; set trackier.api_key to an API key of your Trackier account that may edit campaigns"
	case status == http.StatusNotFound:
		return err.Error() + ": no campaign with this id; check trackier.campaign_id"
	case errors.Is(err, trackier.ErrBreakerOpen):
		return err.Error() + ": the API failed repeatedly; try again in 30 s"
	}
	return err.Error()
}
