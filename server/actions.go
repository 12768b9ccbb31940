package server

import (
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

// handleTrackierTest reads the offer's campaign from the Trackier API and
// answers what works and what to fix (trackier.ConnectionTest). Like every
// outbound call it is refused while the kill switch is off.
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
		writeJSON(w, http.StatusOK, d.Trackier.TestConnection(r.Context(), trackier.Binding{
			APIBaseURL: offer.Trackier.APIBaseURL, APIKey: offer.Trackier.APIKey, CampaignID: offer.Trackier.CampaignID,
		}))
	})
}

// handleActionApprove sends a destination proposal that awaits an admin's
// approval. The campaign is read again when it is sent: the new URL keeps
// the query Trackier has then, and a campaign urltracker holds by then is
// not edited.
func handleActionApprove(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		actionID, ok := pathID(w, r, "actionID")
		if !ok {
			return
		}
		a, err := d.Queue.Approve(r.Context(), id, actionID)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"success": true, "action": a,
			"message": "approved: the new campaign URL is sent now; GET /api/offers/" + r.PathValue("id") + "/actions shows the result"})
	})
}
