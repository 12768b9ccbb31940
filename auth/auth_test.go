package auth_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	db    *store.DB
	clock *clock
	svc   *auth.Service
	logs  *testutil.SyncBuffer
}

func newFixture(t *testing.T, backend string) *fixture {
	t.Helper()
	ctx := context.Background()
	c := &clock{t: time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)}
	db, err := store.Open(ctx, testutil.DatabaseURL(t, backend), store.WithClock(c.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logs := &testutil.SyncBuffer{}
	svc := auth.New(db, auth.Config{AdminToken: "break-glass-token-0123456789", SessionIdle: time.Hour, SessionLifetime: 8 * time.Hour},
		c.Now, slog.New(slog.NewJSONHandler(logs, nil)))
	return &fixture{db: db, clock: c, svc: svc, logs: logs}
}

func (f *fixture) addUser(t *testing.T, name string, role urltracker.Role, password string) store.User {
	t.Helper()
	hash, err := auth.HashPassword(password)
	if err != nil {
		t.Fatal(err)
	}
	u, err := f.db.CreateUser(context.Background(), name, role, hash)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestSignInThrottle fails sign-ins against one account and checks that,
// past three free failures, the right password is refused unheard for a
// doubling time, that the block ends, and that each failure is logged
// with the client address.
func TestSignInThrottle(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend)
			f.addUser(t, "mia", urltracker.RoleOperator, "right password 1")
			const addr = "198.51.100.23"
			for i := range 3 {
				if _, err := f.svc.SignIn(ctx, addr, "mia", "wrong password", ""); !errors.Is(err, auth.ErrWrongCredentials) {
					t.Fatalf("failure %d: %v", i+1, err)
				}
			}
			// Three free failures: the right password still works.
			if _, err := f.svc.SignIn(ctx, addr, "mia", "right password 1", ""); err != nil {
				t.Fatalf("after 3 failures, the right password: %v", err)
			}
			// A success clears the account's count; four more failures
			// block for 1 s, each further one doubles it.
			var want time.Duration
			for i := range 6 {
				_, err := f.svc.SignIn(ctx, addr, "mia", "wrong password", "")
				var throttled *auth.ThrottledError
				if i > 0 && errors.As(err, &throttled) {
					t.Fatalf("failure %d was throttled before the block: %v", i+1, err)
				}
				if i >= 3 {
					want = time.Second << (i - 3)
					_, err := f.svc.SignIn(ctx, addr, "mia", "right password 1", "")
					if !errors.As(err, &throttled) || throttled.RetryAfter != want {
						t.Fatalf("after %d failures, right password: %v, want throttled for %s", i+1, err, want)
					}
					f.clock.Add(want)
				}
			}
			if _, err := f.svc.SignIn(ctx, addr, "mia", "right password 1", ""); err != nil {
				t.Fatalf("after the block ended, the right password: %v", err)
			}
			n := strings.Count(f.logs.String(), `"msg":"sign-in failed","client_addr":"198.51.100.23","user":"mia"`)
			if n != 9 {
				t.Errorf("%d sign-in failure log lines with the client address, want 9\n%s", n, f.logs.String())
			}
			// An unknown user counts too, and tells nothing apart.
			if _, err := f.svc.SignIn(ctx, addr, "nobody", "whatever password", ""); !errors.Is(err, auth.ErrWrongCredentials) {
				t.Errorf("unknown user: %v", err)
			}
		})
	}
}

// TestSignInThrottlePerAddress blocks one address guessing across many
// accounts, while another address signs in.
func TestSignInThrottlePerAddress(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite")
	f.addUser(t, "ben", urltracker.RoleViewer, "right password 2")
	for i := range 11 {
		name := "guess" + string(rune('a'+i))
		if _, err := f.svc.SignIn(ctx, "203.0.113.5", name, "password guess", ""); !errors.Is(err, auth.ErrWrongCredentials) {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	var throttled *auth.ThrottledError
	if _, err := f.svc.SignIn(ctx, "203.0.113.5", "ben", "right password 2", ""); !errors.As(err, &throttled) {
		t.Errorf("the guessing address, after 11 failures: %v, want throttled", err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "ben", "right password 2", ""); err != nil {
		t.Errorf("another address: %v", err)
	}
}

// TestSecondFactor signs in with a TOTP code and with each recovery code
// once.
func TestSecondFactor(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite")
	u := f.addUser(t, "zoe", urltracker.RoleAdmin, "right password 3")
	secret := auth.NewTOTPSecret()
	codes, hashes := auth.NewRecoveryCodes(2)
	if _, err := f.db.UpdateUser(ctx, u.ID, store.UserChange{TOTPSecret: &secret, RecoveryCodes: &hashes}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "zoe", "right password 3", ""); !errors.Is(err, auth.ErrCodeRequired) {
		t.Errorf("no code: %v, want ErrCodeRequired", err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "zoe", "right password 3", auth.TOTPAt(secret, f.clock.Now())); err != nil {
		t.Errorf("right code: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "zoe", "right password 3", "000000"); !errors.Is(err, auth.ErrWrongCredentials) {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "zoe", "right password 3", strings.ToUpper(codes[0])); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "zoe", "right password 3", codes[0]); !errors.Is(err, auth.ErrWrongCredentials) {
		t.Errorf("recovery code used twice: %v, want refused", err)
	}
	if _, err := f.svc.SignIn(ctx, "192.0.2.1", "zoe", "wrong password 3", codes[1]); !errors.Is(err, auth.ErrWrongCredentials) {
		t.Errorf("wrong password with a recovery code: %v", err)
	}
	if got, _ := f.db.User(ctx, u.ID); len(got.RecoveryCodes) != 1 {
		t.Errorf("%d recovery codes left, want 1 (a wrong password must not use one)", len(got.RecoveryCodes))
	}
}

// TestAPITokens checks a token's scope against its user's current role,
// and that revoked, expired and disabled users' tokens stop working.
func TestAPITokens(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend)
			u := f.addUser(t, "ops", urltracker.RoleAdmin, "right password 4")
			bearer := func(tok string) (auth.Principal, error) {
				r, _ := http.NewRequest(http.MethodGet, "/api/offers", nil)
				r.RemoteAddr = "192.0.2.8:4000"
				r.Header.Set("Authorization", "Bearer "+tok)
				return f.svc.Bearer(r)
			}
			newToken := func(name string, role urltracker.Role, expires *time.Time) (string, store.APIToken) {
				secret := auth.NewAPIToken()
				tok, err := f.db.CreateAPIToken(ctx, u.ID, name, role, auth.HashSecret(secret), expires)
				if err != nil {
					t.Fatal(err)
				}
				return secret, tok
			}
			opSecret, _ := newToken("ci", urltracker.RoleOperator, nil)
			p, err := bearer(opSecret)
			if err != nil || p.Role != urltracker.RoleOperator || p.Name != "ops/ci" || p.Address != "192.0.2.8" {
				t.Fatalf("operator token: %+v, %v", p, err)
			}
			if got, _ := f.db.APIToken(ctx, p.TokenID); got.LastUsedAt == nil {
				t.Error("last_used_at not recorded")
			}
			if _, err := f.db.CreateAPIToken(ctx, u.ID, "ci", urltracker.RoleViewer, "other-hash", nil); !errors.Is(err, urltracker.ErrConflict) {
				t.Errorf("second token named ci: %v, want ErrConflict", err)
			}
			// Demoting the user lowers the token at once.
			viewer := urltracker.RoleViewer
			if _, err := f.db.UpdateUser(ctx, u.ID, store.UserChange{Role: &viewer}); err != nil {
				t.Fatal(err)
			}
			if p, _ := bearer(opSecret); p.Role != urltracker.RoleViewer {
				t.Errorf("after demotion to viewer, the operator token acts as %s", p.Role)
			}
			exp := f.clock.Now().Add(time.Hour)
			shortSecret, _ := newToken("short", urltracker.RoleViewer, &exp)
			f.clock.Add(time.Hour)
			if _, err := bearer(shortSecret); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("expired token: %v", err)
			}
			if _, err := f.db.RevokeAPIToken(ctx, p.TokenID); err != nil {
				t.Fatal(err)
			}
			if _, err := bearer(opSecret); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("revoked token: %v", err)
			}
			otherSecret, _ := newToken("other", urltracker.RoleViewer, nil)
			yes := true
			if _, err := f.db.UpdateUser(ctx, u.ID, store.UserChange{Disabled: &yes}); err != nil {
				t.Fatal(err)
			}
			if _, err := bearer(otherSecret); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("disabled user's token: %v", err)
			}
			if _, err := bearer("utk_" + strings.Repeat("x", 43)); !errors.Is(err, auth.ErrBadCredentials) {
				t.Errorf("unknown token: %v", err)
			}
			if p, err := bearer("break-glass-token-0123456789"); err != nil || p.Role != urltracker.RoleAdmin || p.Name != "admin-token" {
				t.Errorf("admin token: %+v %v", p, err)
			}
		})
	}
}

// TestSessionsEndOnChanges ends a user's sessions on a password change, a
// role change and disabling, and not on unrelated changes.
func TestSessionsEndOnChanges(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, backend)
			u := f.addUser(t, "lea", urltracker.RoleOperator, "right password 5")
			live := func(cookie string) bool {
				_, ok, err := f.svc.Session(ctx, cookie, "192.0.2.1")
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			start := func() string {
				c, _, err := f.svc.StartSession(ctx, u.ID, "192.0.2.1", "test\x00agent")
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			hash, _ := auth.HashPassword("new password 55")
			admin := urltracker.RoleAdmin
			yes, no := true, false
			for _, tc := range []struct {
				name string
				ch   store.UserChange
				ends bool
			}{
				{"re-enable", store.UserChange{Disabled: &no}, false},
				{"password", store.UserChange{PasswordHash: &hash}, true},
				{"role", store.UserChange{Role: &admin}, true},
				{"disable", store.UserChange{Disabled: &yes}, true},
			} {
				if _, err := f.db.UpdateUser(ctx, u.ID, store.UserChange{Disabled: &no}); err != nil {
					t.Fatal(err)
				}
				c := start()
				if !live(c) {
					t.Fatalf("%s: new session not live", tc.name)
				}
				if _, err := f.db.UpdateUser(ctx, u.ID, tc.ch); err != nil {
					t.Fatal(err)
				}
				if live(c) == tc.ends {
					t.Errorf("%s: session live %v, want %v", tc.name, !tc.ends, !tc.ends)
				}
			}
			sessions, _ := f.db.Sessions(ctx, u.ID, false)
			for _, s := range sessions {
				if strings.ContainsRune(s.UserAgent, 0) {
					t.Errorf("stored user agent %q keeps a NUL", s.UserAgent)
				}
			}
		})
	}
}
