package server

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/urltracker/urltracker/trackier"
	"github.com/urltracker/urltracker/trackierimport"
)

// importTimeout bounds an import so that it answers before the server's
// write deadline cuts the connection.
const importTimeout = 45 * time.Second

// importAnswer lists the offers created and the campaigns skipped.
type importAnswer struct {
	Created []offerView              `json:"created"`
	Skipped []trackierimport.Skipped `json:"skipped"`
}

// handleTrackierImport creates an offer per Trackier campaign not imported
// yet (trackierimport); like every Trackier call, not while the kill switch
// is off.
func handleTrackierImport(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req trackierimport.Request
		if !decodeJSON(w, r, &req) {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), importTimeout)
		defer cancel()
		res, err := trackierimport.Importer{DB: d.DB, Trackier: d.Trackier}.Import(ctx, req)
		if err != nil {
			importError(w, err)
			return
		}
		d.Logger.Info("trackier import", "api_base_url", req.APIBaseURL, "created", len(res.Created), "skipped", len(res.Skipped))
		ans := importAnswer{Created: make([]offerView, len(res.Created)), Skipped: res.Skipped}
		for i, rec := range res.Created {
			ans.Created[i] = viewOffer(d.PublicURL, rec)
		}
		writeJSON(w, http.StatusOK, ans)
	})
}

// importError answers a failed import: 400 for a request to change (a
// malformed one, a key Trackier refuses), 502 when Trackier failed, 504
// when it took too long.
func importError(w http.ResponseWriter, err error) {
	var input *trackierimport.InputError
	var api *trackier.Error
	switch {
	case errors.As(err, &input):
		writeError(w, http.StatusBadRequest, input.Msg)
	case errors.Is(err, trackierimport.ErrAutomationOff):
		writeError(w, http.StatusForbidden, err.Error()+" with POST /api/trackier-emergency-toggle?enabled=true")
	case errors.As(err, &api) && (api.Code == trackier.CodeInvalidKey || api.Code == trackier.CodeNotFound):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.As(err, &api):
		writeError(w, http.StatusBadGateway, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "the import took longer than 45 s: import a list of campaign_ids at a time; nothing created so far is lost, and importing again skips it")
	default:
		storeError(w, err)
	}
}
