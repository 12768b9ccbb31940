package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// maxFormBody bounds a dashboard form; the largest, the offer form, is a
// few KiB.
const maxFormBody = 64 << 10

// listLimit bounds the checks and events a page shows.
const listLimit = 20

type handlers struct {
	d           Deps
	pages       map[string]*template.Template
	signer      *signer
	crossOrigin *http.CrossOriginProtection
}

func newHandlers(d Deps) *handlers {
	return &handlers{
		d:           d,
		pages:       parseTemplates(),
		signer:      &signer{d: d},
		crossOrigin: http.NewCrossOriginProtection(),
	}
}

// --- login and logout

type loginPage struct {
	page
	Next string
	// Name is the user name typed, kept when the page is shown again;
	// AskCode asks for the second factor.
	Name    string
	AskCode bool
}

func (h *handlers) loginForm(w http.ResponseWriter, r *http.Request) {
	if ok, _ := h.loggedIn(r); ok {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "login", &loginPage{page: page{Title: "Sign in"}, Next: localPath(r.URL.Query().Get("next"))})
}

// login signs in with a user's name and password (and code, with a second
// factor), or with the break-glass admin token, and opens a session.
func (h *handlers) login(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.PostFormValue("next"))
	addr := h.d.Auth.ClientAddr(r)
	lp := &loginPage{page: page{Title: "Sign in"}, Next: next}
	var userID int64
	var err error
	var who string
	if token := r.PostFormValue("token"); token != "" || !r.PostForm.Has("name") {
		who = store.AdminTokenUser
		err = h.d.Auth.SignInAdminToken(r.Context(), addr, token)
	} else {
		lp.Name = strings.TrimSpace(r.PostFormValue("name"))
		var u store.User
		u, err = h.d.Auth.SignIn(r.Context(), addr, lp.Name, r.PostFormValue("password"), r.PostFormValue("code"))
		userID, who = u.ID, u.Name
	}
	var throttled *auth.ThrottledError
	switch {
	case errors.As(err, &throttled):
		w.Header().Set("Retry-After", strconv.Itoa(int(throttled.RetryAfter.Seconds()+0.999)))
		lp.Error = "Too many failed sign-ins from here or for this account. Wait " + throttled.RetryAfter.Round(time.Second).String() + " and try again."
		h.render(w, r, http.StatusTooManyRequests, "login", lp)
		return
	case errors.Is(err, auth.ErrCodeRequired):
		lp.AskCode = true
		lp.Error = "Enter the 6-digit code from your authenticator app, or one of your recovery codes, with your password."
		h.render(w, r, http.StatusUnauthorized, "login", lp)
		return
	case errors.Is(err, auth.ErrWrongCredentials) && who == store.AdminTokenUser:
		lp.Error = "That is not the admin token. Use the value of URLTRACKER_ADMIN_TOKEN, or the contents of urltracker.admin-token beside the database."
		h.render(w, r, http.StatusUnauthorized, "login", lp)
		return
	case errors.Is(err, auth.ErrWrongCredentials):
		lp.AskCode = r.PostForm.Has("code")
		lp.Error = "Wrong name, password or code."
		h.render(w, r, http.StatusUnauthorized, "login", lp)
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	cookie, expires, err := h.d.Auth.StartSession(r.Context(), userID, addr, r.UserAgent())
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	h.setCookie(w, r, sessionCookie, cookie, int(time.Until(expires).Seconds()))
	h.d.Logger.Info("dashboard: signed in", "user", who, "client_addr", addr)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *handlers) logoutForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "logout", &page{Title: "Sign out", LoggedIn: true})
}

// logout ends the session in the database, not only in this browser: a
// copy of the cookie is worth nothing afterwards.
func (h *handlers) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := h.d.Auth.EndSession(r.Context(), c.Value); err != nil {
			h.storageError(w, r, err)
			return
		}
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login?done=signed-out", http.StatusSeeOther)
}

// --- overview and kill switch

type overviewPage struct {
	page
	Enabled      bool
	ActiveOffers int
	Stats        store.HourStats
	Checks       []store.OfferCheck
	Actions      []store.OfferAction
	Glance       []glanceRow
}

func (h *handlers) loadOverview(r *http.Request) (*overviewPage, error) {
	ctx := r.Context()
	p := &overviewPage{page: page{Title: "Overview", Nav: "overview", LoggedIn: true, Instance: h.d.Instance}}
	var err error
	if p.Enabled, err = h.d.DB.KillSwitch(ctx); err != nil {
		return nil, err
	}
	if p.ActiveOffers, err = h.d.DB.ActiveOfferCount(ctx); err != nil {
		return nil, err
	}
	if p.Stats, err = h.d.DB.LastHour(ctx); err != nil {
		return nil, err
	}
	if p.Checks, err = h.d.DB.RecentChecks(ctx, listLimit); err != nil {
		return nil, err
	}
	if p.Actions, err = h.d.DB.RecentActions(ctx, listLimit); err != nil {
		return nil, err
	}
	if p.Glance, err = loadGlance(ctx, h.d.DB); err != nil {
		return nil, err
	}
	return p, nil
}

func (h *handlers) overview(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadOverview(r)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", p)
}

func (h *handlers) overviewLive(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadOverview(r)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	h.renderLive(w, r, "overview", "overview-live", p)
}

type killSwitchPage struct {
	page
	Enable bool
}

// killSwitchForm asks to confirm a kill switch change.
func (h *handlers) killSwitchForm(w http.ResponseWriter, r *http.Request) {
	enable, err := strconv.ParseBool(r.URL.Query().Get("enabled"))
	if err != nil {
		h.renderError(w, r, http.StatusBadRequest, "enabled must be true or false.")
		return
	}
	title := "Turn automation off?"
	if enable {
		title = "Turn automation on?"
	}
	h.render(w, r, http.StatusOK, "killswitch", &killSwitchPage{page: page{Title: title, Nav: "overview", LoggedIn: true}, Enable: enable})
}

func (h *handlers) killSwitch(w http.ResponseWriter, r *http.Request) {
	enable, err := strconv.ParseBool(r.PostFormValue("enabled"))
	if err != nil {
		h.renderError(w, r, http.StatusBadRequest, "enabled must be true or false; nothing was changed.")
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > 500 {
		h.renderError(w, r, http.StatusBadRequest, "The reason is longer than 500 characters; nothing was changed.")
		return
	}
	p, _ := auth.From(r.Context())
	previous, err := h.d.DB.SetKillSwitch(r.Context(), enable, p.Actor(h.d.Instance), reason)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	auditedInStore(r)
	h.d.Logger.Warn("kill switch set", "previous_state", previous, "current_state", enable, "via", "dashboard", "by", p.Name, "client_addr", p.Address, "reason", reason)
	done := "automation-off"
	if enable {
		done = "automation-on"
	}
	http.Redirect(w, r, "/?done="+done, http.StatusSeeOther)
}

// --- offers

type offerRow struct {
	store.OfferRecord
	WebhooksLastHour int64
}

type offersPage struct {
	page
	Offers []offerRow
}

func (h *handlers) loadOffers(r *http.Request) (*offersPage, error) {
	recs, err := h.d.DB.Offers(r.Context(), 1000)
	if err != nil {
		return nil, err
	}
	counts, err := h.d.DB.WebhooksSinceByOffer(r.Context(), h.d.Now().Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	p := &offersPage{page: page{Title: "Offers", Nav: "offers", LoggedIn: true}}
	for _, rec := range recs {
		p.Offers = append(p.Offers, offerRow{OfferRecord: rec, WebhooksLastHour: counts[rec.ID]})
	}
	return p, nil
}

func (h *handlers) offers(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadOffers(r)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "offers", p)
}

func (h *handlers) offersLive(w http.ResponseWriter, r *http.Request) {
	p, err := h.loadOffers(r)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	h.renderLive(w, r, "offers", "offers-live", p)
}

type offerPage struct {
	page
	Offer   store.OfferRecord
	PushURL string
	Checks  []urltracker.Check
	Events  []urltracker.Event
	Actions []urltracker.Action
	Health  store.Health
	// OpenCheck is the check shown open: the one "Check now" just ran.
	OpenCheck int64
	// Mismatch counts recent pushes from another campaign than the bound
	// one.
	Mismatch store.CampaignMismatch
}

// loadOffer loads the offer of the {id} path value; it answers the request
// itself and returns false when it cannot.
func (h *handlers) loadOffer(w http.ResponseWriter, r *http.Request) (store.OfferRecord, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "There is no such offer: offer ids are positive numbers.")
		return store.OfferRecord{}, false
	}
	rec, err := h.d.DB.Offer(r.Context(), id)
	if errors.Is(err, urltracker.ErrNotFound) {
		h.renderError(w, r, http.StatusNotFound, fmt.Sprintf("There is no offer %d; it may have been deleted.", id))
		return rec, false
	}
	if err != nil {
		h.storageError(w, r, err)
		return rec, false
	}
	return rec, true
}

func (h *handlers) loadOfferPage(w http.ResponseWriter, r *http.Request) (*offerPage, bool) {
	rec, ok := h.loadOffer(w, r)
	if !ok {
		return nil, false
	}
	p := &offerPage{page: page{Title: rec.Name, Nav: "offers", LoggedIn: true}, Offer: rec, PushURL: h.d.PushURL(rec.WebhookToken)}
	ctx := r.Context()
	checks, err := h.d.DB.Checks(ctx, rec.ID, listLimit)
	if err == nil {
		p.Checks = checks
		p.Events, err = h.d.DB.Events(ctx, rec.ID, listLimit)
	}
	if err == nil {
		p.Actions, err = h.d.DB.Actions(ctx, rec.ID, listLimit)
	}
	if err == nil {
		p.Health, err = h.d.DB.Health(ctx, rec.ID)
	}
	if err == nil {
		p.Mismatch, err = h.d.DB.CampaignMismatches(ctx, rec.ID)
	}
	if err != nil {
		h.storageError(w, r, err)
		return nil, false
	}
	return p, true
}

func (h *handlers) offer(w http.ResponseWriter, r *http.Request) {
	p, ok := h.loadOfferPage(w, r)
	if !ok {
		return
	}
	if q := r.URL.Query(); q.Get("done") == "checked" {
		// The notice is built from the stored check, never from the URL.
		id, _ := strconv.ParseInt(q.Get("check"), 10, 64)
		for _, c := range p.Checks {
			if c.ID == id {
				p.OpenCheck = id
				p.Notice = fmt.Sprintf("Check done: %s in %d ms, %s. It is open below.", verdictLabel(c.Verdict), c.DurationMS, plural(len(c.Chain), "hop", "hops"))
			}
		}
	}
	h.render(w, r, http.StatusOK, "offer", p)
}

func (h *handlers) offerLive(w http.ResponseWriter, r *http.Request) {
	if p, ok := h.loadOfferPage(w, r); ok {
		h.renderLive(w, r, "offer", "offer-live", p)
	}
}

// checkNow runs a check of the offer now, past the debounce.
func (h *handlers) checkNow(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadOffer(w, r)
	if !ok {
		return
	}
	check, err := h.d.Runner.Run(r.Context(), rec.ID)
	switch {
	case errors.Is(err, jobs.ErrKillSwitchOff):
		h.renderError(w, r, http.StatusConflict, "Automation is switched off, so no check was run. Turn it back on from the overview first.")
	case errors.Is(err, jobs.ErrOfferDisabled):
		h.renderError(w, r, http.StatusConflict, "This offer is disabled, so no check was run. Edit the offer and tick “Enabled” first.")
	case err != nil:
		h.storageError(w, r, err)
	default:
		http.Redirect(w, r, fmt.Sprintf("/offers/%d?done=checked&check=%d#check-%d", rec.ID, check.ID, check.ID), http.StatusSeeOther)
	}
}

func (h *handlers) newOfferForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "offer_form", newOfferFormPage(nil, offerValues(urltracker.NewOffer()), nil))
}

func (h *handlers) createOffer(w http.ResponseWriter, r *http.Request) {
	o, values, fe := offerFromForm(r.PostForm, urltracker.NewOffer())
	if fe == nil {
		rec, err := h.d.DB.CreateOffer(r.Context(), o)
		switch {
		case errors.Is(err, urltracker.ErrConflict):
			fe = urltracker.FieldErrors{"name": "an offer with this name already exists"}
		case err != nil:
			h.storageError(w, r, err)
			return
		default:
			http.Redirect(w, r, fmt.Sprintf("/offers/%d?done=created", rec.ID), http.StatusSeeOther)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, "offer_form", newOfferFormPage(nil, values, fe))
}

func (h *handlers) editOfferForm(w http.ResponseWriter, r *http.Request) {
	if rec, ok := h.loadOffer(w, r); ok {
		h.render(w, r, http.StatusOK, "offer_form", newOfferFormPage(&rec, offerValues(rec.Offer), nil))
	}
}

func (h *handlers) updateOffer(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadOffer(w, r)
	if !ok {
		return
	}
	o, values, fe := offerFromForm(r.PostForm, rec.Offer)
	if fe == nil {
		_, err := h.d.DB.UpdateOffer(r.Context(), o)
		switch {
		case errors.Is(err, urltracker.ErrConflict):
			fe = urltracker.FieldErrors{"name": "an offer with this name already exists"}
		case err != nil:
			h.storageError(w, r, err)
			return
		default:
			http.Redirect(w, r, fmt.Sprintf("/offers/%d?done=saved", rec.ID), http.StatusSeeOther)
			return
		}
	}
	h.render(w, r, http.StatusUnprocessableEntity, "offer_form", newOfferFormPage(&rec, values, fe))
}

type deletePage struct {
	page
	Offer store.OfferRecord
}

func (h *handlers) deleteOfferForm(w http.ResponseWriter, r *http.Request) {
	if rec, ok := h.loadOffer(w, r); ok {
		h.render(w, r, http.StatusOK, "offer_delete", &deletePage{page: page{Title: "Delete " + rec.Name + "?", Nav: "offers", LoggedIn: true}, Offer: rec})
	}
}

func (h *handlers) deleteOffer(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadOffer(w, r)
	if !ok {
		return
	}
	p, _ := auth.From(r.Context())
	if err := h.d.Queue.DeleteOffer(r.Context(), rec.ID, p.Actor(h.d.Instance)); err != nil && !errors.Is(err, urltracker.ErrNotFound) {
		h.storageError(w, r, err)
		return
	}
	auditedInStore(r)
	http.Redirect(w, r, "/offers?done=deleted", http.StatusSeeOther)
}

// approveAction sends a destination proposal, as the API's approve does.
func (h *handlers) approveAction(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadOffer(w, r)
	if !ok {
		return
	}
	actionID, err := strconv.ParseInt(r.PathValue("actionID"), 10, 64)
	if err != nil || actionID <= 0 {
		h.renderError(w, r, http.StatusNotFound, "There is no such proposal: action ids are positive numbers.")
		return
	}
	_, err = h.d.Queue.Approve(r.Context(), rec.ID, actionID)
	switch {
	case errors.Is(err, urltracker.ErrNotFound), errors.Is(err, urltracker.ErrConflict):
		h.renderError(w, r, http.StatusConflict, "This proposal cannot be approved: "+err.Error()+".")
	case err != nil:
		h.storageError(w, r, err)
	default:
		http.Redirect(w, r, fmt.Sprintf("/offers/%d?done=approved", rec.ID), http.StatusSeeOther)
	}
}

// --- trace tool

type tracePage struct {
	page
	URL          string
	ExpectedHost string
	URLError     string
	HostError    string
	Result       *urltracker.Check
}

// trace follows a URL on request. It is a GET form: tracing changes nothing
// stored, and the session cookie is never sent by other sites' requests.
func (h *handlers) trace(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &tracePage{
		page: page{Title: "Trace a link", Nav: "trace", LoggedIn: true},
		URL:  strings.TrimSpace(q.Get("url")), ExpectedHost: strings.ToLower(strings.TrimSpace(q.Get("expected_host"))),
	}
	if caller, _ := auth.From(r.Context()); q.Has("url") && !caller.Role.Allows(urltracker.RoleOperator) {
		h.renderError(w, r, http.StatusForbidden, "Tracing a link needs the role operator or higher: it sends requests out. Ask an admin.")
		return
	}
	if q.Has("url") {
		// The same rules as an offer's URL and expected host.
		fe := urltracker.Offer{Name: "trace", URL: p.URL, ExpectedHost: p.ExpectedHost, UpdateIntervalSeconds: 1}.Normalize().Validate()
		p.URLError, p.HostError = fe["url"], fe["expected_host"]
		if fe == nil {
			check := h.d.Tracer.Trace(r.Context(), tracer.Request{URL: p.URL, ExpectedHost: p.ExpectedHost})
			p.Result = &check
		}
	}
	h.render(w, r, http.StatusOK, "trace", p)
}
