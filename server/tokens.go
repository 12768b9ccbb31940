package server

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
)

// maxTokenDays bounds expires_in_days: a token should be rotated at
// least yearly.
const maxTokenDays = 366

type tokenInput struct {
	Name string          `json:"name"`
	Role urltracker.Role `json:"role"`
	// ExpiresInDays is the token's lifetime (default 90, 0 = never).
	ExpiresInDays *int `json:"expires_in_days"`
	// UserID makes the token for another user (admins only; required for
	// the admin token, which is nobody).
	UserID int64 `json:"user_id"`
}

// handleTokenCreate creates an API token and answers it once; only its
// hash is kept.
func handleTokenCreate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		var in tokenInput
		if !decodeJSON(w, r, &in) {
			return
		}
		fe := urltracker.FieldErrors{}
		in.Name = strings.TrimSpace(in.Name)
		if in.Name == "" || len(in.Name) > 64 || !utf8.ValidString(in.Name) || strings.ContainsAny(in.Name, "/\x00") {
			fe["name"] = "1 to 64 characters without /"
		}
		if in.Role != "" && !in.Role.Valid() {
			fe["role"] = "one of viewer, operator, admin"
		}
		days := 90
		if in.ExpiresInDays != nil {
			days = *in.ExpiresInDays
		}
		if days < 0 || days > maxTokenDays {
			fe["expires_in_days"] = fmt.Sprintf("0 (never) to %d", maxTokenDays)
		}
		userID := p.UserID
		if in.UserID != 0 && in.UserID != p.UserID {
			if !p.Role.Allows(urltracker.RoleAdmin) {
				fe["user_id"] = "only an admin may create tokens for other users"
			}
			userID = in.UserID
		}
		if userID == 0 {
			fe["user_id"] = "the admin token is nobody: name the user the token acts for"
		}
		if len(fe) > 0 {
			writeFieldErrors(w, fe)
			return
		}
		u, err := d.DB.User(r.Context(), userID)
		if err != nil {
			storeError(w, err)
			return
		}
		role := in.Role
		if role == "" {
			role = u.Role.Min(p.Role)
		}
		if !u.Role.Allows(role) || !p.Role.Allows(role) {
			writeFieldErrors(w, urltracker.FieldErrors{"role": fmt.Sprintf("at most %s: a token never exceeds its user's role or yours", u.Role.Min(p.Role))})
			return
		}
		var expires *time.Time
		if days > 0 {
			t := d.Now().Add(time.Duration(days) * 24 * time.Hour).UTC()
			expires = &t
		}
		secret := auth.NewAPIToken()
		t, err := d.DB.CreateAPIToken(r.Context(), u.ID, in.Name, role, auth.HashSecret(secret), expires)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"success": true, "token": secret, "api_token": t,
			"message": "copy the token now: it is not shown again",
		})
	})
}

// handleTokenList lists the caller's tokens; an admin may ask for one
// user's (?user_id=N) or everyone's (?all=true).
func handleTokenList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := auth.From(r.Context())
		q := r.URL.Query()
		userID := p.UserID
		if q.Has("user_id") || q.Get("all") == "true" {
			if !p.Role.Allows(urltracker.RoleAdmin) {
				writeError(w, http.StatusForbidden, "only an admin may list other users' tokens")
				return
			}
			userID = 0
			if q.Has("user_id") {
				n, err := strconv.ParseInt(q.Get("user_id"), 10, 64)
				if err != nil || n < 1 {
					writeError(w, http.StatusBadRequest, "user_id must be a positive integer user id")
					return
				}
				userID = n
			}
		} else if userID == 0 {
			writeJSON(w, http.StatusOK, map[string]any{"tokens": []any{}})
			return
		}
		tokens, err := d.DB.APITokens(r.Context(), userID)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"tokens": tokens})
	})
}

// handleTokenDelete revokes a token: the caller's own, or anyone's for an
// admin.
func handleTokenDelete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		p, _ := auth.From(r.Context())
		t, err := d.DB.APIToken(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		if t.UserID != p.UserID && !p.Role.Allows(urltracker.RoleAdmin) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("API token %d: not found", id))
			return
		}
		t, err = d.DB.RevokeAPIToken(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "api_token": t})
	})
}
