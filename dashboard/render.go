package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/alert"
	"github.com/urltracker/urltracker/auth"
)

// page is what every page's layout needs; page data structs embed it.
type page struct {
	Title    string
	Nav      string // "overview", "offers" or "trace": the current menu item
	CSRF     string
	Instance string
	LoggedIn bool
	Notice   string
	Error    string
	// RefreshMS is how often the page's live parts are fetched again.
	RefreshMS int64
	// Now is when the page is drawn; times are shown relative to it.
	Now time.Time
	// AutomationOff is true while the kill switch is off: every page of a
	// signed-in admin says so in its header.
	AutomationOff bool
	// User and Role are who is signed in; pages offer only what the role
	// may do.
	User string
	Role urltracker.Role
}

func (p *page) basePage() *page { return p }

// CanOperate tells whether the signed-in role may check, trace, approve
// and use the kill switch.
func (p *page) CanOperate() bool { return p.Role.Allows(urltracker.RoleOperator) }

// CanAdmin tells whether the signed-in role may change offers and import.
func (p *page) CanAdmin() bool { return p.Role.Allows(urltracker.RoleAdmin) }

// setCaller fills in who is signed in, from the request's principal.
func (p *page) setCaller(r *http.Request) {
	if who, ok := auth.From(r.Context()); ok {
		p.User, p.Role = who.Name, who.Role
	}
}

type pageData interface{ basePage() *page }

// notices are the messages a redirect after a form can ask a page to show,
// by code, so that no one can put their own words on the page.
var notices = map[string]string{
	"created":        "Offer created. Copy its push URL into Trackier below.",
	"saved":          "Offer saved.",
	"deleted":        "Offer deleted.",
	"checked":        "Check done: it is at the top of the check history.",
	"approved":       "Approved: urltracker reads the campaign again and sends the new URL now; the result appears under Actions.",
	"automation-on":  "Automation is on again on every instance.",
	"automation-off": "Automation is off on every instance: no checks and no Trackier actions until you turn it back on.",
	"signed-out":     "You are signed out.",
	"session-ended":  "Session ended: that browser is signed out.",
	"token-revoked":  "Token revoked: it no longer works.",
}

// parseTemplates builds one template set per page: base.html (layout and
// shared parts) plus the page's own file.
func parseTemplates() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/base.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	sets := map[string]*template.Template{}
	for _, path := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "templates/"), ".html")
		if name == "base" {
			continue
		}
		sets[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, path))
	}
	return sets
}

var funcs = template.FuncMap{
	"when": when,
	"whenp": func(t *time.Time, now time.Time) moment {
		if t == nil {
			return moment{Never: true}
		}
		return when(*t, now)
	},
	// secretURL shows a URL whose path or query is a credential, such as a
	// Slack incoming webhook's, by its scheme and host alone.
	"secretURL": alert.RedactURL,
	"inc":       func(i int) int { return i + 1 },
	// wouldHave tells what observe mode would have done with a campaign.
	"wouldHave": func(kind urltracker.ActionKind) string {
		switch kind {
		case urltracker.ActionPause:
			return "would have held"
		case urltracker.ActionResume:
			return "would have resumed"
		case urltracker.ActionSetDestination:
			return "would have proposed a new URL for"
		}
		return "would have acted on"
	},
	"verdictClass": func(v urltracker.Verdict) string {
		switch v {
		case urltracker.VerdictHealthy:
			return "badge ok"
		case "":
			return "badge none"
		case urltracker.VerdictBroken, urltracker.VerdictBlocked:
			return "badge bad"
		default:
			return "badge warn"
		}
	},
	"verdictLabel": verdictLabel,
	"signalWords":  signalWords,
	"plural":       plural,
	"outcomeClass": func(o urltracker.ActionOutcome) string {
		switch o {
		case urltracker.ActionSucceeded:
			return "badge ok"
		case urltracker.ActionFailed:
			return "badge bad"
		case urltracker.ActionRetrying:
			return "badge warn"
		default:
			return "badge none"
		}
	},
	"label": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"percent": func(rate *float64) string {
		if rate == nil {
			return "–"
		}
		return fmt.Sprintf("%.1f %%", *rate*100)
	},
	"params": func(m map[string]string) [][2]string {
		kv := make([][2]string, 0, len(m))
		for k, v := range m {
			kv = append(kv, [2]string{k, v})
		}
		sort.Slice(kv, func(i, j int) bool { return kv[i][0] < kv[j][0] })
		return kv
	},
}

// moment is a time as pages show it: relative ("3 min ago"), with the
// absolute time on hover. app.js puts the absolute time in the browser's
// time zone and keeps the relative one current.
type moment struct {
	ISO, Absolute, Relative string
	Never                   bool
}

func when(t, now time.Time) moment {
	if t.IsZero() {
		return moment{Never: true}
	}
	return moment{ISO: t.UTC().Format(time.RFC3339), Absolute: t.UTC().Format("2006-01-02 15:04:05 UTC"), Relative: relative(t, now)}
}

// relative says how long before (or after) now t is, in the largest whole
// unit; app.js's relative() is the same function.
func relative(t, now time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < 5*time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d.Hours()))
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// verdictLabel names a verdict for people.
func verdictLabel(v urltracker.Verdict) string {
	if v == "" {
		return "not checked"
	}
	return strings.ReplaceAll(string(v), "_", " ")
}

// plural is "1 hop", "2 hops", "0 hops".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// render writes a whole page.
func (h *handlers) render(w http.ResponseWriter, r *http.Request, status int, name string, data pageData) {
	p := data.basePage()
	csrf, err := h.csrfFor(w, r)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	p.CSRF, p.Instance, p.RefreshMS, p.Now = csrf, h.d.Instance, liveRefresh.Milliseconds(), h.d.Now()
	p.setCaller(r)
	if p.LoggedIn {
		// Cached for at most 250 ms by the store: no query per page.
		on, err := h.d.DB.KillSwitch(r.Context())
		if err != nil {
			h.storageError(w, r, err)
			return
		}
		p.AutomationOff = !on
	}
	if p.Notice == "" {
		p.Notice = notices[r.URL.Query().Get("done")]
	}
	h.execute(w, status, name, "layout", data)
}

// renderLive writes one live part of a page, for the page's script.
func (h *handlers) renderLive(w http.ResponseWriter, r *http.Request, name, block string, data pageData) {
	data.basePage().Now = h.d.Now()
	data.basePage().setCaller(r)
	h.execute(w, http.StatusOK, name, block, data)
}

func (h *handlers) execute(w http.ResponseWriter, status int, name, block string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, block, data); err != nil {
		h.d.Logger.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; see the service log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorPage is a page that only says what went wrong.
type errorPage struct {
	page
	Status int
}

func (h *handlers) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	loggedIn, _ := h.loggedIn(r)
	h.render(w, r, status, "error", &errorPage{page: page{Title: http.StatusText(status), Error: msg, LoggedIn: loggedIn}, Status: status})
}

// storageError answers 503 when the database failed; the details go to the
// log, not to the page. A request the browser gave up on (a live refresh cut
// by navigation) is logged at DEBUG: it is not the service's failure.
func (h *handlers) storageError(w http.ResponseWriter, r *http.Request, err error) {
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelDebug
	}
	h.d.Logger.Log(context.WithoutCancel(r.Context()), level, "dashboard: storage", "path", r.URL.Path, "err", err)
	http.Error(w, "storage unavailable; try again in a moment", http.StatusServiceUnavailable)
}
