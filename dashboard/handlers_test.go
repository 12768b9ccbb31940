package dashboard_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

func TestPagesNeedASession(t *testing.T) {
	e := newEnv(t)
	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/x")
	id := fmt.Sprint(rec.ID)
	b := e.browser()
	for _, path := range []string{"/", "/offers", "/offers/new", "/trackier/import", "/offers/" + id, "/offers/" + id + "/edit",
		"/offers/" + id + "/delete", "/trace?url=http://127.0.0.1:9/", "/kill-switch?enabled=false", "/logout"} {
		p := b.get(path)
		want := "/login?next=" + url.QueryEscape(path)
		if path == "/" {
			want = "/login"
		}
		if p.Status != http.StatusSeeOther || p.Location != want {
			t.Errorf("GET %s: status %d to %q, want 303 to %q", path, p.Status, p.Location, want)
		}
	}
	for _, path := range []string{"/live/overview", "/live/offers", "/live/offers/" + id} {
		if p := b.get(path); p.Status != http.StatusUnauthorized {
			t.Errorf("GET %s: status %d, want 401", path, p.Status)
		}
	}
	// Even with a valid CSRF token, no session means no change.
	csrf := b.csrf("/login")
	for _, path := range []string{"/kill-switch", "/offers/new", "/trackier/import", "/offers/" + id + "/edit", "/offers/" + id + "/delete", "/offers/" + id + "/check", "/offers/" + id + "/trackier-test", "/logout"} {
		p := b.post(path, url.Values{"csrf": {csrf}, "enabled": {"false"}, "name": {"Changed"}, "url": {"http://a.example/"}, "update_interval_seconds": {"60"}}, "")
		if p.Status != http.StatusSeeOther || p.Location != "/login" {
			t.Errorf("POST %s: status %d to %q, want 303 to /login", path, p.Status, p.Location)
		}
	}
	if on, _ := e.DB.KillSwitch(context.Background()); !on {
		t.Error("kill switch was changed without a session")
	}
	if got, _ := e.DB.Offer(context.Background(), rec.ID); got.Name != "Shoes" {
		t.Errorf("offer renamed to %q without a session", got.Name)
	}
	if n := offerCount(t, e.DB); n != 1 {
		t.Errorf("%d offers, want 1", n)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()

	p := b.get("/login")
	mustContain(t, "login page", p.Body, `name="token"`, `type="password"`)

	p = b.post("/login", url.Values{"token": {"wrong-token-wrong-token"}}, "/login")
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("wrong token: status %d, want 401", p.Status)
	}
	mustContain(t, "login page after a wrong token", p.Body, "That is not the admin token", `name="token"`)
	if c := p.Header.Get("Set-Cookie"); strings.Contains(c, "urltracker_session") {
		t.Errorf("wrong token set a session cookie: %s", c)
	}
	if p := b.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("after a wrong token, /offers: status %d, want 303 to login", p.Status)
	}

	p = b.post("/login", url.Values{"token": {adminToken}, "next": {"/offers"}}, "/login")
	if p.Status != http.StatusSeeOther || p.Location != "/offers" {
		t.Fatalf("login: status %d to %q, want 303 to /offers", p.Status, p.Location)
	}
	cookie := p.Header.Get("Set-Cookie")
	mustContain(t, "session cookie", cookie, "urltracker_session=", "HttpOnly", "SameSite=Strict", "Max-Age=")
	mustNotContain(t, "session cookie over plain HTTP", cookie, "Secure", adminToken)
	if p := b.get("/offers"); p.Status != http.StatusOK {
		t.Errorf("after login, /offers: status %d", p.Status)
	}

	// Another site's address as next is not followed.
	p = e.browser().post("/login", url.Values{"token": {adminToken}, "next": {"//evil.example/"}}, "/login")
	if p.Location != "/" {
		t.Errorf("login with next=//evil.example/ redirects to %q, want /", p.Location)
	}
}

// TestLoginNextStaysOnThisSite signs in with next values that browsers
// would read as another site's address and checks where the answer sends
// the browser: always a path on this site.
func TestLoginNextStaysOnThisSite(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct{ next, want string }{
		{"/offers", "/offers"},
		{"/offers/7?check=3", "/offers/7?check=3"},
		{"/offers/a%20b", "/offers/a%20b"},
		{"/\t/evil.example", "/"},
		{"/\n/evil.example", "/"},
		{"/\r/evil.example", "/"},
		{"/ /evil.example", "/"},
		{"//evil.example/", "/"},
		{"///evil.example/", "/"},
		{"/\\evil.example", "/"},
		{"\\/evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"http:evil.example", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{" /offers", "/"},
		{"/%2F/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"", "/"},
	} {
		// Through the form (POST), as the login page sends it.
		p := e.browser().post("/login", url.Values{"token": {adminToken}, "next": {tc.next}}, "/login")
		if p.Status != http.StatusSeeOther || p.Location != tc.want {
			t.Errorf("POST /login next=%q: status %d to %q, want 303 to %q", tc.next, p.Status, p.Location, tc.want)
		}
		// Through the address bar, for a browser already signed in.
		b := e.browser()
		b.login()
		p = b.get("/login?next=" + url.QueryEscape(tc.next))
		if p.Status != http.StatusSeeOther || p.Location != tc.want {
			t.Errorf("GET /login?next=%q signed in: status %d to %q, want 303 to %q", tc.next, p.Status, p.Location, tc.want)
		}
		// The login page carries next in its form only when it is local.
		if tc.want == "/" && tc.next != "" && tc.next != "/" {
			mustNotContain(t, "login page for next="+tc.next, e.browser().get("/login?next="+url.QueryEscape(tc.next)).Body, "evil.example")
		}
	}
	// The raw form of the reported hole: /login?next=/%09/evil.example.
	b := e.browser()
	b.login()
	if p := b.get("/login?next=/%09/evil.example"); p.Location != "/" {
		t.Errorf("GET /login?next=/%%09/evil.example: redirects to %q, want /", p.Location)
	}
}

func TestLoginCookieIsSecureBehindHTTPS(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	form := url.Values{"token": {adminToken}, "csrf": {b.csrf("/login")}}
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	p := b.do(req)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("login: status %d", p.Status)
	}
	mustContain(t, "session cookie behind HTTPS", p.Header.Get("Set-Cookie"), "Secure", "HttpOnly", "SameSite=Strict")
}

func TestSessionSurvivesRestartAndEnds(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()

	// A restart: a new dashboard over a fresh connection to the same file.
	restarted := e.serve(openDB(t, e.dbURL), adminToken)
	again := &browser{t: t, base: restarted, hc: b.hc}
	if p := again.get("/offers"); p.Status != http.StatusOK {
		t.Fatalf("after a restart, /offers: status %d, want 200 (session kept)", p.Status)
	}

	// Changing the admin token signs everybody out.
	rotated := &browser{t: t, base: e.serve(e.DB, adminToken+"-rotated"), hc: b.hc}
	if p := rotated.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("after an admin token change, /offers: status %d, want 303 to login", p.Status)
	}

	// Sessions expire.
	e.Clock.Add(13 * time.Hour)
	if p := b.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("13 hours later, /offers: status %d, want 303 to login", p.Status)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	p := b.get("/logout")
	mustContain(t, "sign-out page", p.Body, `action="/logout"`)
	p = b.post("/logout", url.Values{}, "/logout")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
		t.Fatalf("logout: status %d to %q", p.Status, p.Location)
	}
	if p := b.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("after logout, /offers: status %d, want 303 to login", p.Status)
	}
	if p := b.get("/login?done=signed-out"); !strings.Contains(p.Body, "You are signed out") {
		t.Error("login page after logout does not say so")
	}
}

// TestSignOutEndsTheSessionForGood copies the session cookie before
// signing out and uses the copy afterwards, as someone who stole it would:
// the session is gone from the database, so the copy opens nothing, not
// even once the admin token is changed and changed back.
func TestSignOutEndsTheSessionForGood(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	stolen := b.cookie("urltracker_session")
	if stolen == "" {
		t.Fatal("no session cookie after sign-in")
	}
	p := b.post("/logout", url.Values{}, "/logout")
	if p.Status != http.StatusSeeOther {
		t.Fatalf("logout: status %d", p.Status)
	}
	thief := e.browser()
	thief.setCookie("urltracker_session", stolen)
	if p := thief.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("copied cookie after sign-out: /offers status %d, want 303 to login", p.Status)
	}
	if p := thief.post("/kill-switch", url.Values{"enabled": {"false"}}, "/login"); p.Status != http.StatusSeeOther || p.Location != "/login" {
		t.Errorf("copied cookie after sign-out flips the kill switch: status %d to %q", p.Status, p.Location)
	}
	if on, _ := e.DB.KillSwitch(context.Background()); !on {
		t.Error("kill switch was turned off with a signed-out cookie")
	}

	// A session of the old admin token ends when the token changes, and
	// stays ended when it is changed back.
	b2 := e.browser()
	b2.login()
	kept := b2.cookie("urltracker_session")
	rotated := &browser{t: t, base: e.serve(e.DB, adminToken+"-rotated"), hc: b2.hc}
	if p := rotated.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("after an admin token change, /offers: status %d, want 303", p.Status)
	}
	back := &browser{t: t, base: e.serve(e.DB, adminToken), hc: b2.hc}
	back.setCookie("urltracker_session", kept)
	if p := back.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("admin token changed back: old session opens /offers (status %d), want 303", p.Status)
	}
}

// TestSessionLifetimes ends a session unused for the idle timeout, and any
// session at its absolute lifetime however busy.
func TestSessionLifetimes(t *testing.T) {
	e := newEnv(t)
	idle := e.browser()
	idle.login()
	busy := e.browser()
	busy.login()
	for range 11 {
		e.Clock.Add(time.Hour)
		if p := busy.get("/offers"); p.Status != http.StatusOK {
			t.Fatalf("busy session: status %d", p.Status)
		}
	}
	if p := idle.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("session unused for 11 h: status %d, want 303 (idle timeout 2 h)", p.Status)
	}
	e.Clock.Add(time.Hour + time.Minute)
	if p := busy.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("session used hourly, 12 h after sign-in: status %d, want 303 (lifetime 12 h)", p.Status)
	}
}

func TestFormsWithoutCSRFTokenChangeNothing(t *testing.T) {
	e := newEnv(t)
	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/x")
	id := fmt.Sprint(rec.ID)
	b := e.browser()
	b.login()
	offerForm := url.Values{"name": {"Changed"}, "url": {"http://a.example/"}, "update_interval_seconds": {"60"}, "enabled": {"on"}}
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/kill-switch", url.Values{"enabled": {"false"}}},
		{"/offers/new", offerForm},
		{"/offers/" + id + "/edit", offerForm},
		{"/offers/" + id + "/delete", url.Values{}},
		{"/offers/" + id + "/check", url.Values{}},
		{"/offers/" + id + "/trackier-test", url.Values{}},
		{"/logout", url.Values{}},
		{"/login", url.Values{"token": {adminToken}}},
	} {
		for name, token := range map[string]string{"missing": "", "forged": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			if token != "" {
				form.Set("csrf", token)
			}
			p := b.post(tc.path, form, "")
			if p.Status != http.StatusForbidden {
				t.Errorf("POST %s with %s CSRF token: status %d, want 403", tc.path, name, p.Status)
			}
			if strings.Contains(p.Header.Get("Set-Cookie"), "urltracker_session") {
				t.Errorf("POST %s with %s CSRF token changed the session", tc.path, name)
			}
		}
	}
	if on, _ := e.DB.KillSwitch(context.Background()); !on {
		t.Error("kill switch was changed without a CSRF token")
	}
	got, err := e.DB.Offer(context.Background(), rec.ID)
	if err != nil || got.Name != "Shoes" || got.Stats.CheckCount != 0 {
		t.Errorf("offer changed without a CSRF token: %+v, %v", got, err)
	}
	if n := offerCount(t, e.DB); n != 1 {
		t.Errorf("%d offers, want 1", n)
	}
	if p := b.get("/offers"); p.Status != http.StatusOK {
		t.Errorf("still signed in? /offers: status %d", p.Status)
	}
	// A token from another browser's cookie does not work either.
	other := e.browser()
	other.login()
	p := b.post("/kill-switch", url.Values{"enabled": {"false"}, "csrf": {other.csrf("/")}}, "")
	if p.Status != http.StatusForbidden {
		t.Errorf("another browser's CSRF token: status %d, want 403", p.Status)
	}
}

func TestOfferFormValidationMessages(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	for _, tc := range []struct {
		name  string
		form  url.Values
		wants []string
	}{
		{"empty", url.Values{"update_interval_seconds": {""}},
			[]string{"Name: required", "Link to check: required", "Update interval (seconds): must be at least 1"}},
		{"bad values", url.Values{
			"name": {"Shoes"}, "url": {"ftp://files.example/"}, "update_interval_seconds": {"often"},
			"expected_host": {"https://shop.example/path"}, "policy.pause_after_failures": {"-1"},
			"policy.alert_url": {"mailto:ops@example.com"}, "policy.destination_params": {"utm_source=x\nnot a pair"},
			"trackier.api_key": {"secret-key-typed-in"},
		}, []string{
			"Link to check: must be an absolute http:// or https:// URL",
			"Update interval (seconds): must be a whole number",
			"Expected landing host: a host name such as shop.example.com",
			"Hold the campaign after failed checks in a row: must be 0 (off) or more",
			"Alert URL: must be an absolute http:// or https:// URL",
			"line 2: write one name=value per line",
			"API key: not saved, because of the errors above: enter the key again",
			`value="Shoes"`, `value="often"`, // what was typed is shown again
		}},
		{"bad rules", url.Values{
			"name": {"Shoes"}, "url": {"https://track.example/c"}, "update_interval_seconds": {"60"},
			"rules.must_contain": {"Add to cart\r\n/([a-z/"}, "rules.max_total_ms": {"-5"}, "rules.max_hops": {"many"},
		}, []string{
			"The landing must contain: entry 2: /([a-z/ is not a valid regular expression",
			"Slow after (milliseconds): must be 0 (no limit) to 300000",
			"Most redirects allowed: must be a whole number",
		}},
		// Issue 12: a policy that acts needs a campaign and a key; the
		// error must be shown on those fields, by their labels.
		{"pause without a campaign", url.Values{
			"name": {"Shoes"}, "url": {"https://track.example/c"}, "update_interval_seconds": {"60"},
			"policy.pause_after_failures": {"3"},
		}, []string{
			"Campaign ID: needed to pause, resume or update the destination",
			"API key: needed to pause, resume or update the destination",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.post("/offers/new", tc.form, "/offers/new")
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.Status)
			}
			mustContain(t, "form page", p.Body, tc.wants...)
			mustContain(t, "form page", p.Body, `aria-invalid="true"`, `role="alert"`)
			mustNotContain(t, "form page", p.Body, "secret-key-typed-in")
			// Fields are named by their labels, never by JSON keys.
			start := strings.Index(p.Body, `role="alert"`)
			if start < 0 {
				t.Fatalf("no error summary on the page:\n%s", p.Body)
			}
			errorBox, _, _ := strings.Cut(p.Body[start:], "</div>")
			errorText := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(errorBox, "")
			mustNotContain(t, "error summary", errorText, "trackier.", "policy.", "pause_after_failures", "campaign_id", "api_key")
		})
	}
	if n := offerCount(t, e.DB); n != 0 {
		t.Errorf("%d offers stored from invalid forms", n)
	}

	// A duplicate name is a message on the name field.
	newOffer(t, e.DB, "Taken", "http://a.example/")
	p := b.post("/offers/new", url.Values{"name": {"Taken"}, "url": {"http://b.example/"}, "update_interval_seconds": {"60"}}, "/offers/new")
	if p.Status != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate name: status %d", p.Status)
	}
	mustContain(t, "form page", p.Body, "Name: an offer with this name already exists")
}

func TestOfferLifecycle(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	path := b.createOffer(url.Values{
		"name": {"Summer shoes"}, "url": {"https://track.example/click?o=1"}, "expected_host": {"Shop.Example.com"},
		"trackier.campaign_id": {"cmp-42"}, "trackier.api_key": {"very-secret-api-key"},
		"policy.pause_after_failures": {"3"}, "policy.destination_params": {"utm_source=tracker\nsub1=x"},
		"rules.must_contain": {"Add to cart\r\n\r\n/€\\s*\\d+/"}, "rules.max_total_ms": {"4000"}, "rules.refused_is_broken": {"on"},
	})
	p := b.get(path + "?done=created")
	if p.Status != http.StatusOK {
		t.Fatalf("GET %s: status %d", path, p.Status)
	}
	rec, err := e.DB.Offers(context.Background(), 1)
	if err != nil || len(rec) != 1 {
		t.Fatal(rec, err)
	}
	o := rec[0]
	if o.ExpectedHost != "shop.example.com" || o.Trackier.APIBaseURL != urltracker.DefaultTrackierAPIBaseURL ||
		o.Trackier.APIKey != "very-secret-api-key" || o.Policy.PauseAfterFailures != 3 || o.Policy.DestinationParams["sub1"] != "x" {
		t.Errorf("stored offer: %+v", o)
	}
	if r := o.Rules; len(r.MustContain) != 2 || r.MustContain[1] != `/€\s*\d+/` || r.MaxTotalMS != 4000 || !r.RefusedIsBroken {
		t.Errorf("stored rules: %+v, want two must_contain lines, 4000 ms and refused_is_broken", r)
	}
	mustContain(t, "offer page", p.Body, "Offer created", "Summer shoes", "token="+o.WebhookToken, "{click_id}", "cmp-42", "API key stored", `data-copy="push-url"`)
	mustNotContain(t, "offer page", p.Body, "very-secret-api-key")

	edit := b.get(path + "/edit")
	mustContain(t, "edit form", edit.Body, `value="Summer shoes"`, "A key is stored", "utm_source=tracker")
	mustNotContain(t, "edit form", edit.Body, "very-secret-api-key")

	form := url.Values{"name": {"Winter shoes"}, "url": {"https://track.example/click?o=2"}, "update_interval_seconds": {"60"}, "trackier.campaign_id": {"cmp-42"}}
	if p := b.post(path+"/edit", form, path+"/edit"); p.Status != http.StatusSeeOther {
		t.Fatalf("edit: status %d\n%s", p.Status, p.Body)
	}
	got, _ := e.DB.Offer(context.Background(), o.ID)
	if got.Name != "Winter shoes" || got.Enabled || got.UpdateIntervalSeconds != 60 || got.Trackier.APIKey != "very-secret-api-key" {
		t.Errorf("after edit: %+v (the empty key field must keep the key; the unticked box disables)", got.Offer)
	}
	mustContain(t, "offers list", b.get("/offers").Body, "Winter shoes", "disabled", "not checked")

	confirm := b.get(path + "/delete")
	mustContain(t, "delete confirmation", confirm.Body, "Yes, delete the offer", "cannot be undone")
	if p := b.post(path+"/delete", url.Values{}, path+"/delete"); p.Status != http.StatusSeeOther || p.Location != "/offers?done=deleted" {
		t.Fatalf("delete: status %d to %q", p.Status, p.Location)
	}
	if n := offerCount(t, e.DB); n != 0 {
		t.Errorf("%d offers after delete", n)
	}
	if p := b.get(path); p.Status != http.StatusNotFound || !strings.Contains(p.Body, "may have been deleted") {
		t.Errorf("deleted offer page: status %d", p.Status)
	}
	if p := b.get("/offers/abc"); p.Status != http.StatusNotFound {
		t.Errorf("/offers/abc: status %d, want 404", p.Status)
	}
}

func TestOfferNamedScriptRendersAsText(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	const evil = `<script>alert("x")</script>`
	path := b.createOffer(url.Values{"name": {evil}, "url": {`https://a.example/?q="><script>alert(1)</script>`}})
	recs, _ := e.DB.Offers(context.Background(), 1)
	check := urltracker.Check{OfferID: recs[0].ID, StartedAt: time.Now(), Verdict: urltracker.VerdictBroken, Error: "<img src=x onerror=alert(1)>",
		Chain: []urltracker.Hop{{URL: "https://a.example/<b>", Status: 500, RedirectType: urltracker.RedirectError, Params: map[string]string{"<i>": "<u>"}}}}
	if err := e.DB.SaveCheck(context.Background(), &check); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "/edit", path + "/delete", "/offers", "/", "/live/overview", "/live/offers", "/live" + path} {
		body := b.get(p).Body
		if p != "/live"+path { // the offer's live part has checks and events, not its name
			mustContain(t, p, body, "&lt;script&gt;")
		}
		mustNotContain(t, p, body, "<script>alert", "<img src=x", "<b>", "<i>", "<u>")
	}
	mustContain(t, "offer live part", b.get("/live"+path).Body, "&lt;img src=x onerror=alert(1)&gt;", "&lt;i&gt;")
}

func TestKillSwitchThroughConfirmation(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	mustContain(t, "overview", b.get("/").Body, "Turn automation off", `href="/kill-switch?enabled=false"`)

	confirm := b.get("/kill-switch?enabled=false")
	mustContain(t, "confirmation", confirm.Body, "Yes, turn automation off", `name="enabled" value="false"`)
	if on, _ := e.DB.KillSwitch(context.Background()); !on {
		t.Fatal("showing the confirmation changed the kill switch")
	}
	p := b.post("/kill-switch", url.Values{"enabled": {"false"}}, "/kill-switch?enabled=false")
	if p.Status != http.StatusSeeOther || p.Location != "/?done=automation-off" {
		t.Fatalf("kill switch: status %d to %q", p.Status, p.Location)
	}
	mustContain(t, "overview", b.get(p.Location).Body, "Automation is off on every instance", "The kill switch is pulled", "Turn automation on")
	log, _ := e.DB.AuditLog(context.Background(), store.AuditFilter{Limit: 1})
	if len(log) != 1 || log[0].Action != "kill_switch" || log[0].Instance != "dash-test" {
		t.Errorf("audit log: %+v", log)
	}

	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/")
	p = b.post(fmt.Sprintf("/offers/%d/check", rec.ID), url.Values{}, fmt.Sprintf("/offers/%d", rec.ID))
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "Automation is switched off") {
		t.Errorf("check now with automation off: status %d", p.Status)
	}

	if p := b.post("/kill-switch", url.Values{"enabled": {"maybe"}}, "/"); p.Status != http.StatusBadRequest {
		t.Errorf("enabled=maybe: status %d, want 400", p.Status)
	}
	b.post("/kill-switch", url.Values{"enabled": {"true"}}, "/kill-switch?enabled=true")
	if on, _ := e.DB.KillSwitch(context.Background()); !on {
		t.Error("automation not back on")
	}
}

func TestOverviewFigures(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/")
	ctx := context.Background()
	for i, ok := range []bool{true, false} {
		c := urltracker.Check{OfferID: rec.ID, StartedAt: time.Now(), Success: ok, Verdict: urltracker.VerdictHealthy, Chain: []urltracker.Hop{}}
		if !ok {
			c.Verdict = urltracker.VerdictLoop
		}
		if err := e.DB.SaveCheck(ctx, &c); err != nil {
			t.Fatal(i, err)
		}
	}
	// As the webhook does: look the token up first. (That also prepares the
	// store's hot statements, which cannot be prepared inside a transaction
	// on SQLite's single connection.)
	if _, err := e.DB.OfferByToken(ctx, rec.WebhookToken); err != nil {
		t.Fatal(err)
	}
	err := e.DB.InTx(ctx, func(tx *sql.Tx) error {
		ev := urltracker.Event{OfferID: rec.ID, ReceivedAt: time.Now(), ClickID: "c1", Payload: map[string]string{"click_id": "c1"}, Outcome: urltracker.OutcomeDebounced}
		_, err := e.DB.WriteEvents(ctx, tx, []store.NewEvent{{Event: ev}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	body := b.get("/live/overview").Body
	mustNotContain(t, "live part", body, "<html", "<nav")
	mustContain(t, "overview", body, `id="stat-offers">1<`, `id="stat-webhooks">1<`, `id="stat-checks">2<`, `id="stat-rate">50.0 %<`,
		"dash-test", `class="badge warn">loop<`, `class="badge ok">healthy<`)
	mustContain(t, "offers live part", b.get("/live/offers").Body, `<td data-label="Webhooks, last hour">1</td>`, `class="badge warn">loop<`)
	mustContain(t, "offer live part", b.get(fmt.Sprintf("/live/offers/%d", rec.ID)).Body, "<code>c1</code>", "debounced", "2 in all")
}

func TestCheckNowAndTraceShowTheHops(t *testing.T) {
	upstream := httptest.NewServer(testutil.RedirectChain(2))
	defer upstream.Close()
	e := newEnv(t)
	b := e.browser()
	b.login()
	path := b.createOffer(url.Values{"name": {"Chain"}, "url": {upstream.URL + "/hop/1"}})
	p := b.post(path+"/check", url.Values{}, path)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("check now: status %d\n%s", p.Status, p.Body)
	}
	// The answer names the verdict and opens that check.
	checkID := regexp.MustCompile(`check=(\d+)#check-(\d+)$`).FindStringSubmatch(p.Location)
	if checkID == nil || checkID[1] != checkID[2] {
		t.Fatalf("check now redirects to %q, want the check's id and anchor", p.Location)
	}
	body := b.get(p.Location).Body
	mustContain(t, "offer page", body, "Check done: healthy in ", `<details id="check-`+checkID[1]+`" class="check" open>`)
	mustContain(t, "offer page", body, `class="badge ok">healthy<`, "3 hops", "/hop/2?step=2", "<dt>step</dt><dd>2</dd>", "/landing?from=chain", `<td data-label="Status">302</td>`)

	p = b.get("/trace?url=" + url.QueryEscape(upstream.URL+"/hop/1"))
	mustContain(t, "trace page", p.Body, `id="trace-result"`, `class="badge ok">healthy<`, "/hop/2?step=2", "/landing?from=chain")
	p = b.get("/trace?url=" + url.QueryEscape(upstream.URL+"/hop/1") + "&expected_host=shop.example.com")
	mustContain(t, "trace page", p.Body, "unexpected landing")
	p = b.get("/trace?url=not-a-url")
	mustContain(t, "trace page", p.Body, "must be an absolute http:// or https:// URL", `aria-invalid="true"`)
	mustNotContain(t, "trace page", p.Body, `id="trace-result"`)
}

func TestSecurityHeadersAndAssets(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/login", "/assets/app.css", "/assets/app.js"} {
		p := b.get(path)
		if p.Status != http.StatusOK {
			t.Errorf("GET %s: status %d", path, p.Status)
		}
		mustContain(t, path+" CSP", p.Header.Get("Content-Security-Policy"), "script-src 'self'", "frame-ancestors 'none'")
		if p.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", path)
		}
	}
	// A cross-site form post is refused before any handler runs.
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/login", strings.NewReader("token="+adminToken))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if p := b.do(req); p.Status != http.StatusForbidden {
		t.Errorf("cross-site POST /login: status %d, want 403", p.Status)
	}
}

func TestTrackierTestRunsTheAPIsTestForSignedInAdmins(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	path := b.createOffer(url.Values{"name": {"Bound"}, "url": {"https://a.example/"}, "trackier.campaign_id": {"cmp-1"}, "trackier.api_key": {"k"}})
	mustContain(t, "offer page", b.get(path).Body, `data-trackier-test="`+path+`/trackier-test"`, "Test connection")
	mustContain(t, "edit form", b.get(path+"/edit").Body, `data-trackier-test="`+path+`/trackier-test"`)
	p := b.post(path+"/trackier-test", url.Values{}, path)
	id := strings.TrimPrefix(path, "/offers/")
	if p.Status != http.StatusOK || p.Body != `{"success":true,"offer":"`+id+`"}` {
		t.Errorf("test connection: status %d, body %s", p.Status, p.Body)
	}
	unbound := b.createOffer(url.Values{"name": {"Unbound"}, "url": {"https://a.example/"}})
	mustNotContain(t, "unbound offer page", b.get(unbound).Body, "Test connection")
}
