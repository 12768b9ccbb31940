package dashboard

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/store"
)

type accountPage struct {
	page
	Sessions []store.Session
	Tokens   []store.APIToken
	// Current is the id of this browser's session.
	Current int64
}

// account lists the signed-in user's sessions and API tokens, each with a
// way to end it.
func (h *handlers) account(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.From(r.Context())
	page := &accountPage{page: page{Title: "Your sessions and tokens", Nav: "account", LoggedIn: true}, Current: p.SessionID}
	var err error
	if page.Sessions, err = h.d.DB.Sessions(r.Context(), p.UserID, p.UserID == 0); err != nil {
		h.storageError(w, r, err)
		return
	}
	if p.UserID > 0 {
		if page.Tokens, err = h.d.DB.APITokens(r.Context(), p.UserID); err != nil {
			h.storageError(w, r, err)
			return
		}
	}
	h.render(w, r, http.StatusOK, "account", page)
}

// endSession ends one of the signed-in user's own sessions; ending this
// browser's is signing out.
func (h *handlers) endSession(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.From(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "There is no such session.")
		return
	}
	s, err := h.d.DB.Session(r.Context(), id)
	own := err == nil && ((s.UserID != nil && *s.UserID == p.UserID) || (s.UserID == nil && p.UserID == 0))
	switch {
	case errors.Is(err, urltracker.ErrNotFound) || (err == nil && !own):
		h.renderError(w, r, http.StatusNotFound, "There is no such session of yours: it may have ended already.")
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	if err := h.d.DB.DeleteSession(r.Context(), id); err != nil && !errors.Is(err, urltracker.ErrNotFound) {
		h.storageError(w, r, err)
		return
	}
	if id == p.SessionID {
		h.setCookie(w, r, sessionCookie, "", -1)
		http.Redirect(w, r, "/login?done=signed-out", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account?done=session-ended", http.StatusSeeOther)
}

// revokeToken revokes one of the signed-in user's own API tokens.
func (h *handlers) revokeToken(w http.ResponseWriter, r *http.Request) {
	p, _ := auth.From(r.Context())
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.renderError(w, r, http.StatusNotFound, "There is no such token.")
		return
	}
	t, err := h.d.DB.APIToken(r.Context(), id)
	switch {
	case errors.Is(err, urltracker.ErrNotFound) || (err == nil && (p.UserID == 0 || t.UserID != p.UserID)):
		h.renderError(w, r, http.StatusNotFound, "There is no such token of yours.")
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	if _, err := h.d.DB.RevokeAPIToken(r.Context(), id); err != nil {
		h.storageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=token-revoked", http.StatusSeeOther)
}
