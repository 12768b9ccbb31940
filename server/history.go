package server

import (
	"net/http"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// handleOfferHistory answers an offer's health over ?window=24h|7d|30d
// (default 24h), from the hourly rollups.
func handleOfferHistory(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		window := r.URL.Query().Get("window")
		if window == "" {
			window = "24h"
		}
		if _, ok := store.HistoryWindows[window]; !ok {
			writeFieldErrors(w, urltracker.FieldErrors{"window": "must be 24h, 7d or 30d"})
			return
		}
		if _, err := d.DB.Offer(r.Context(), id); err != nil {
			storeError(w, err)
			return
		}
		h, err := d.DB.History(r.Context(), id, window)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, h)
	})
}
