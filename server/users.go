package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/store"
)

// handleMe answers who the caller is.
func handleMe(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		ans := map[string]any{"name": p.Name, "role": p.Role, "address": p.Address, "user": nil}
		if p.UserID > 0 {
			u, err := d.DB.User(r.Context(), p.UserID)
			if err != nil {
				storeError(w, err)
				return
			}
			ans["user"] = u
		}
		writeJSON(w, http.StatusOK, ans)
	})
}

func handleUserList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		users, err := d.DB.Users(r.Context())
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"users": users})
	})
}

func handleUserGet(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		u, err := d.DB.User(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, u)
	})
}

type userInput struct {
	Name     string           `json:"name"`
	Role     *urltracker.Role `json:"role"`
	Password *string          `json:"password"`
	Disabled *bool            `json:"disabled"`
	// ResetTOTP removes the user's second factor (a lost phone).
	ResetTOTP bool `json:"reset_totp"`
}

func (in userInput) check(fe urltracker.FieldErrors) {
	if in.Role != nil && !in.Role.Valid() {
		fe["role"] = "one of viewer, operator, admin"
	}
	if in.Password != nil && len(*in.Password) < auth.MinPasswordLength {
		fe["password"] = fmt.Sprintf("at least %d characters", auth.MinPasswordLength)
	}
}

// handleUserCreate adds a user. Without a password, one is generated and
// answered once.
func handleUserCreate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in userInput
		if !decodeJSON(w, r, &in) {
			return
		}
		fe := urltracker.FieldErrors{}
		if msg := urltracker.ValidUserName(in.Name); msg != "" {
			fe["name"] = msg
		}
		if in.Role == nil {
			fe["role"] = "required: viewer, operator or admin"
		}
		if in.Disabled != nil || in.ResetTOTP {
			fe["disabled"] = "set only on an existing user (PATCH)"
		}
		in.check(fe)
		if len(fe) > 0 {
			writeFieldErrors(w, fe)
			return
		}
		password, generated := "", false
		if in.Password != nil {
			password = *in.Password
		} else {
			password, generated = auth.NewPassword(), true
		}
		hash, err := auth.HashPassword(password)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		u, err := d.DB.CreateUser(r.Context(), in.Name, *in.Role, hash)
		if err != nil {
			storeError(w, err)
			return
		}
		ans := map[string]any{"success": true, "user": u}
		if generated {
			ans["password"] = password
		}
		writeJSON(w, http.StatusCreated, ans)
	})
}

// handleUserPatch changes a user's role, password, second factor or
// disabled flag; all but re-enabling also end the user's sessions.
func handleUserPatch(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		var in userInput
		if !decodeJSON(w, r, &in) {
			return
		}
		fe := urltracker.FieldErrors{}
		if in.Name != "" {
			fe["name"] = "a user's name cannot change: create a new user"
		}
		in.check(fe)
		if len(fe) > 0 {
			writeFieldErrors(w, fe)
			return
		}
		ch := store.UserChange{Role: in.Role, Disabled: in.Disabled}
		if in.Password != nil {
			hash, err := auth.HashPassword(*in.Password)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			ch.PasswordHash = &hash
		}
		if in.ResetTOTP {
			empty, none := "", []string{}
			ch.TOTPSecret, ch.TOTPPending, ch.RecoveryCodes = &empty, &empty, &none
		}
		u, err := d.DB.UpdateUser(r.Context(), id, ch)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "user": u})
	})
}

// handleSessionList lists the caller's own dashboard sessions; an admin
// may ask for one user's (?user_id=N) or everyone's (?all=true).
func handleSessionList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		q := r.URL.Query()
		userID, adminToken := p.UserID, p.UserID == 0
		if q.Has("user_id") || q.Get("all") == "true" {
			if !p.Role.Allows(urltracker.RoleAdmin) {
				writeError(w, http.StatusForbidden, "only an admin may list other users' sessions")
				return
			}
			userID, adminToken = 0, false
			if q.Has("user_id") {
				n, err := strconv.ParseInt(q.Get("user_id"), 10, 64)
				if err != nil || n < 1 {
					writeError(w, http.StatusBadRequest, "user_id must be a positive integer user id")
					return
				}
				userID = n
			}
		}
		sessions, err := d.DB.Sessions(r.Context(), userID, adminToken)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"sessions": sessions})
	})
}

// handleSessionDelete ends a session: the caller's own, or anyone's for an
// admin.
func handleSessionDelete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		p, _ := auth.From(r.Context())
		s, err := d.DB.Session(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		own := (s.UserID != nil && *s.UserID == p.UserID) || (s.UserID == nil && p.UserID == 0)
		if !own && !p.Role.Allows(urltracker.RoleAdmin) {
			// Not found rather than forbidden: whose sessions exist is
			// not the caller's business.
			writeError(w, http.StatusNotFound, fmt.Sprintf("session %d: not found", id))
			return
		}
		if err := d.DB.DeleteSession(r.Context(), id); err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "deleted": id})
	})
}

// handleAudit lists the audit log, newest first, a page at a time:
// ?before= the next_before of the previous page.
func handleAudit(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, ok := listLimit(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		f := store.AuditFilter{Limit: limit, Actor: q.Get("actor"), Action: q.Get("action")}
		if v := q.Get("before"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				writeError(w, http.StatusBadRequest, "before must be a positive integer entry id (next_before of the previous page)")
				return
			}
			f.Before = n
		}
		for _, t := range []struct {
			name string
			dst  *time.Time
		}{{"since", &f.Since}, {"until", &f.Until}} {
			if v := q.Get(t.name); v != "" {
				at, err := time.Parse(time.RFC3339, v)
				if err != nil {
					writeError(w, http.StatusBadRequest, t.name+" must be an RFC 3339 time such as 2026-12-01T00:00:00Z")
					return
				}
				*t.dst = at
			}
		}
		entries, err := d.DB.AuditLog(r.Context(), f)
		if err != nil {
			storeError(w, err)
			return
		}
		var next *int64
		if len(entries) == limit {
			next = &entries[len(entries)-1].ID
		}
		writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next_before": next})
	})
}

// handleTOTPStart offers the caller a new second factor: a secret kept
// pending until a code from it confirms it (handleTOTPConfirm), so that a
// mistyped setup cannot lock anybody out.
func handleTOTPStart(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		if p.UserID == 0 {
			writeError(w, http.StatusBadRequest, "the admin token is nobody and has no second factor: use a user's token")
			return
		}
		u, err := d.DB.User(r.Context(), p.UserID)
		if err != nil {
			storeError(w, err)
			return
		}
		if u.TOTP {
			writeError(w, http.StatusConflict, "a second factor is set already: an admin removes it (PATCH /api/users/{id} {\"reset_totp\":true} or urltracker user reset) before a new one")
			return
		}
		secret := auth.NewTOTPSecret()
		if _, err := d.DB.UpdateUser(r.Context(), u.ID, store.UserChange{TOTPPending: &secret}); err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"secret": secret, "uri": auth.TOTPURI("urltracker", u.Name, secret),
			"message": "add it to an authenticator app, then POST /api/me/totp/confirm {\"code\":…} with the code it shows",
		})
	})
}

// handleTOTPConfirm turns the pending secret on when code matches it, and
// answers ten one-time recovery codes, once. The user's sessions end: they
// sign in again with the code.
func handleTOTPConfirm(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		var in struct {
			Code string `json:"code"`
		}
		if !decodeJSON(w, r, &in) {
			return
		}
		if p.UserID == 0 {
			writeError(w, http.StatusBadRequest, "the admin token is nobody and has no second factor: use a user's token")
			return
		}
		u, err := d.DB.User(r.Context(), p.UserID)
		if err != nil {
			storeError(w, err)
			return
		}
		if u.TOTPPending == "" {
			writeError(w, http.StatusConflict, "no second factor is being set up: POST /api/me/totp first")
			return
		}
		if !auth.CheckTOTP(u.TOTPPending, in.Code, d.Now()) {
			writeFieldErrors(w, urltracker.FieldErrors{"code": "not the current code of the pending secret: check the authenticator app's clock and try the next code"})
			return
		}
		codes, hashes := auth.NewRecoveryCodes(10)
		empty := ""
		if _, err := d.DB.UpdateUser(r.Context(), u.ID, store.UserChange{TOTPSecret: &u.TOTPPending, TOTPPending: &empty, RecoveryCodes: &hashes}); err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"success": true, "recovery_codes": codes,
			"message": "second factor on; keep the recovery codes safe: each works once and they are not shown again",
		})
	})
}
