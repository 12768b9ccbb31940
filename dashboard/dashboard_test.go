package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/dashboard"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/notify"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
	"github.com/urltracker/urltracker/trackier"
	"github.com/urltracker/urltracker/trackierimport"
)

const adminToken = "dashboard-test-admin-token-0123"

// clock is a settable clock for session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a dashboard over a real SQLite database, served over loopback.
type env struct {
	t     *testing.T
	DB    *store.DB
	Clock *clock
	URL   string
	dbURL string
}

func openDB(t *testing.T, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, Clock: &clock{t: time.Now()}, dbURL: "sqlite:" + filepath.Join(t.TempDir(), "dash.db")}
	e.DB = openDB(t, e.dbURL)
	e.URL = e.serve(e.DB, adminToken)
	return e
}

// serve starts a dashboard on db, as one instance (or one start) would.
func (e *env) serve(db *store.DB, token string) string {
	logger := slog.New(slog.DiscardHandler)
	trc := tracer.New(tracer.Config{
		Timeout: 5 * time.Second, HopTimeout: 2 * time.Second,
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	})
	runner := &jobs.Runner{DB: db, Tracer: trc, Logger: logger}
	queue, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1, Logger: logger, Notifier: notify.NewSender(5 * time.Second)})
	if err != nil {
		e.t.Fatal(err)
	}
	mux := http.NewServeMux()
	dashboard.Register(mux, dashboard.Deps{
		DB: db, Queue: queue, Runner: runner, Tracer: trc, Logger: logger,
		AdminToken: token, Instance: "dash-test", Now: e.Clock.Now,
		PushURL: func(tok string) string {
			return "http://push.example/api/trackier-webhook?token=" + tok + "&click_id={click_id}"
		},
		// The API's connection test is the server's; here it only says that
		// it was reached (cmd/urltracker tests the real one end to end).
		TrackierTest: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"success":true,"offer":%q}`, r.PathValue("id"))
		}),
		Import: trackierimport.Importer{DB: db, Trackier: trackier.New(5 * time.Second)}.Import,
	})
	srv := httptest.NewServer(mux)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

// browser is an HTTP client with cookies that does not follow redirects, so
// that tests see them.
type browser struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.URL, hc: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Location: resp.Header.Get("Location"), Body: string(body), Header: resp.Header}
}

// cookie returns the value of the browser's cookie name for the site.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.hc.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// setCookie puts a cookie in the browser, as one copied from elsewhere.
func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.base)
	b.hc.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.base+path, nil)
	return b.do(req)
}

// post sends a form; the CSRF token of the page at csrfFrom is added unless
// csrfFrom is empty.
func (b *browser) post(path string, form url.Values, csrfFrom string) page {
	b.t.Helper()
	if csrfFrom != "" {
		form.Set("csrf", b.csrf(csrfFrom))
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("GET %s: no CSRF token in the page (status %d):\n%s", path, p.Status, p.Body)
	}
	return m[1]
}

func (b *browser) login() {
	b.t.Helper()
	p := b.post("/login", url.Values{"token": {adminToken}}, "/login")
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("login: status %d\n%s", p.Status, p.Body)
	}
}

// createOffer creates an offer through the form and returns its page path.
func (b *browser) createOffer(form url.Values) string {
	b.t.Helper()
	if !form.Has("update_interval_seconds") {
		form.Set("update_interval_seconds", "300")
	}
	if !form.Has("enabled") {
		form.Set("enabled", "on")
	}
	p := b.post("/offers/new", form, "/offers/new")
	if p.Status != http.StatusSeeOther {
		b.t.Fatalf("create offer: status %d\n%s", p.Status, p.Body)
	}
	path, _, _ := strings.Cut(p.Location, "?")
	return path
}

func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s does not contain %q", what, w)
		}
	}
}

func mustNotContain(t *testing.T, what, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("%s contains %q", what, w)
		}
	}
}

func offerCount(t *testing.T, db *store.DB) int {
	t.Helper()
	offers, err := db.Offers(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(offers)
}

func newOffer(t *testing.T, db *store.DB, name, link string) store.OfferRecord {
	t.Helper()
	rec, err := db.CreateOffer(context.Background(), urltracker.Offer{Name: name, URL: link, UpdateIntervalSeconds: 300, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
