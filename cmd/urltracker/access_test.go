package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/internal/testutil"
)

// roleClient returns a client of a that sends token as its bearer token.
func roleClient(a *app, token string) *testutil.Client {
	return &testutil.Client{BaseURL: a.BaseURL, AdminToken: token}
}

// addUserWithToken creates a user with role through the API (as the admin
// token) and an API token of that user, and returns the user's id and the
// token.
func addUserWithToken(t *testing.T, a *app, name, role string) (int64, string) {
	t.Helper()
	var created struct {
		User struct {
			ID   int64  `json:"id"`
			Role string `json:"role"`
		} `json:"user"`
		Password string `json:"password"`
	}
	a.JSON(t, http.MethodPost, "/api/users", map[string]any{"name": name, "role": role}, true, http.StatusCreated, &created)
	if created.User.Role != role || len(created.Password) < 12 {
		t.Fatalf("created user %s: role %q, generated password %q", name, created.User.Role, created.Password)
	}
	var tok struct {
		Token string `json:"token"`
	}
	a.JSON(t, http.MethodPost, "/api/tokens", map[string]any{"name": "e2e", "user_id": created.User.ID}, true, http.StatusCreated, &tok)
	if !strings.HasPrefix(tok.Token, "utk_") {
		t.Fatalf("token of %s: %q", name, tok.Token)
	}
	return created.User.ID, tok.Token
}

// TestRoleByEndpoint calls every admin endpoint with no token, and with an
// API token of a viewer, an operator and an admin, over a real server, and
// checks who is let through: viewers read, operators also run checks,
// trace, the kill switch and approvals, admins everything. The table it
// logs (go test -v -run TestRoleByEndpoint) is the one in the README.
func TestRoleByEndpoint(t *testing.T) {
	landing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	defer landing.Close()
	a := startApp(t, appEnv(t.TempDir()))
	var offer struct {
		ID int64 `json:"id"`
	}
	a.JSON(t, http.MethodPost, "/api/offers", map[string]any{"name": "Roles", "url": landing.URL + "/", "update_interval_seconds": 300}, true, http.StatusCreated, &offer)
	_, viewer := addUserWithToken(t, a, "vera", "viewer")
	_, operator := addUserWithToken(t, a, "otto", "operator")
	_, admin := addUserWithToken(t, a, "ada", "admin")

	o := fmt.Sprint(offer.ID)
	const missing = "999999"
	// need is the least role the endpoint lets through. Calls that would
	// change something lasting aim at ids that do not exist (404 shows the
	// role was let through) or send bodies the handler refuses (400).
	cases := []struct {
		method, path string
		body         any
		need         string
	}{
		{"GET", "/api/offers", nil, "viewer"},
		{"GET", "/api/offers/" + o, nil, "viewer"},
		{"GET", "/api/offers/" + o + "/checks", nil, "viewer"},
		{"GET", "/api/offers/" + o + "/events", nil, "viewer"},
		{"GET", "/api/offers/" + o + "/actions", nil, "viewer"},
		{"GET", "/api/offers/" + o + "/history", nil, "viewer"},
		{"GET", "/api/audit", nil, "viewer"},
		{"GET", "/api/me", nil, "viewer"},
		{"GET", "/api/sessions", nil, "viewer"},
		{"DELETE", "/api/sessions/" + missing, nil, "viewer"},
		{"GET", "/api/tokens", nil, "viewer"},
		{"POST", "/api/tokens", map[string]any{"name": ""}, "viewer"},
		{"DELETE", "/api/tokens/" + missing, nil, "viewer"},
		{"POST", "/api/trackier-emergency-toggle?enabled=true&reason=role+test", nil, "operator"},
		{"POST", "/api/trackier-trigger/" + o, nil, "operator"},
		{"POST", "/trace", map[string]any{"url": landing.URL + "/"}, "operator"},
		{"POST", "/api/offers/" + missing + "/trackier-test", nil, "operator"},
		{"POST", "/api/offers/" + o + "/actions/" + missing + "/approve", nil, "operator"},
		{"GET", "/api/channels", nil, "viewer"},
		{"GET", "/api/channels/" + missing, nil, "viewer"},
		{"GET", "/api/channels/" + missing + "/deliveries", nil, "viewer"},
		{"GET", "/api/offers/" + o + "/deliveries", nil, "viewer"},
		{"GET", "/api/maintenance", nil, "viewer"},
		{"GET", "/api/maintenance/" + missing, nil, "viewer"},
		{"POST", "/api/channels/" + missing + "/test", nil, "operator"},
		{"POST", "/api/offers/" + missing + "/snooze", map[string]any{"until": nil}, "operator"},
		{"POST", "/api/channels", map[string]any{}, "admin"},
		{"PATCH", "/api/channels/" + missing, map[string]any{"name": "x"}, "admin"},
		{"DELETE", "/api/channels/" + missing, nil, "admin"},
		{"POST", "/api/maintenance", map[string]any{}, "admin"},
		{"PATCH", "/api/maintenance/" + missing, map[string]any{"name": "x"}, "admin"},
		{"DELETE", "/api/maintenance/" + missing, nil, "admin"},
		{"POST", "/api/offers", map[string]any{}, "admin"},
		{"PATCH", "/api/offers/" + missing, map[string]any{"name": "x"}, "admin"},
		{"DELETE", "/api/offers/" + missing, nil, "admin"},
		{"POST", "/api/trackier/import", map[string]any{}, "admin"},
		{"GET", "/api/users", nil, "admin"},
		{"POST", "/api/users", map[string]any{"name": "", "role": "viewer"}, "admin"},
		{"GET", "/api/users/" + missing, nil, "admin"},
		{"PATCH", "/api/users/" + missing, map[string]any{"disabled": true}, "admin"},
	}
	roles := []struct {
		name  string
		token string
	}{{"none", ""}, {"viewer", viewer}, {"operator", operator}, {"admin", admin}}
	rank := map[string]int{"viewer": 1, "operator": 2, "admin": 3}
	var table strings.Builder
	table.WriteString("| endpoint | no token | viewer | operator | admin |\n|---|---|---|---|---|\n")
	for _, tc := range cases {
		fmt.Fprintf(&table, "| `%s %s` |", tc.method, strings.ReplaceAll(tc.path, o, "{id}"))
		for _, role := range roles {
			c := roleClient(a, role.token)
			status, body := c.Do(t, tc.method, tc.path, tc.body, role.token != "")
			var want string
			switch {
			case role.token == "":
				want = "401"
				if status != http.StatusUnauthorized {
					t.Errorf("%s %s without a token: status %d, want 401", tc.method, tc.path, status)
				}
			case rank[role.name] < rank[tc.need]:
				want = "403"
				if status != http.StatusForbidden || !strings.Contains(string(body), "needs the role "+tc.need) {
					t.Errorf("%s %s as %s: status %d %s, want 403 naming %s", tc.method, tc.path, role.name, status, body, tc.need)
				}
			default:
				want = "allowed"
				if status == http.StatusUnauthorized || status == http.StatusForbidden || status >= 500 {
					t.Errorf("%s %s as %s: status %d %s, want it let through", tc.method, tc.path, role.name, status, body)
				}
			}
			if want == "allowed" {
				want = fmt.Sprintf("✓ %d", status)
			}
			fmt.Fprintf(&table, " %s |", want)
		}
		table.WriteString("\n")
	}
	t.Logf("role × endpoint, as served:\n%s", table.String())

	// The status endpoint is public; any valid token adds the offers.
	for _, role := range roles {
		var st struct {
			Offers *[]any `json:"offers"`
		}
		roleClient(a, role.token).JSON(t, http.MethodGet, "/api/trackier-status", nil, role.token != "", http.StatusOK, &st)
		if (st.Offers != nil) != (role.token != "") {
			t.Errorf("status as %s: offers listed %v", role.name, st.Offers != nil)
		}
	}

	// Every write above that got through is in the audit log with who made
	// it and from where; refused ones are not.
	var audit struct {
		Entries []struct {
			Actor, Address, Action string
			Detail                 json.RawMessage
		} `json:"entries"`
	}
	a.JSON(t, http.MethodGet, "/api/audit?limit=1000", nil, true, http.StatusOK, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Entries {
		seen[e.Actor+" "+e.Action] = true
		if e.Address != "127.0.0.1" {
			t.Errorf("audit entry %s by %s: address %q, want 127.0.0.1", e.Action, e.Actor, e.Address)
		}
	}
	for _, want := range []string{
		"otto/e2e kill_switch", "ada/e2e kill_switch", "otto/e2e POST /api/trackier-trigger/{offerID}",
		"admin-token POST /api/users", "admin-token POST /api/offers",
	} {
		if !seen[want] {
			keys := make([]string, 0, len(seen))
			for k := range seen {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			t.Errorf("audit log has no %q; it has %q", want, keys)
		}
	}
	if seen["vera/e2e kill_switch"] {
		t.Error("a viewer's refused kill switch call is in the audit log as a change")
	}
}

// runUser runs `urltracker user ARGS…` in-process against a's database.
func runUser(t *testing.T, a *app, stdin string, args ...string) (string, error) {
	t.Helper()
	var out testutil.SyncBuffer
	getenv := func(k string) string {
		if k == "USER" {
			return "ops-person"
		}
		return a.Env[k]
	}
	err := runWithStdin(context.Background(), append([]string{"urltracker", "user"}, args...), getenv, strings.NewReader(stdin), &out, &out)
	return out.String(), err
}

// browserFor is a cookie-keeping client of a that does not follow
// redirects, so that tests see where sign-ins send the browser.
func browserFor(a *app, header http.Header) *dashboardClient {
	jar, _ := cookiejar.New(nil)
	return &dashboardClient{base: a.BaseURL, hc: &http.Client{
		Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport:     headerTransport{header},
	}}
}

type headerTransport struct{ h http.Header }

func (ht headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	for k, v := range ht.h {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestUsersFromTheCommandLineSignIn adds a user with `urltracker user add`,
// signs in at the dashboard as that user, and checks that disable and
// reset from the command line end the session at once; a viewer sees pages
// but may not pull the kill switch.
func TestUsersFromTheCommandLineSignIn(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	out, err := runUser(t, a, "a long password 1\n", "add", "viv", "--role", "viewer", "--password-stdin")
	if err != nil || !strings.Contains(out, "added viv (viewer)") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	out, err = runUser(t, a, "", "add", "oli", "--role", "operator")
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("user add without a password prints none: %v\n%s", err, out)
	}
	oliPassword := m[1]
	if _, err := runUser(t, a, "", "add", "viv", "--role", "admin"); err == nil {
		t.Error("adding viv twice succeeded")
	}
	if _, err := runUser(t, a, "", "add", "admin-token", "--role", "admin"); err == nil {
		t.Error("a user named admin-token was added")
	}
	out, err = runUser(t, a, "", "list")
	if err != nil || !regexp.MustCompile(`oli\s+operator\s+no\s+active`).MatchString(out) || !strings.Contains(out, "viv") {
		t.Errorf("user list: %v\n%s", err, out)
	}

	signIn := func(c *dashboardClient, name, password string) int {
		csrf := c.csrf("/login")
		status, _ := c.post("/login", url.Values{"name": {name}, "password": {password}, "csrf": {csrf}})
		return status
	}
	viv := browserFor(a, nil)
	viv.t = t
	if status := signIn(viv, "viv", "a long password 1"); status != http.StatusSeeOther {
		t.Fatalf("viv signs in: status %d", status)
	}
	if status, body := viv.get("/offers"); status != http.StatusOK || !strings.Contains(body, "Offers") {
		t.Errorf("viewer reads /offers: status %d", status)
	}
	csrf := viv.csrf("/")
	if status, _ := viv.post("/kill-switch", url.Values{"enabled": {"false"}, "csrf": {csrf}}); status != http.StatusForbidden {
		t.Errorf("viewer pulls the kill switch: status %d, want 403", status)
	}
	oli := browserFor(a, nil)
	oli.t = t
	if status := signIn(oli, "oli", oliPassword); status != http.StatusSeeOther {
		t.Fatalf("oli signs in with the generated password: status %d", status)
	}
	csrf = oli.csrf("/")
	if status, _ := oli.post("/kill-switch", url.Values{"enabled": {"false"}, "reason": {"maintenance window"}, "csrf": {csrf}}); status != http.StatusSeeOther {
		t.Errorf("operator pulls the kill switch: status %d, want 303", status)
	}
	var audit struct {
		Entries []struct {
			Actor, Address, Action string
			Detail                 map[string]any
		} `json:"entries"`
	}
	a.JSON(t, http.MethodGet, "/api/audit?action=kill_switch", nil, true, http.StatusOK, &audit)
	if len(audit.Entries) != 1 || audit.Entries[0].Actor != "oli" || audit.Entries[0].Address != "127.0.0.1" || audit.Entries[0].Detail["reason"] != "maintenance window" {
		t.Errorf("kill switch audit: %+v", audit.Entries)
	}

	if out, err := runUser(t, a, "", "disable", "viv"); err != nil {
		t.Fatalf("user disable: %v\n%s", err, out)
	}
	if status, _ := viv.get("/offers"); status != http.StatusSeeOther {
		t.Errorf("after user disable, viv's session: status %d, want 303 to sign-in", status)
	}
	if status := signIn(viv, "viv", "a long password 1"); status != http.StatusUnauthorized {
		t.Errorf("disabled viv signs in: status %d, want 401", status)
	}
	if out, err := runUser(t, a, "new long password 2\n", "reset", "oli", "--password-stdin"); err != nil {
		t.Fatalf("user reset: %v\n%s", err, out)
	}
	if status, _ := oli.get("/offers"); status != http.StatusSeeOther {
		t.Errorf("after user reset, oli's session: status %d, want 303 to sign-in", status)
	}
	a.JSON(t, http.MethodGet, "/api/audit?actor=cli:ops-person", nil, true, http.StatusOK, &audit)
	if len(audit.Entries) != 4 {
		t.Errorf("%d audit entries by cli:ops-person, want 4 (two adds, a disable, a reset): %+v", len(audit.Entries), audit.Entries)
	}
}

// TestSignInFailuresLogTheClientAddress fails a sign-in directly and
// through a trusted proxy: the log line names the client, and
// X-Forwarded-For is believed only from URLTRACKER_TRUSTED_PROXIES.
func TestSignInFailuresLogTheClientAddress(t *testing.T) {
	for _, tc := range []struct {
		name, trusted, want string
	}{
		{"no trusted proxies", "", "127.0.0.1"},
		{"loopback trusted", "127.0.0.1/32", "203.0.113.77"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := appEnv(t.TempDir())
			env["URLTRACKER_TRUSTED_PROXIES"] = tc.trusted
			a := startApp(t, env)
			c := browserFor(a, http.Header{"X-Forwarded-For": {"203.0.113.77"}})
			c.t = t
			csrf := c.csrf("/login")
			if status, _ := c.post("/login", url.Values{"name": {"nobody"}, "password": {"wrong password"}, "csrf": {csrf}}); status != http.StatusUnauthorized {
				t.Fatalf("wrong sign-in: status %d", status)
			}
			found := false
			for _, line := range a.Logs.LogLines(t) {
				if line["msg"] == "sign-in failed" {
					found = true
					if line["client_addr"] != tc.want || line["user"] != "nobody" {
						t.Errorf("log line %v, want client_addr %s", line, tc.want)
					}
				}
			}
			if !found {
				t.Error("no log line for the failed sign-in")
			}
		})
	}
}

// TestAdminTokenChangeEndsItsSessions signs in with the admin token,
// restarts with another token and then with the first one again: the first
// session stays ended, although no request came in meanwhile.
func TestAdminTokenChangeEndsItsSessions(t *testing.T) {
	env := appEnv(t.TempDir())
	a := startApp(t, env)
	c := browserFor(a, nil)
	c.t = t
	csrf := c.csrf("/login")
	if status, _ := c.post("/login", url.Values{"token": {testAdminToken}, "csrf": {csrf}}); status != http.StatusSeeOther {
		t.Fatalf("sign in: status %d", status)
	}
	u, _ := url.Parse(a.BaseURL)
	var session string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "urltracker_session" {
			session = ck.Value
		}
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	env["URLTRACKER_ADMIN_TOKEN"] = testAdminToken + "-rotated"
	if err := startApp(t, env).Stop(); err != nil {
		t.Fatal(err)
	}
	env["URLTRACKER_ADMIN_TOKEN"] = testAdminToken
	back := startApp(t, env)
	c2 := browserFor(back, nil)
	c2.t = t
	u2, _ := url.Parse(back.BaseURL)
	c2.hc.Jar.SetCookies(u2, []*http.Cookie{{Name: "urltracker_session", Value: session, Path: "/"}})
	if status, _ := c2.get("/offers"); status != http.StatusSeeOther {
		t.Errorf("old admin-token session after the token was changed and changed back: status %d, want 303 to sign-in", status)
	}
}

// TestTokensSessionsAndSecondFactorOverTheAPI walks a user through the
// access API: a token, its sessions listed and ended, a second factor set
// up and used at the dashboard (also with a recovery code, once), a
// demotion that lowers the token at once, and the token revoked.
func TestTokensSessionsAndSecondFactorOverTheAPI(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	var created struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	a.JSON(t, http.MethodPost, "/api/users", map[string]any{"name": "tess", "role": "operator", "password": "tess password 1"}, true, http.StatusCreated, &created)
	id := fmt.Sprint(created.User.ID)
	if status, _ := a.Do(t, http.MethodPost, "/api/users", map[string]any{"name": "tess", "role": "viewer"}, true); status != http.StatusConflict {
		t.Errorf("second user named tess: status %d, want 409", status)
	}
	var user struct {
		Name string
		Role string
		TOTP bool
	}
	a.JSON(t, http.MethodGet, "/api/users/"+id, nil, true, http.StatusOK, &user)
	if user.Name != "tess" || user.Role != "operator" || user.TOTP {
		t.Errorf("GET /api/users/%s: %+v", id, user)
	}
	var tok struct {
		Token    string `json:"token"`
		APIToken struct {
			ID int64 `json:"id"`
		} `json:"api_token"`
	}
	a.JSON(t, http.MethodPost, "/api/tokens", map[string]any{"name": "laptop", "user_id": created.User.ID, "expires_in_days": 7}, true, http.StatusCreated, &tok)
	tess := roleClient(a, tok.Token)
	var me struct {
		Name, Role, Address string
	}
	tess.JSON(t, http.MethodGet, "/api/me", nil, true, http.StatusOK, &me)
	if me.Name != "tess/laptop" || me.Role != "operator" || me.Address != "127.0.0.1" {
		t.Errorf("GET /api/me: %+v", me)
	}
	if status, body := tess.Do(t, http.MethodPost, "/api/tokens", map[string]any{"name": "ci", "role": "admin"}, true); status != http.StatusBadRequest || !strings.Contains(string(body), "at most operator") {
		t.Errorf("operator makes an admin token: status %d %s, want 400", status, body)
	}

	signIn := func(password, code string) (*dashboardClient, int, string) {
		c := browserFor(a, nil)
		c.t = t
		form := url.Values{"name": {"tess"}, "password": {password}, "csrf": {c.csrf("/login")}}
		if code != "" {
			form.Set("code", code)
		}
		status, body := c.post("/login", form)
		return c, status, body
	}
	browser, status, _ := signIn("tess password 1", "")
	if status != http.StatusSeeOther {
		t.Fatalf("tess signs in: status %d", status)
	}
	var sessions struct {
		Sessions []struct {
			ID      int64
			User    string
			Address string
		}
	}
	tess.JSON(t, http.MethodGet, "/api/sessions", nil, true, http.StatusOK, &sessions)
	if len(sessions.Sessions) != 1 || sessions.Sessions[0].User != "tess" || sessions.Sessions[0].Address != "127.0.0.1" {
		t.Fatalf("tess's sessions: %+v", sessions.Sessions)
	}
	tess.JSON(t, http.MethodDelete, fmt.Sprintf("/api/sessions/%d", sessions.Sessions[0].ID), nil, true, http.StatusOK, nil)
	if status, _ := browser.get("/offers"); status != http.StatusSeeOther {
		t.Errorf("after DELETE /api/sessions/{id}, the browser: status %d, want 303 to sign-in", status)
	}

	var setup struct{ Secret, URI string }
	tess.JSON(t, http.MethodPost, "/api/me/totp", nil, true, http.StatusOK, &setup)
	if !strings.HasPrefix(setup.URI, "otpauth://totp/urltracker:tess?") || !strings.Contains(setup.URI, "secret="+setup.Secret) {
		t.Errorf("otpauth URI %q", setup.URI)
	}
	if status, _ := tess.Do(t, http.MethodPost, "/api/me/totp/confirm", map[string]any{"code": "000000"}, true); status != http.StatusBadRequest {
		t.Errorf("confirm with a wrong code: status %d, want 400", status)
	}
	var confirmed struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	tess.JSON(t, http.MethodPost, "/api/me/totp/confirm", map[string]any{"code": auth.TOTPAt(setup.Secret, time.Now())}, true, http.StatusOK, &confirmed)
	if _, status, body := signIn("tess password 1", ""); status != http.StatusUnauthorized || !strings.Contains(body, `name="code"`) {
		t.Errorf("sign-in without the code: status %d, want 401 asking for it", status)
	}
	if _, status, _ := signIn("tess password 1", auth.TOTPAt(setup.Secret, time.Now())); status != http.StatusSeeOther {
		t.Errorf("sign-in with the code: status %d", status)
	}
	if _, status, _ := signIn("tess password 1", confirmed.RecoveryCodes[0]); status != http.StatusSeeOther {
		t.Errorf("sign-in with a recovery code: status %d", status)
	}
	if _, status, _ := signIn("tess password 1", confirmed.RecoveryCodes[0]); status != http.StatusUnauthorized {
		t.Errorf("the same recovery code again: status %d, want 401", status)
	}
	if status, _ := tess.Do(t, http.MethodPost, "/api/me/totp", nil, true); status != http.StatusConflict {
		t.Errorf("a second factor over the first: status %d, want 409", status)
	}

	a.JSON(t, http.MethodPatch, "/api/users/"+id, map[string]any{"role": "viewer"}, true, http.StatusOK, nil)
	tess.JSON(t, http.MethodGet, "/api/me", nil, true, http.StatusOK, &me)
	if me.Role != "viewer" {
		t.Errorf("after demotion, the token acts as %s", me.Role)
	}
	var list struct {
		Tokens []struct {
			Name       string
			LastUsedAt *time.Time `json:"last_used_at"`
		}
	}
	a.JSON(t, http.MethodGet, "/api/tokens?all=true", nil, true, http.StatusOK, &list)
	if len(list.Tokens) != 1 || list.Tokens[0].Name != "laptop" || list.Tokens[0].LastUsedAt == nil {
		t.Errorf("all tokens: %+v", list.Tokens)
	}
	tess.JSON(t, http.MethodDelete, fmt.Sprintf("/api/tokens/%d", tok.APIToken.ID), nil, true, http.StatusOK, nil)
	if status, _ := tess.Do(t, http.MethodGet, "/api/me", nil, true); status != http.StatusUnauthorized {
		t.Errorf("revoked token: status %d, want 401", status)
	}
}
