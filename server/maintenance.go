package server

import (
	"net/http"
	"time"

	"github.com/urltracker/urltracker"
)

// windowInput is the body of maintenance window create and PATCH requests.
// A PATCH is decoded over the stored window: fields it leaves out keep their
// value; null clears starts_at, ends_at or weekly.
type windowInput struct {
	Name     string                   `json:"name"`
	TimeZone string                   `json:"time_zone"`
	StartsAt *time.Time               `json:"starts_at"`
	EndsAt   *time.Time               `json:"ends_at"`
	Weekly   *urltracker.WeeklyWindow `json:"weekly"`
	Offers   []int64                  `json:"offers"`
}

func (in windowInput) apply(w urltracker.MaintenanceWindow) urltracker.MaintenanceWindow {
	w.Name, w.TimeZone, w.StartsAt, w.EndsAt, w.Weekly, w.Offers = in.Name, in.TimeZone, in.StartsAt, in.EndsAt, in.Weekly, in.Offers
	return w.Normalize()
}

func inputOf(w urltracker.MaintenanceWindow) windowInput {
	return windowInput{Name: w.Name, TimeZone: w.TimeZone, StartsAt: w.StartsAt, EndsAt: w.EndsAt, Weekly: w.Weekly, Offers: w.Offers}
}

// saveWindow validates w and stores it, answering with status.
func saveWindow(w http.ResponseWriter, r *http.Request, d Deps, status int, mw urltracker.MaintenanceWindow) {
	if fe := mw.Validate(); fe != nil {
		writeFieldErrors(w, fe)
		return
	}
	mw, err := d.DB.SaveMaintenanceWindow(r.Context(), mw)
	if err != nil {
		storeError(w, err)
		return
	}
	writeJSON(w, status, mw)
}

func handleMaintenanceCreate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in windowInput
		if !decodeJSON(w, r, &in) {
			return
		}
		saveWindow(w, r, d, http.StatusCreated, in.apply(urltracker.MaintenanceWindow{}))
	})
}

func handleMaintenanceList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := d.DB.MaintenanceWindows(r.Context())
		if err != nil {
			storeError(w, err)
			return
		}
		now := d.Now()
		type view struct {
			urltracker.MaintenanceWindow
			// ActiveUntil is when the window now on ends; null when off.
			ActiveUntil *time.Time `json:"active_until"`
		}
		views := make([]view, len(ws))
		for i, mw := range ws {
			views[i].MaintenanceWindow = mw
			if until, on := mw.ActiveAt(now); on {
				u := until.UTC()
				views[i].ActiveUntil = &u
			}
		}
		writeJSON(w, http.StatusOK, map[string]any{"windows": views})
	})
}

// windowOf loads the {id} window, answering the error itself.
func windowOf(w http.ResponseWriter, r *http.Request, d Deps) (urltracker.MaintenanceWindow, bool) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return urltracker.MaintenanceWindow{}, false
	}
	mw, err := d.DB.MaintenanceWindow(r.Context(), id)
	if err != nil {
		storeError(w, err)
		return mw, false
	}
	return mw, true
}

func handleMaintenanceGet(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if mw, ok := windowOf(w, r, d); ok {
			writeJSON(w, http.StatusOK, mw)
		}
	})
}

func handleMaintenancePatch(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw, ok := windowOf(w, r, d)
		if !ok {
			return
		}
		in := inputOf(mw)
		if !decodeJSON(w, r, &in) {
			return
		}
		saveWindow(w, r, d, http.StatusOK, in.apply(mw))
	})
}

func handleMaintenanceDelete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw, ok := windowOf(w, r, d)
		if !ok {
			return
		}
		if err := d.DB.DeleteMaintenanceWindow(r.Context(), mw.ID); err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "deleted": mw.ID})
	})
}
