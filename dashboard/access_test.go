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
