package tracer

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// resolveURL resolves ref, as found in a Location header, a refresh or a
// script, against base the way a browser does on an http(s) page, and
// returns the URL to request next. With a nil base, ref must be absolute.
//
// The result is canonical: its String() parses back to itself, has no
// fragment (never sent to a server) and a lower-case host, so that one URL
// always looks the same to loop detection.
func resolveURL(base *url.URL, ref string) (*url.URL, error) {
	ref = cleanRef(ref)
	u, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", ref, errors.Unwrap(err))
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q must start with http:// or https://", ref)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return nil, fmt.Errorf("URL %q has no host", ref)
	}
	u.Host = strings.ToLower(u.Host)
	u.RawQuery = escapeQuery(u.RawQuery)
	u.Fragment, u.RawFragment = "", ""
	canonical, err := url.Parse(u.String())
	if err != nil {
		return nil, fmt.Errorf("invalid URL %q: %w", ref, errors.Unwrap(err))
	}
	return canonical, nil
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
