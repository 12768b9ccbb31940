package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// APITokenPrefix starts every API token, so that a leaked one is easy to
// recognise (and to search for in code and logs).
const APITokenPrefix = "utk_"

// newSecret returns 256 random bits, base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewAPIToken returns a new API token.
func NewAPIToken() string { return APITokenPrefix + newSecret() }

// IsAPIToken tells whether s looks like an API token.
func IsAPIToken(s string) bool { return strings.HasPrefix(s, APITokenPrefix) }

// HashSecret is the stored form of a session cookie or API token. A plain
// SHA-256 suffices: the secrets are 256 random bits, not guessable words.
func HashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// NewPassword returns a random password for a new user, to be changed
// later: 20 characters, about 120 bits.
func NewPassword() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
