package auth

import (
	"testing"
	"time"
)

// TestTOTPMatchesRFC6238 checks the code computation against the SHA-1
// test vectors of RFC 6238, appendix B (8 digits, 30-second steps, key
// "12345678901234567890").
func TestTOTPMatchesRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := totpCode(key, uint64(tc.unix/30), 8); got != tc.want {
			t.Errorf("T=%d: code %s, want %s", tc.unix, got, tc.want)
		}
	}
}

func TestCheckTOTPAcceptsOneStepOfDrift(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	at := time.Unix(1111111111, 0)
	// The 6-digit code is the last 6 digits of the 8-digit one.
	code := totpCode([]byte("12345678901234567890"), uint64(at.Unix()/30), 6)
	if code != "050471" {
		t.Fatalf("6-digit code %s, want 050471", code)
	}
	for _, tc := range []struct {
		at   time.Time
		code string
		want bool
	}{
		{at, code, true},
		{at.Add(30 * time.Second), code, true},
		{at.Add(-30 * time.Second), code, true},
		{at.Add(90 * time.Second), code, false},
		{at, "050 471", true},
		{at, "050472", false},
		{at, "", false},
		{at, "14050471", false},
	} {
		if got := CheckTOTP(secret, tc.code, tc.at); got != tc.want {
			t.Errorf("code %q at %s: %v, want %v", tc.code, tc.at.Sub(at), got, tc.want)
		}
	}
	if CheckTOTP("not base32!", code, at) {
		t.Error("a malformed secret accepted a code")
	}
}

func TestRecoveryCodesAreOneOfAKindAndForgiving(t *testing.T) {
	codes, hashes := NewRecoveryCodes(10)
	seen := map[string]bool{}
	for i, c := range codes {
		if seen[c] || len(c) != 9 {
			t.Errorf("code %q repeated or malformed", c)
		}
		seen[c] = true
		if HashRecoveryCode(c) != hashes[i] {
			t.Errorf("code %q does not hash to its stored hash", c)
		}
	}
	if HashRecoveryCode(" ABCD-EFGH ") != HashRecoveryCode("abcdefgh") {
		t.Error("recovery codes should ignore case, dashes and spaces")
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckPassword(h, "correct horse battery"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, _ := CheckPassword(h, "correct horse batterY"); ok {
		t.Error("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse battery")
	if h == h2 {
		t.Error("two hashes of one password are equal: no salt")
	}
	if _, err := HashPassword("short"); err == nil {
		t.Error("a 5-character password was accepted")
	}
	if _, err := CheckPassword("$2a$10$bcrypt", "x"); err == nil {
		t.Error("a non-argon2id hash was not reported")
	}
}
