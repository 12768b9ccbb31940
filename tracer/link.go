package tracer

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
	"golang.org/x/text/encoding"
)

// resolveURL resolves ref, as found in a Location header, a refresh or a
// script, against base the way a browser does on an http(s) page, and
// returns the URL to request next. With a nil base, ref must be absolute.
//
// The result is canonical: its String() parses back to itself, has no
// fragment (never sent to a server) and a lower-case host, so that one URL
// always looks the same to loop detection.
func resolveURL(base *url.URL, ref string) (*url.URL, error) {
	u, err := parseBrowserURL(base, ref, nil)
	if err != nil {
		return nil, err
	}
	return canonical(u)
}

// canonical drops the fragment of an http(s) URL parsed by parseBrowserURL.
func canonical(u *url.URL) (*url.URL, error) {
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", u)
	}
	c := *u
	c.Fragment, c.RawFragment = "", ""
	parsed, err := url.Parse(c.String())
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", c.String(), errors.Unwrap(err))
	}
	return parsed, nil
}

// parseBrowserURL parses ref against base as the WHATWG URL standard does
// for an http(s) page whose charset is enc (nil for UTF-8), fragment kept:
// white space trimmed, tabs and newlines removed, "\" read as "/", a "%"
// that starts no escape kept as a literal percent sign, "http:path" relative
// to an http base, an IPv4 address in any of its short forms, and the query
// encoded in the page's charset. It refuses what browsers refuse: an
// http(s) URL without a host.
func parseBrowserURL(base *url.URL, ref string, enc encoding.Encoding) (*url.URL, error) {
	ref = cleanRef(ref)
	if base != nil {
		// "http:final" and "http:/path" are relative to an http page.
		if rest, ok := cutPrefixFold(ref, base.Scheme+":"); ok && !strings.HasPrefix(rest, "//") {
			ref = rest
		}
	}
	ref = escapeStrayPercents(ref)
	if enc != nil {
		ref = encodeQuery(ref, enc)
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", ref, errors.Unwrap(err))
	}
	if base != nil {
		u = base.ResolveReference(u)
	} else if u.Scheme == "" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", ref)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return u, nil
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", ref)
	}
	u.Host = canonicalHost(u.Host)
	u.RawQuery = escapeQuery(u.RawQuery)
	return u, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// escapeStrayPercents writes a "%" in the path that is not followed by two
// hex digits as "%25": Go's parser refuses such a percent sign outright. In
// the query, which Go keeps as written, it stays a bare "%", as browsers
// send it.
func escapeStrayPercents(ref string) string {
	end := strings.IndexAny(ref, "?#")
	if end < 0 {
		end = len(ref)
	}
	if !strings.Contains(ref[:end], "%") {
		return ref
	}
	var b strings.Builder
	for i := 0; i < end; i++ {
		if ref[i] == '%' && !(i+2 < len(ref) && isHex(ref[i+1]) && isHex(ref[i+2])) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(ref[i])
	}
	return b.String() + ref[end:]
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// encodeQuery encodes the query of ref in enc, as a browser does for a URL
// found in a page in a legacy charset; what enc cannot encode becomes a
// numeric character reference.
func encodeQuery(ref string, enc encoding.Encoding) string {
	q := strings.IndexByte(ref, '?')
	if q < 0 {
		return ref
	}
	end := strings.IndexByte(ref[q:], '#')
	if end < 0 {
		end = len(ref)
	} else {
		end += q
	}
	query := ref[q+1 : end]
	if isASCII(query) {
		return ref
	}
	return ref[:q+1] + encodeText(query, enc) + ref[end:]
}

// encodeText encodes s in enc, characters enc lacks as &#N; like browsers.
func encodeText(s string, enc encoding.Encoding) string {
	if enc == nil || isASCII(s) {
		return s
	}
	e := enc.NewEncoder()
	var b strings.Builder
	for _, r := range s {
		out, err := e.String(string(r))
		if err != nil {
			fmt.Fprintf(&b, "&#%d;", r)
			continue
		}
		b.WriteString(out)
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// canonicalHost lower-cases host and writes an IPv4 address in the dotted
// form browsers use, whatever short form it was written in (127.1).
func canonicalHost(host string) string {
	host = strings.ToLower(host)
	name, port, err := net.SplitHostPort(host)
	if err != nil {
		name, port = host, ""
	}
	if ip, ok := parseIPv4Shorthand(name); ok {
		name = ip
		if port == "" {
			return name
		}
		return net.JoinHostPort(name, port)
	}
	return host
}

// parseIPv4Shorthand reads a host of one to four decimal parts as the
// WHATWG URL standard's IPv4 parser does (hex and octal parts are left alone).
func parseIPv4Shorthand(h string) (string, bool) {
	parts := strings.Split(h, ".")
	if len(parts) > 4 || len(parts) == 4 || h == "" {
		return "", false
	}
	var nums []uint64
	for _, p := range parts {
		if p == "" || len(p) > 10 {
			return "", false
		}
		for i := 0; i < len(p); i++ {
			if !isDigit(p[i]) {
				return "", false
			}
		}
		var v uint64
		for i := 0; i < len(p); i++ {
			v = v*10 + uint64(p[i]-'0')
		}
		nums = append(nums, v)
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return "", false
	}
	ip := last
	for i, v := range nums[:len(nums)-1] {
		if v > 255 {
			return "", false
		}
		ip |= v << (8 * (3 - i))
	}
	return fmt.Sprintf("%d.%d.%d.%d", ip>>24, ip>>16&255, ip>>8&255, ip&255), true
}

// sameSite reports whether u is on the same site as page: the same scheme
// and registrable domain, or the same host for an address.
func sameSite(u, page *url.URL) bool {
	if u.Scheme != page.Scheme {
		return false
	}
	a, b := u.Hostname(), page.Hostname()
	if a == b {
		return true
	}
	da, errA := publicsuffix.EffectiveTLDPlusOne(a)
	db, errB := publicsuffix.EffectiveTLDPlusOne(b)
	return errA == nil && errB == nil && da == db
}

// escapeQuery percent-encodes what a browser encodes in the query of an
// http(s) URL (controls, space, quotes, <, > and non-ASCII bytes), which Go
// leaves as written and would send raw.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	escaped := false
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c > ' ' && c < 0x7f && c != '"' && c != '\'' && c != '<' && c != '>' {
			if escaped {
				b.WriteByte(c)
			}
			continue
		}
		if !escaped {
			escaped = true
			b.Grow(len(q) + 8)
			b.WriteString(q[:i])
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	if !escaped {
		return q
	}
	return b.String()
}

// cleanRef does what a browser's URL parser does before it reads a URL: it
// trims leading and trailing control characters and spaces, removes tabs and
// newlines anywhere, and reads "\" as "/" outside the query and fragment.
func cleanRef(ref string) string {
	ref = strings.TrimFunc(ref, func(r rune) bool { return r <= ' ' })
	if strings.ContainsAny(ref, "\t\n\r") {
		ref = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(ref)
	}
	end := strings.IndexAny(ref, "?#")
	if end < 0 {
		end = len(ref)
	}
	if strings.Contains(ref[:end], `\`) {
		ref = strings.ReplaceAll(ref[:end], `\`, "/") + ref[end:]
	}
	return ref
}

// sameHost reports whether host is expected, ignoring case, a port, a
// trailing dot and a "www." prefix on either. expected may also be written
// as a URL.
func sameHost(host, expected string) bool {
	return normalizeHost(host) == normalizeHost(expected)
}

// SameHost is sameHost for the other engines of checks.
func SameHost(host, expected string) bool { return sameHost(host, expected) }

func normalizeHost(h string) string {
	h = strings.ToLower(strings.TrimSpace(h))
	if strings.Contains(h, "://") {
		if u, err := url.Parse(h); err == nil {
			h = u.Hostname()
		}
	} else if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	h = strings.TrimSuffix(strings.Trim(h, "[]"), ".")
	return strings.TrimPrefix(h, "www.")
}
