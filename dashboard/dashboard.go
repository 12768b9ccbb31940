// Package dashboard is urltracker's web interface: server-rendered pages to
// set up offers, copy their Trackier push URL, watch checks and events, trace
// a link, and pull the kill switch. It signs its admins in with the admin
// token and reads and writes through the same store and jobs as the API.
package dashboard

import (
	"context"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
	"github.com/urltracker/urltracker/trackierimport"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// liveRefresh is how often pages fetch their live parts again; app.js reads
// it from the page.
const liveRefresh = 5 * time.Second

// Deps are everything the dashboard uses. All fields are required.
type Deps struct {
	DB *store.DB
	// Queue deletes offers, so that their pending jobs are cancelled too.
	Queue      *jobs.Queue
	Runner     *jobs.Runner
	Tracer     *tracer.Tracer
	Logger     *slog.Logger
	AdminToken string
	Instance   string
	Now        func() time.Time
	// PushURL builds the S2S push URL of a webhook token, the same one the
	// API answers (server.WebhookURL).
	PushURL func(token string) string
	// TrackierTest is the admin API's connection test of an offer's
	// Trackier binding (POST /api/offers/{id}/trackier-test), answering
	// JSON. The dashboard runs it for signed-in admins, so that the test
	// works one way only.
	TrackierTest http.Handler
	// Import creates offers from a Trackier account's campaigns
	// (trackierimport.Importer.Import), the same import as the API's.
	Import func(context.Context, trackierimport.Request) (trackierimport.Result, error)
}

// Register adds the dashboard's routes to mux.
func Register(mux *http.ServeMux, d Deps) {
	h := newHandlers(d)
	page := func(next http.HandlerFunc) http.Handler { return h.secure(h.requireSession(next)) }
	form := func(next http.HandlerFunc) http.Handler { return h.secure(h.requireSession(h.requireCSRF(next))) }
	live := func(next http.HandlerFunc) http.Handler { return h.secure(h.requireSessionLive(next)) }

	mux.Handle("GET /login", h.secure(http.HandlerFunc(h.loginForm)))
	mux.Handle("POST /login", h.secure(h.requireCSRF(h.login)))
	mux.Handle("GET /logout", page(h.logoutForm))
	mux.Handle("POST /logout", form(h.logout))

	mux.Handle("GET /{$}", page(h.overview))
	mux.Handle("GET /live/overview", live(h.overviewLive))
	mux.Handle("GET /kill-switch", page(h.killSwitchForm))
	mux.Handle("POST /kill-switch", form(h.killSwitch))

	mux.Handle("GET /offers", page(h.offers))
	mux.Handle("GET /live/offers", live(h.offersLive))
	mux.Handle("GET /offers/new", page(h.newOfferForm))
	mux.Handle("POST /offers/new", form(h.createOffer))
	mux.Handle("GET /offers/{id}", page(h.offer))
	mux.Handle("GET /live/offers/{id}", live(h.offerLive))
	mux.Handle("GET /offers/{id}/edit", page(h.editOfferForm))
	mux.Handle("POST /offers/{id}/edit", form(h.updateOffer))
	mux.Handle("GET /offers/{id}/delete", page(h.deleteOfferForm))
	mux.Handle("POST /offers/{id}/delete", form(h.deleteOffer))
	mux.Handle("POST /offers/{id}/check", form(h.checkNow))
	mux.Handle("POST /offers/{id}/actions/{actionID}/approve", form(h.approveAction))
	mux.Handle("POST /offers/{id}/trackier-test", form(h.d.TrackierTest.ServeHTTP))

	mux.Handle("GET /trackier/import", page(h.importForm))
	mux.Handle("POST /trackier/import", form(h.importCampaigns))

	mux.Handle("GET /channels", page(h.channels))
	mux.Handle("POST /channels", form(h.createChannel))
	mux.Handle("POST /channels/{id}/test", form(h.testChannel))
	mux.Handle("POST /offers/{id}/snooze", form(h.snoozeOffer))

	mux.Handle("GET /trace", page(h.trace))

	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /assets/", h.secure(http.StripPrefix("/assets/", http.FileServerFS(assets))))
	// Browsers and tools ask for /favicon.ico whatever the page says.
	mux.Handle("GET /favicon.ico", h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "favicon.svg")
	})))
}
