package dashboard

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/internal/statusrec"
	"github.com/urltracker/urltracker/store"
)

// auditNote lets a form handler whose change the store audits itself (the
// kill switch, deleting an offer) say so, so that it is not recorded twice.
type auditNote struct{ done bool }

type auditNoteKey struct{}

func auditedInStore(r *http.Request) {
	if n, ok := r.Context().Value(auditNoteKey{}).(*auditNote); ok {
		n.done = true
	}
}

// secretFields never reach the audit log.
var secretWords = []string{"key", "secret", "password", "token", "code", "webhook", "csrf"}

// audited records a form that changed something (answered below 400) in
// the audit log: who sent it, from where, and its fields, secrets redacted.
func (h *handlers) audited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		note := &auditNote{}
		r = r.WithContext(context.WithValue(r.Context(), auditNoteKey{}, note))
		rec := &statusrec.Recorder{ResponseWriter: w}
		next(rec, r)
		if note.done || rec.Status >= 400 {
			return
		}
		fields := map[string]string{}
		for k, v := range r.PostForm {
			lk := strings.ToLower(k)
			secret := false
			for _, s := range secretWords {
				secret = secret || strings.Contains(lk, s)
			}
			switch {
			case lk == "csrf":
			case secret:
				fields[k] = "(redacted)"
			case len(v) > 0:
				fields[k] = v[0]
			}
		}
		p, _ := auth.From(r.Context())
		action := "dashboard " + r.Method + " " + strings.TrimPrefix(r.Pattern, r.Method+" ")
		if err := h.d.DB.Audit(r.Context(), p.Actor(h.d.Instance), action, map[string]any{"path": r.URL.Path, "form": fields}); err != nil {
			h.d.Logger.Error("dashboard: write audit log", "action", action, "err", err)
		}
	}
}

// auditPageSize is how many entries the audit page shows at once.
const auditPageSize = 50

type auditPage struct {
	page
	Entries []store.AuditEntry
	Actor   string
	Action  string
	// Older links to the next page; empty on the last.
	Older string
}

// audit shows the audit log, newest first, filtered by actor or action.
func (h *handlers) audit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := &auditPage{page: page{Title: "Audit log", Nav: "audit", LoggedIn: true}, Actor: q.Get("actor"), Action: q.Get("action")}
	f := store.AuditFilter{Limit: auditPageSize, Actor: p.Actor, Action: p.Action}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			h.renderError(w, r, http.StatusBadRequest, "before must be a positive entry number.")
			return
		}
		f.Before = n
	}
	entries, err := h.d.DB.AuditLog(r.Context(), f)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	p.Entries = entries
	if len(entries) == auditPageSize {
		older := q
		older.Set("before", strconv.FormatInt(entries[len(entries)-1].ID, 10))
		p.Older = "/audit?" + older.Encode()
	}
	h.render(w, r, http.StatusOK, "audit", p)
}
