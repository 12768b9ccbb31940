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

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
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
	Queue  *jobs.Queue
	Runner *jobs.Runner
	Tracer *tracer.Tracer
	Logger *slog.Logger
	// AdminToken is the break-glass admin token. Auth, when nil, is built
	// from it with the default session lifetimes and no trusted proxies.
	AdminToken string
	Auth       *auth.Service
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
	if d.Auth == nil {
		d.Auth = auth.New(d.DB, auth.Config{AdminToken: d.AdminToken, SessionIdle: auth.DefaultSessionIdle, SessionLifetime: auth.DefaultSessionLifetime}, d.Now, d.Logger)
	}
	h := newHandlers(d)
	// page and form take the least role that may see the page or send the
	// form (the same as the API's for the same change); every form a
	// session sends is recorded in the audit log.
	page := func(need urltracker.Role, next http.HandlerFunc) http.Handler {
		return h.secure(h.requireSession(need, next))
	}
	form := func(need urltracker.Role, next http.HandlerFunc) http.Handler {
		return h.secure(h.requireSession(need, h.requireCSRF(h.audited(next))))
	}
	live := func(next http.HandlerFunc) http.Handler { return h.secure(h.requireSessionLive(next)) }
	viewer, operator, admin := urltracker.RoleViewer, urltracker.RoleOperator, urltracker.RoleAdmin

	mux.Handle("GET /login", h.secure(http.HandlerFunc(h.loginForm)))
	mux.Handle("POST /login", h.secure(h.requireCSRF(h.login)))
	mux.Handle("GET /logout", page(viewer, h.logoutForm))
	mux.Handle("POST /logout", h.secure(h.requireSession(viewer, h.requireCSRF(h.logout))))

	mux.Handle("GET /{$}", page(viewer, h.overview))
	mux.Handle("GET /live/overview", live(h.overviewLive))
	mux.Handle("GET /kill-switch", page(operator, h.killSwitchForm))
	mux.Handle("POST /kill-switch", form(operator, h.killSwitch))

	mux.Handle("GET /offers", page(viewer, h.offers))
	mux.Handle("GET /live/offers", live(h.offersLive))
	mux.Handle("GET /offers/new", page(admin, h.newOfferForm))
	mux.Handle("POST /offers/new", form(admin, h.createOffer))
	mux.Handle("GET /offers/{id}", page(viewer, h.offer))
	mux.Handle("GET /live/offers/{id}", live(h.offerLive))
	mux.Handle("GET /offers/{id}/edit", page(admin, h.editOfferForm))
	mux.Handle("POST /offers/{id}/edit", form(admin, h.updateOffer))
	mux.Handle("GET /offers/{id}/delete", page(admin, h.deleteOfferForm))
	mux.Handle("POST /offers/{id}/delete", form(admin, h.deleteOffer))
	mux.Handle("POST /offers/{id}/check", form(operator, h.checkNow))
	mux.Handle("POST /offers/{id}/actions/{actionID}/approve", form(operator, h.approveAction))
	mux.Handle("POST /offers/{id}/trackier-test", form(operator, h.d.TrackierTest.ServeHTTP))

	mux.Handle("GET /trackier/import", page(admin, h.importForm))
	mux.Handle("POST /trackier/import", form(admin, h.importCampaigns))

	mux.Handle("GET /channels", page(viewer, h.channels))
	mux.Handle("POST /channels", form(admin, h.createChannel))
	mux.Handle("POST /channels/{id}/test", form(operator, h.testChannel))
	mux.Handle("POST /offers/{id}/snooze", form(operator, h.snoozeOffer))

	mux.Handle("GET /trace", page(viewer, h.trace))
	mux.Handle("GET /audit", page(viewer, h.audit))
	mux.Handle("GET /account", page(viewer, h.account))
	mux.Handle("POST /account/sessions/{id}/end", form(viewer, h.endSession))
	mux.Handle("POST /account/tokens/{id}/revoke", form(viewer, h.revokeToken))

	assets, _ := fs.Sub(assetFS, "assets")
	mux.Handle("GET /assets/", h.secure(http.StripPrefix("/assets/", http.FileServerFS(assets))))
	// Browsers and tools ask for /favicon.ico whatever the page says.
	mux.Handle("GET /favicon.ico", h.secure(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets, "favicon.svg")
	})))
}
