// Package auth says who is calling and what they may do: users and their
// passwords (argon2id) and second factor (TOTP), API tokens, dashboard
// sessions kept in the database, sign-in throttling, and the client address
// behind trusted proxies. The HTTP layers (server, dashboard) ask it; it
// stores through store.
package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// touchEvery is how stale a session's or token's last use may be recorded:
// writing it on every request would make every page view a database write.
const touchEvery = time.Minute

// Default session lifetimes (URLTRACKER_SESSION_IDLE_TIMEOUT and
// URLTRACKER_SESSION_LIFETIME).
const (
	DefaultSessionIdle     = 2 * time.Hour
	DefaultSessionLifetime = 12 * time.Hour
)

// Config is how a Service authenticates.
type Config struct {
	// AdminToken is the break-glass admin token (URLTRACKER_ADMIN_TOKEN or
	// the generated one).
	AdminToken string
	// SessionIdle ends a session unused this long; SessionLifetime ends
	// any session this long after sign-in.
	SessionIdle     time.Duration
	SessionLifetime time.Duration
	// TrustedProxies may set X-Forwarded-For.
	TrustedProxies []netip.Prefix
}

// Service authenticates callers. It is safe for concurrent use.
type Service struct {
	db        *store.DB
	cfg       Config
	now       func() time.Time
	logger    *slog.Logger
	adminHash string
}

// New returns a Service over db.
func New(db *store.DB, cfg Config, now func() time.Time, logger *slog.Logger) *Service {
	return &Service{db: db, cfg: cfg, now: now, logger: logger, adminHash: HashSecret(cfg.AdminToken)}
}

// Principal is an authenticated caller.
type Principal struct {
	// Name is the user's name, "USER/TOKEN" for an API token, or
	// "admin-token".
	Name string
	Role urltracker.Role
	// UserID is 0 for the admin token.
	UserID int64
	// TokenID is the API token used, if any; SessionID the session.
	TokenID   int64
	SessionID int64
	// Address is the client address.
	Address string
}

// Actor is p as the audit log records it.
func (p Principal) Actor(instance string) store.Actor {
	return store.Actor{Name: p.Name, Address: p.Address, Instance: instance}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// From returns the principal ctx carries.
func From(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// ErrNoCredentials means the request carried none; ErrBadCredentials that
// it carried some that are wrong, expired, revoked or disabled.
var (
	ErrNoCredentials  = errors.New("no credentials")
	ErrBadCredentials = errors.New("invalid credentials")
)

// ClientAddr is the client address of r (see the function ClientAddr).
func (s *Service) ClientAddr(r *http.Request) string { return ClientAddr(r, s.cfg.TrustedProxies) }

// IsAdminToken reports whether token is the break-glass admin token.
func (s *Service) IsAdminToken(token string) bool {
	return s.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.AdminToken)) == 1
}

// Bearer authenticates r's "Authorization: Bearer" header: the admin token
// or an API token.
func (s *Service) Bearer(r *http.Request) (Principal, error) {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	got = strings.TrimSpace(got)
	addr := s.ClientAddr(r)
	if s.IsAdminToken(got) {
		return Principal{Name: store.AdminTokenUser, Role: urltracker.RoleAdmin, Address: addr}, nil
	}
	if !IsAPIToken(got) {
		return Principal{}, ErrBadCredentials
	}
	t, err := s.db.APITokenByHash(r.Context(), HashSecret(got))
	if errors.Is(err, urltracker.ErrNotFound) {
		return Principal{}, ErrBadCredentials
	}
	if err != nil {
		return Principal{}, err
	}
	now := s.now()
	if t.RevokedAt != nil || t.UserDisabled || (t.ExpiresAt != nil && !now.Before(*t.ExpiresAt)) {
		return Principal{}, ErrBadCredentials
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= touchEvery {
		if err := s.db.TouchAPIToken(r.Context(), t.ID, now); err != nil {
			s.logger.Warn("record API token use", "token_id", t.ID, "err", err)
		}
	}
	return Principal{
		Name: t.User + "/" + t.Name, Role: t.Role.Min(t.UserRole),
		UserID: t.UserID, TokenID: t.ID, Address: addr,
	}, nil
}

// StartSession opens a dashboard session for a user (userID > 0) or for
// the admin token (userID == 0) and returns the cookie value and when the
// session ends at the latest.
func (s *Service) StartSession(ctx context.Context, userID int64, addr, userAgent string) (cookie string, expires time.Time, err error) {
	cookie = newSecret()
	expires = s.now().Add(s.cfg.SessionLifetime)
	ns := store.NewSession{TokenHash: HashSecret(cookie), At: s.now(), ExpiresAt: expires, Address: addr, UserAgent: truncate(userAgent, 200)}
	if userID > 0 {
		ns.UserID = &userID
	} else {
		ns.AdminTokenHash = s.adminHash
	}
	if _, err := s.db.CreateSession(ctx, ns); err != nil {
		return "", time.Time{}, err
	}
	return cookie, expires, nil
}

// Session returns the principal of a session cookie, and false when the
// cookie opens no live session.
func (s *Service) Session(ctx context.Context, cookie, addr string) (Principal, bool, error) {
	if cookie == "" {
		return Principal{}, false, nil
	}
	x, err := s.db.SessionByToken(ctx, HashSecret(cookie))
	if errors.Is(err, urltracker.ErrNotFound) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, err
	}
	now := s.now()
	live := now.Before(x.ExpiresAt) && now.Sub(x.LastSeenAt) < s.cfg.SessionIdle && !x.Disabled &&
		(x.UserID != nil || (s.cfg.AdminToken != "" && subtle.ConstantTimeCompare([]byte(x.AdminTokenHash), []byte(s.adminHash)) == 1))
	if !live {
		if err := s.db.DeleteSession(ctx, x.ID); err != nil && !errors.Is(err, urltracker.ErrNotFound) {
			return Principal{}, false, err
		}
		return Principal{}, false, nil
	}
	if now.Sub(x.LastSeenAt) >= touchEvery {
		if err := s.db.TouchSession(ctx, x.ID, now); err != nil {
			return Principal{}, false, err
		}
	}
	p := Principal{Name: x.User, Role: x.Role, SessionID: x.ID, Address: addr}
	if x.UserID != nil {
		p.UserID = *x.UserID
	}
	return p, true, nil
}

// EndFormerAdminTokenSessions ends the sessions opened with an admin token
// other than the current one. serve calls it at start: a session of a
// replaced token must not come back if the old token is set again.
func (s *Service) EndFormerAdminTokenSessions(ctx context.Context) (int64, error) {
	return s.db.DeleteAdminTokenSessions(ctx, s.adminHash)
}

// EndSession ends the session of a cookie, if it is one.
func (s *Service) EndSession(ctx context.Context, cookie string) error {
	if cookie == "" {
		return nil
	}
	x, err := s.db.SessionByToken(ctx, HashSecret(cookie))
	if errors.Is(err, urltracker.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.db.DeleteSession(ctx, x.ID); err != nil && !errors.Is(err, urltracker.ErrNotFound) {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// truncate keeps at most n bytes of s as valid UTF-8 without control
// characters, for values clients choose (User-Agent) that are stored.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	s = strings.ToValidUTF8(s, "")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
