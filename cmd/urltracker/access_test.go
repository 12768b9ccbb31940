package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

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
