package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
)

func (e *env) addUser(name string, role urltracker.Role, password string) {
	e.t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.DB.CreateUser(context.Background(), name, role, hash); err != nil {
		e.t.Fatal(err)
	}
}

func (b *browser) signIn(name, password string) page {
	b.t.Helper()
	return b.post("/login", url.Values{"name": {name}, "password": {password}}, "/login")
}

// TestPagesOfferWhatTheRoleMayDo signs in a viewer, an operator and an
// admin and checks which buttons each page shows and which forms are
// refused.
func TestPagesOfferWhatTheRoleMayDo(t *testing.T) {
	e := newEnv(t)
	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/x")
	offerPath := fmt.Sprintf("/offers/%d", rec.ID)
	for _, tc := range []struct {
		role             urltracker.Role
		shows, hides     []string
		killSwitchStatus int
	}{
		{urltracker.RoleViewer, []string{"Shoes", "(viewer)"}, []string{">Check now<", ">Edit<", "Delete…", "Turn automation off…", "New offer"}, http.StatusForbidden},
		{urltracker.RoleOperator, []string{">Check now<", "(operator)"}, []string{">Edit<", "Delete…", "New offer"}, http.StatusSeeOther},
		{urltracker.RoleAdmin, []string{">Check now<", ">Edit<", "Delete…", "(admin)"}, nil, http.StatusSeeOther},
	} {
		name := string(tc.role) + "-user"
		e.addUser(name, tc.role, "a long password 9")
		b := e.browser()
		if p := b.signIn(name, "a long password 9"); p.Status != http.StatusSeeOther {
			t.Fatalf("%s signs in: status %d", tc.role, p.Status)
		}
		body := b.get(offerPath).Body + b.get("/").Body + b.get("/offers").Body
		mustContain(t, string(tc.role)+"'s pages", body, tc.shows...)
		mustNotContain(t, string(tc.role)+"'s pages", body, tc.hides...)
		if p := b.post("/kill-switch", url.Values{"enabled": {"true"}}, "/"); p.Status != tc.killSwitchStatus {
			t.Errorf("%s posts the kill switch: status %d, want %d", tc.role, p.Status, tc.killSwitchStatus)
		}
		p := b.post("/offers/new", url.Values{"name": {"By " + name}, "url": {"https://a.example/"}, "update_interval_seconds": {"300"}}, "/offers")
		if want := tc.role == urltracker.RoleAdmin; (p.Status == http.StatusSeeOther) != want {
			t.Errorf("%s creates an offer: status %d", tc.role, p.Status)
		}
	}
	if n := offerCount(t, e.DB); n != 2 {
		t.Errorf("%d offers, want 2 (only the admin's was created)", n)
	}
}

// TestSignInIsThrottled fails a user's sign-in four times: the right
// password is then refused with 429 and Retry-After until the block ends.
func TestSignInIsThrottled(t *testing.T) {
	e := newEnv(t)
	e.addUser("kim", urltracker.RoleViewer, "kims long password")
	b := e.browser()
	for i := range 4 {
		if p := b.signIn("kim", "wrong password"); p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Wrong name, password or code") {
			t.Fatalf("wrong password %d: status %d", i+1, p.Status)
		}
	}
	p := b.signIn("kim", "kims long password")
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") != "1" || !strings.Contains(p.Body, "Too many failed sign-ins") {
		t.Fatalf("right password while blocked: status %d, Retry-After %q", p.Status, p.Header.Get("Retry-After"))
	}
	if c := p.Header.Get("Set-Cookie"); strings.Contains(c, "urltracker_session") {
		t.Error("a blocked sign-in set a session cookie")
	}
	e.Clock.Add(time.Second)
	if p := b.signIn("kim", "kims long password"); p.Status != http.StatusSeeOther {
		t.Errorf("after the block: status %d, want 303", p.Status)
	}
}

// TestAuditPageShowsWhoChangedWhat pulls the kill switch with a reason and
// edits an offer as a signed-in admin, then reads both on /audit, with the
// user, the address and the reason, and filters by action.
func TestAuditPageShowsWhoChangedWhat(t *testing.T) {
	e := newEnv(t)
	e.addUser("ann", urltracker.RoleAdmin, "anns long password")
	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/x")
	b := e.browser()
	b.signIn("ann", "anns long password")
	if p := b.post("/kill-switch", url.Values{"enabled": {"false"}, "reason": {"campaign storm"}}, "/kill-switch?enabled=false"); p.Status != http.StatusSeeOther {
		t.Fatalf("kill switch: status %d", p.Status)
	}
	path := fmt.Sprintf("/offers/%d/edit", rec.ID)
	form := url.Values{"name": {"Boots"}, "url": {"http://127.0.0.1:9/x"}, "update_interval_seconds": {"300"}, "enabled": {"on"}, "trackier.api_key": {"very-secret-key"}}
	if p := b.post(path, form, path); p.Status != http.StatusSeeOther {
		t.Fatalf("edit offer: status %d\n%s", p.Status, p.Body)
	}
	p := b.get("/audit")
	mustContain(t, "audit page", p.Body, "ann", "127.0.0.1", "kill_switch", "campaign storm", "dashboard POST /offers/{id}/edit", "Boots", "(redacted)")
	mustNotContain(t, "audit page", p.Body, "very-secret-key")
	p = b.get("/audit?action=kill_switch")
	mustContain(t, "audit page filtered", p.Body, "campaign storm")
	mustNotContain(t, "audit page filtered", p.Body, "Boots")
}

// TestAccountPageEndsSessionsAndRevokesTokens signs one user in from two
// browsers, ends the other browser's session and revokes a token from the
// account page, and cannot touch another user's session.
func TestAccountPageEndsSessionsAndRevokesTokens(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.addUser("liv", urltracker.RoleViewer, "livs long password")
	e.addUser("max", urltracker.RoleViewer, "maxs long password")
	liv, _ := e.DB.UserByName(ctx, "liv")
	tok, err := e.DB.CreateAPIToken(ctx, liv.ID, "laptop", urltracker.RoleViewer, auth.HashSecret(auth.NewAPIToken()), nil)
	if err != nil {
		t.Fatal(err)
	}
	here, there, other := e.browser(), e.browser(), e.browser()
	here.signIn("liv", "livs long password")
	there.signIn("liv", "livs long password")
	other.signIn("max", "maxs long password")
	sessions, _ := e.DB.Sessions(ctx, liv.ID, false)
	maxUser, _ := e.DB.UserByName(ctx, "max")
	maxSessions, _ := e.DB.Sessions(ctx, maxUser.ID, false)
	if len(sessions) != 2 || len(maxSessions) != 1 {
		t.Fatalf("sessions: liv %d, max %d", len(sessions), len(maxSessions))
	}
	p := here.get("/account")
	mustContain(t, "account page", p.Body, "Sign out (this browser)", "End session", "laptop", "Revoke")
	// sessions are newest first: [0] is there's, [1] is here's.
	if p := here.post(fmt.Sprintf("/account/sessions/%d/end", sessions[0].ID), url.Values{}, "/account"); p.Status != http.StatusSeeOther {
		t.Fatalf("end the other browser's session: status %d", p.Status)
	}
	if p := there.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("ended browser, /offers: status %d, want 303 to sign-in", p.Status)
	}
	if p := here.post(fmt.Sprintf("/account/sessions/%d/end", maxSessions[0].ID), url.Values{}, "/account"); p.Status != http.StatusNotFound {
		t.Errorf("ending another user's session: status %d, want 404", p.Status)
	}
	if p := other.get("/offers"); p.Status != http.StatusOK {
		t.Errorf("max's session after liv tried to end it: status %d", p.Status)
	}
	if p := here.post(fmt.Sprintf("/account/tokens/%d/revoke", tok.ID), url.Values{}, "/account"); p.Status != http.StatusSeeOther {
		t.Errorf("revoke token: status %d", p.Status)
	}
	if got, _ := e.DB.APIToken(ctx, tok.ID); got.RevokedAt == nil {
		t.Error("token not revoked")
	}
	if p := here.post(fmt.Sprintf("/account/sessions/%d/end", sessions[1].ID), url.Values{}, "/account"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login") {
		t.Errorf("ending this browser's session: status %d to %q, want sign-out", p.Status, p.Location)
	}
	if p := here.get("/offers"); p.Status != http.StatusSeeOther {
		t.Errorf("after ending its own session, /offers: status %d", p.Status)
	}
}
