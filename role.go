package urltracker

import (
	"fmt"
	"regexp"
)

// Role is what a user, an API token or a session may do. Each role may do
// everything the roles below it may.
type Role string

// The roles, from least to most.
const (
	// RoleViewer reads everything: offers, checks, events, actions, status,
	// the audit log.
	RoleViewer Role = "viewer"
	// RoleOperator also runs the service day to day: check now, trace,
	// the kill switch, approving proposals, snoozing.
	RoleOperator Role = "operator"
	// RoleAdmin may do everything: offers, imports, channels, users.
	RoleAdmin Role = "admin"
)

// Roles lists the roles from least to most.
var Roles = []Role{RoleViewer, RoleOperator, RoleAdmin}

func (r Role) rank() int {
	for i, x := range Roles {
		if x == r {
			return i + 1
		}
	}
	return 0
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Allows reports whether r may do what need requires. An unknown role allows
// nothing.
func (r Role) Allows(need Role) bool { return r.Valid() && r.rank() >= need.rank() }

// Min returns the lesser of r and other: a token's scope never exceeds its
// user's role, even after the user is demoted.
func (r Role) Min(other Role) Role {
	if other.rank() < r.rank() {
		return other
	}
	return r
}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fmt.Errorf("role %q: want viewer, operator or admin", s)
	}
	return r, nil
}

// AdminTokenName is the name sessions and audit entries give the
// break-glass admin token; no user may take it.
const AdminTokenName = "admin-token"

// userNameRE is what a user name may be: short, and without the "/" that
// separates a user from a token name in the audit log.
var userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// ValidUserName tells what is wrong with a user name, or "".
func ValidUserName(name string) string {
	switch {
	case !userNameRE.MatchString(name):
		return "1 to 64 letters, digits or . _ @ + -, starting with a letter or digit"
	case name == AdminTokenName:
		return `"admin-token" names the break-glass admin token`
	}
	return ""
}
