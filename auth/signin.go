package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// Sign-in throttling. Each failed attempt counts against the account and
// against the client address; past a few free failures, each further one
// doubles how long the next attempt is refused without being heard, up to
// maxBlock. An office behind one address gets more free failures than one
// account does.
const (
	freeAccountFailures = 3
	freeAddressFailures = 10
	firstBlock          = time.Second
	maxBlock            = 15 * time.Minute
)

func blockAfter(free int) func(int) time.Duration {
	return func(failures int) time.Duration {
		if failures <= free {
			return 0
		}
		d := firstBlock
		for i := free + 1; i < failures && d < maxBlock; i++ {
			d *= 2
		}
		return min(d, maxBlock)
	}
}

// ThrottledError refuses a sign-in attempt unheard.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins: try again in %s", e.RetryAfter.Round(time.Second))
}

// ErrWrongCredentials is a wrong name, password, token or code. It never
// says which, so that names cannot be probed.
var ErrWrongCredentials = errors.New("wrong name, password or code")

// ErrCodeRequired means the password was right and the user has a second
// factor: ask for the code.
var ErrCodeRequired = errors.New("enter the code from your authenticator app, or a recovery code")

// dummyHash is checked against when the user does not exist, so that an
// unknown name takes as long as a wrong password.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("not a password of anybody's")
	return h
})

func throttleKeys(account, addr string) (string, string) {
	return "user:" + strings.ToLower(account), "addr:" + addr
}

// checkThrottle refuses an attempt while the account or address is blocked.
func (s *Service) checkThrottle(ctx context.Context, account, addr string) error {
	userKey, addrKey := throttleKeys(account, addr)
	until, err := s.db.LoginBlockedUntil(ctx, userKey, addrKey)
	if err != nil {
		return err
	}
	if wait := until.Sub(s.now()); wait > 0 {
		s.logger.Warn("sign-in refused: throttled", "client_addr", addr, "user", account, "retry_after_s", int(wait.Seconds()+0.999))
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// failed counts a failed attempt and logs it with the client address.
func (s *Service) failed(ctx context.Context, account, addr, reason string) error {
	userKey, addrKey := throttleKeys(account, addr)
	n, err := s.db.LoginFailed(ctx, userKey, s.now(), blockAfter(freeAccountFailures))
	if err != nil {
		return err
	}
	m, err := s.db.LoginFailed(ctx, addrKey, s.now(), blockAfter(freeAddressFailures))
	if err != nil {
		return err
	}
	s.logger.Warn("sign-in failed", "client_addr", addr, "user", account, "reason", reason,
		"account_failures", n, "address_failures", m)
	return ErrWrongCredentials
}

// SignIn checks a user's name, password and, when the user has a second
// factor, code (a TOTP code or an unused recovery code). Errors are
// *ThrottledError, ErrWrongCredentials, ErrCodeRequired or storage errors.
func (s *Service) SignIn(ctx context.Context, addr, name, password, code string) (store.User, error) {
	name = strings.TrimSpace(name)
	if err := s.checkThrottle(ctx, name, addr); err != nil {
		return store.User{}, err
	}
	u, err := s.db.UserByName(ctx, name)
	if errors.Is(err, urltracker.ErrNotFound) {
		_, _ = CheckPassword(dummyHash(), password)
		return store.User{}, s.failed(ctx, name, addr, "unknown user")
	}
	if err != nil {
		return store.User{}, err
	}
	ok, err := CheckPassword(u.PasswordHash, password)
	if err != nil {
		return store.User{}, fmt.Errorf("user %s: %w", u.Name, err)
	}
	switch {
	case !ok:
		return store.User{}, s.failed(ctx, name, addr, "wrong password")
	case u.Disabled:
		return store.User{}, s.failed(ctx, name, addr, "user disabled")
	}
	if u.TOTP {
		code = strings.TrimSpace(code)
		if code == "" {
			return store.User{}, ErrCodeRequired
		}
		if !CheckTOTP(u.TOTPSecret, code, s.now()) {
			used, err := s.db.UseRecoveryCode(ctx, u.ID, HashRecoveryCode(code))
			if err != nil {
				return store.User{}, err
			}
			if !used {
				return store.User{}, s.failed(ctx, name, addr, "wrong code")
			}
			s.logger.Warn("sign-in with a recovery code", "client_addr", addr, "user", u.Name, "recovery_codes_left", len(u.RecoveryCodes)-1)
		}
	}
	userKey, _ := throttleKeys(name, addr)
	if err := s.db.LoginSucceeded(ctx, userKey); err != nil {
		return store.User{}, err
	}
	return u, nil
}

// SignInAdminToken checks the break-glass admin token, throttled like a
// user named "admin-token".
func (s *Service) SignInAdminToken(ctx context.Context, addr, token string) error {
	if err := s.checkThrottle(ctx, store.AdminTokenUser, addr); err != nil {
		return err
	}
	if !s.IsAdminToken(strings.TrimSpace(token)) {
		return s.failed(ctx, store.AdminTokenUser, addr, "wrong admin token")
	}
	userKey, _ := throttleKeys(store.AdminTokenUser, addr)
	return s.db.LoginSucceeded(ctx, userKey)
}
