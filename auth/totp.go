package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1" //nolint:gosec // RFC 6238 TOTP is defined over HMAC-SHA-1, which authenticator apps use
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// TOTP parameters that every authenticator app understands: HMAC-SHA-1,
// 30-second steps, 6 digits.
const (
	totpStep   = 30 * time.Second
	totpDigits = 6
	// totpSkew is how many steps before and after now a code is accepted,
	// for clocks that drift and people who type slowly.
	totpSkew = 1
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit secret in base32, as RFC 4226
// recommends.
func NewTOTPSecret() string {
	b := make([]byte, 20)
	_, _ = rand.Read(b)
	return b32.EncodeToString(b)
}

// totpCode computes the RFC 6238 code of key for time step counter.
func totpCode(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	// RFC 4226 §5.3 dynamic truncation.
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// CheckTOTP reports whether code is the secret's code at now, or one step
// before or after.
func CheckTOTP(secret, code string, now time.Time) bool {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil || len(key) == 0 {
		return false
	}
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != totpDigits {
		return false
	}
	step := uint64(now.Unix()) / uint64(totpStep/time.Second)
	ok := 0
	for d := -totpSkew; d <= totpSkew; d++ {
		ok |= subtle.ConstantTimeCompare([]byte(totpCode(key, step+uint64(d), totpDigits)), []byte(code))
	}
	return ok == 1
}

// TOTPURI is the otpauth:// URI an authenticator app reads from a QR code
// or a link.
func TOTPURI(issuer, account, secret string) string {
	v := url.Values{"secret": {secret}, "issuer": {issuer}, "algorithm": {"SHA1"}, "digits": {fmt.Sprint(totpDigits)}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape(issuer+":"+account) + "?" + v.Encode()
}

// NewRecoveryCodes returns n one-time recovery codes (shown to the user
// once) and their hashes (stored).
func NewRecoveryCodes(n int) (codes, hashes []string) {
	for range n {
		b := make([]byte, 5)
		_, _ = rand.Read(b)
		c := strings.ToLower(b32.EncodeToString(b))
		c = c[:4] + "-" + c[4:]
		codes = append(codes, c)
		hashes = append(hashes, HashRecoveryCode(c))
	}
	return codes, hashes
}

// HashRecoveryCode is the stored form of a recovery code; case, spaces and
// dashes do not matter.
func HashRecoveryCode(code string) string {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:])
}

// TOTPAt returns the code of secret at t, as an authenticator app would
// show it (for tests and the command line).
func TOTPAt(secret string, t time.Time) string {
	key, err := b32.DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil {
		return ""
	}
	return totpCode(key, uint64(t.Unix())/uint64(totpStep/time.Second), totpDigits)
}
