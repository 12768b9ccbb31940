package tracer

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// jar holds a trace's cookies. Go's cookie parser drops values browsers
// keep, such as one with a double quote inside (q=x"y); jar keeps those
// raw, per host, and sends them back as written.
type jar struct {
	*cookiejar.Jar
	raw []rawCookie
}

type rawCookie struct{ host, path, name, value string }

func newJar() (*jar, error) {
	j, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		return nil, err
	}
	return &jar{Jar: j}, nil
}

// keepRawCookies stores the Set-Cookie headers of resp that Go's parser
// dropped.
func (r *run) keepRawCookies(u *url.URL, resp *http.Response) {
	lines := resp.Header.Values("Set-Cookie")
	if len(lines) == 0 {
		return
	}
	parsed := map[string]bool{}
	for _, c := range resp.Cookies() {
		parsed[c.Name] = true
	}
	for _, line := range lines {
		pair, attrs, _ := strings.Cut(line, ";")
		name, value, ok := strings.Cut(pair, "=")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" || parsed[name] {
			continue
		}
		p := defaultCookiePath(u)
		for a := range strings.SplitSeq(attrs, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(a), "=")
			if strings.EqualFold(k, "path") && strings.HasPrefix(v, "/") {
				p = v
			}
		}
		r.jar.set(rawCookie{host: u.Hostname(), path: p, name: name, value: value})
	}
}

func (j *jar) set(c rawCookie) {
	for i, old := range j.raw {
		if old.host == c.host && old.path == c.path && old.name == c.name {
			j.raw[i] = c
			return
		}
	}
	j.raw = append(j.raw, c)
}

// rawHeader is the Cookie header of the raw cookies for u.
func (j *jar) rawHeader(u *url.URL) string {
	var parts []string
	for _, c := range j.raw {
		if c.host == u.Hostname() && pathMatch(u.EscapedPath(), c.path) {
			parts = append(parts, c.name+"="+c.value)
		}
	}
	return strings.Join(parts, "; ")
}

func pathMatch(reqPath, cookiePath string) bool {
	if reqPath == "" {
		reqPath = "/"
	}
	return reqPath == cookiePath || strings.HasPrefix(reqPath, cookiePath) &&
		(strings.HasSuffix(cookiePath, "/") || reqPath[len(cookiePath)] == '/')
}

func defaultCookiePath(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" || p[0] != '/' || strings.Count(p, "/") == 1 {
		return "/"
	}
	return path.Dir(p)
}
