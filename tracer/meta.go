package tracer

import (
	"strings"
	"time"
)

// maxRefreshSeconds bounds the delay a refresh can state, so that absurd
// values saturate instead of overflowing time.Duration.
const maxRefreshSeconds = 1 << 30

// parseRefresh reads the content of a <meta http-equiv="refresh"> element or
// of a Refresh header, following the HTML standard's "shared declarative
// refresh steps": "N", "N; url=U", "N, URL='U'", "N U" and the like, in any
// case. ok is false when content is not a refresh at all. An empty target
// means the page reloads itself, which is not a redirect.
func parseRefresh(content string) (delay time.Duration, target string, ok bool) {
	s := trimASCIISpaceLeft(content)
	digits := 0
	seconds := 0
	for digits < len(s) && isDigit(s[digits]) {
		if seconds < maxRefreshSeconds {
			seconds = seconds*10 + int(s[digits]-'0')
		}
		digits++
	}
	if digits == 0 && (len(s) == 0 || s[0] != '.') {
		return 0, "", false
	}
	seconds = min(seconds, maxRefreshSeconds)
	delay = time.Duration(seconds) * time.Second
	// A fractional part is allowed and ignored.
	s = strings.TrimLeft(s[digits:], "0123456789.")
	if s == "" {
		return delay, "", true
	}
	if s[0] != ';' && s[0] != ',' && !isASCIISpace(s[0]) {
		return 0, "", false
	}
	s = trimASCIISpaceLeft(s)
	if s != "" && (s[0] == ';' || s[0] == ',') {
		s = trimASCIISpaceLeft(s[1:])
	}
	if len(s) >= 3 && strings.EqualFold(s[:3], "url") {
		rest := trimASCIISpaceLeft(s[3:])
		// Without "=", "url" is the start of the target itself.
		if rest != "" && rest[0] == '=' {
			s = trimASCIISpaceLeft(rest[1:])
		}
	}
	if s != "" && (s[0] == '\'' || s[0] == '"') {
		quote := s[0]
		s = s[1:]
		if i := strings.IndexByte(s, quote); i >= 0 {
			s = s[:i]
		}
	}
	// The URL parser trims white space anyway; trimming here keeps " " from
	// reading as a target.
	return delay, strings.Trim(s, " \t\n\f\r"), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isASCIISpace is the HTML standard's ASCII whitespace.
func isASCIISpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

func trimASCIISpaceLeft(s string) string {
	return strings.TrimLeft(s, " \t\n\f\r")
}
