package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
)

const (
	sessionCookie = "urltracker_session"
	csrfCookie    = "urltracker_csrf"
	csrfField     = "csrf"
	// keySetting names the CSRF signing key in the settings table.
	keySetting = "dashboard_session_key"
)

// signer holds the key that signs CSRF tokens. The key lives in the
// database, so forms stay valid across restarts and on every instance of a
// fleet; it is loaded on first use. Sessions themselves are rows in the
// database (auth.Service), so that signing out ends them for good.
type signer struct {
	d   Deps
	mu  sync.Mutex
	key []byte
}

func (s *signer) loadKey(ctx context.Context) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	fresh := make([]byte, 32)
	_, _ = rand.Read(fresh)
	stored, err := s.d.DB.EnsureSetting(ctx, keySetting, base64.RawURLEncoding.EncodeToString(fresh))
	if err != nil {
		return nil, fmt.Errorf("load session key: %w", err)
	}
	key, err := base64.RawURLEncoding.DecodeString(stored)
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("load session key: stored %s is not a 256-bit base64 key", keySetting)
	}
	s.key = key
	return key, nil
}

// sign returns the MAC of parts under the key.
func (s *signer) sign(key []byte, parts ...string) string {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfToken is the form token for a browser's CSRF cookie. Another site can
// neither read the cookie nor compute the token without the key.
func (s *signer) csrfToken(key []byte, cookie string) string {
	return s.sign(key, "csrf", cookie)
}

func randomToken() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// isHTTPS tells whether the browser reached us over HTTPS, directly or
// through a proxy that says so.
func isHTTPS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (h *handlers) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: isHTTPS(r),
	})
}

// session returns the principal of r's session cookie, and false when it
// has no live session.
func (h *handlers) session(r *http.Request) (auth.Principal, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return auth.Principal{}, false, nil
	}
	return h.d.Auth.Session(r.Context(), c.Value, h.d.Auth.ClientAddr(r))
}

// loggedIn reports whether r carries a live session cookie.
func (h *handlers) loggedIn(r *http.Request) (bool, error) {
	_, ok, err := h.session(r)
	return ok, err
}

// csrfFor returns the form token of this browser, giving it a CSRF cookie
// first if it has none.
func (h *handlers) csrfFor(w http.ResponseWriter, r *http.Request) (string, error) {
	key, err := h.signer.loadKey(r.Context())
	if err != nil {
		return "", err
	}
	c, err := r.Cookie(csrfCookie)
	value := ""
	if err == nil && c.Value != "" {
		value = c.Value
	} else {
		value = randomToken()
		h.setCookie(w, r, csrfCookie, value, 0)
		// Later reads in this request see the cookie just set.
		r.AddCookie(&http.Cookie{Name: csrfCookie, Value: value})
	}
	return h.signer.csrfToken(key, value), nil
}

// secure sets the headers every dashboard answer carries.
func (h *handlers) secure(next http.Handler) http.Handler {
	return h.crossOrigin.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		// Offer pages show push URLs with webhook tokens: never leak them.
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	}))
}

// requireSession sends visitors without a session to the login page and
// those whose role is below need to an error page.
func (h *handlers) requireSession(need urltracker.Role, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := h.session(r)
		if err != nil {
			h.storageError(w, r, err)
			return
		}
		if !ok {
			target := "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		if !p.Role.Allows(need) {
			h.renderError(w, r, http.StatusForbidden, "Your role ("+string(p.Role)+") may not do this; it needs "+string(need)+" or higher. Ask an admin.")
			return
		}
		next(w, r)
	})
}

// requireSessionLive answers 401 to live-part requests without a session;
// the page's script then reloads, which leads to the login page.
func (h *handlers) requireSessionLive(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := h.session(r)
		if err != nil {
			h.storageError(w, r, err)
			return
		}
		if !ok {
			http.Error(w, "signed out", http.StatusUnauthorized)
			return
		}
		next(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// requireCSRF refuses a form whose CSRF token does not match the browser's
// CSRF cookie, before anything is changed.
func (h *handlers) requireCSRF(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBody)
		if err := r.ParseForm(); err != nil {
			h.renderError(w, r, http.StatusBadRequest, "The form could not be read ("+err.Error()+"), so nothing was changed.")
			return
		}
		key, err := h.signer.loadKey(r.Context())
		if err != nil {
			h.storageError(w, r, err)
			return
		}
		c, err := r.Cookie(csrfCookie)
		given := r.PostFormValue(csrfField)
		if err != nil || given == "" || !hmac.Equal([]byte(given), []byte(h.signer.csrfToken(key, c.Value))) {
			h.renderError(w, r, http.StatusForbidden, "This form has expired or was not sent from this dashboard, so nothing was changed. Reload the page and try again.")
			return
		}
		next(w, r)
	}
}

// localPath returns next when it is a path on this site, else "/": the login
// form must not redirect to another site. Browsers forgive much in a
// Location header (they drop tabs and newlines, read "\\" as "/", and
// take "//host" as another site), so next is parsed in full and anything
// that is not a plain absolute path with an optional query is refused.
func localPath(next string) string {
	for _, c := range next {
		if c < 0x20 || c == 0x7f || c == '\\' || c == ' ' {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Opaque != "" || u.User != nil || u.Host != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	clean := &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	return clean.RequestURI()
}
