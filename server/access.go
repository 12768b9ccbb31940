package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/internal/statusrec"
)

// requireRole lets through callers with at least role need, known by the
// admin token or an API token, and records every write they make in the
// audit log. A caller without credentials gets 401, one whose role is too
// low 403.
func requireRole(d Deps, need urltracker.Role) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := d.Auth.Bearer(r)
			switch {
			case errors.Is(err, auth.ErrNoCredentials), errors.Is(err, auth.ErrBadCredentials):
				w.Header().Set("WWW-Authenticate", `Bearer realm="urltracker"`)
				msg := "a token is required: send Authorization: Bearer <API token or URLTRACKER_ADMIN_TOKEN>"
				if errors.Is(err, auth.ErrBadCredentials) {
					msg = "this token is not valid (wrong, expired, revoked, or its user is disabled): create a new one with POST /api/tokens"
				}
				writeError(w, http.StatusUnauthorized, msg)
				return
			case err != nil:
				logFailure(d.Logger, r, "authenticate", "err", err)
				writeError(w, http.StatusServiceUnavailable, "storage unavailable, try again")
				return
			}
			if !p.Role.Allows(need) {
				writeError(w, http.StatusForbidden, string(p.Role)+" may not do this: it needs the role "+string(need)+" or higher; ask an admin")
				return
			}
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				next.ServeHTTP(w, r)
				return
			}
			auditWrite(d, next, w, r, p)
		})
	}
}

// auditNote lets a handler that audits its change itself (in the same
// transaction, like the kill switch) say so, so that the change is not
// recorded twice.
type auditNote struct{ done bool }

type auditNoteKey struct{}

// auditedInStore marks r's change as already in the audit log.
func auditedInStore(r *http.Request) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.done = true
	}
}

// maxAuditBody is the most of a request body kept in an audit entry.
const maxAuditBody = 4 << 10

// auditWrite serves a write and, when it succeeded, records who made it,
// from where, and what they sent (secrets redacted).
func auditWrite(d Deps, next http.Handler, w http.ResponseWriter, r *http.Request, p auth.Principal) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxJSONBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, "could not read request body: "+err.Error())
		return
	}
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	note := &auditNote{}
	r = r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note))
	rec := &statusrec.Recorder{ResponseWriter: w}
	next.ServeHTTP(rec, r)
	if note.done || rec.Status >= 400 || rec.Status == 0 {
		return
	}
	detail := map[string]any{"path": r.URL.Path}
	if q := redactQuery(r.URL.Query()); len(q) > 0 {
		detail["query"] = q
	}
	if len(body) > 0 {
		b := redactBody(body)
		// A channel's url is its secret (an incoming webhook's path is
		// the key); an offer's url is not.
		if m, ok := b.(map[string]any); ok && strings.HasPrefix(r.URL.Path, "/api/channels") && m["url"] != nil {
			m["url"] = "(redacted)"
		}
		detail["body"] = b
	}
	action := r.Method + " " + strings.TrimPrefix(r.Pattern, r.Method+" ")
	if err := d.DB.Audit(r.Context(), p.Actor(d.Instance), action, detail); err != nil {
		logFailure(d.Logger, r, "write audit log", "action", action, "err", err)
	}
}

// secretWords mark the fields whose values never reach the audit log.
var secretWords = []string{"key", "secret", "password", "token", "code", "webhook", "alert_url"}

func isSecretField(name string) bool {
	name = strings.ToLower(name)
	for _, w := range secretWords {
		if strings.Contains(name, w) {
			return true
		}
	}
	return false
}

func redactQuery(q url.Values) map[string]string {
	out := map[string]string{}
	for k, v := range q {
		if isSecretField(k) {
			out[k] = "(redacted)"
		} else if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out
}

// redactBody returns a JSON body with its secret fields redacted, or a
// note of its size when it is not JSON or too large to keep.
func redactBody(body []byte) any {
	var v any
	if len(body) > maxAuditBody || json.Unmarshal(body, &v) != nil {
		return map[string]int{"bytes": len(body)}
	}
	return redactValue(v)
}

func redactValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if isSecretField(k) {
				x[k] = "(redacted)"
			} else {
				x[k] = redactValue(e)
			}
		}
	case []any:
		for i, e := range x {
			x[i] = redactValue(e)
		}
	}
	return v
}
