package judge

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/urltracker/urltracker"
)

// Names of the signals the judge records.
const (
	SignalLandingIsSiteRoot      = "landing_is_site_root"
	SignalLandingIsErrorPath     = "landing_is_error_path"
	SignalParkedDomainMarker     = "parked_domain_marker"
	SignalNearEmptyBody          = "near_empty_body"
	SignalNoindex                = "noindex"
	SignalSameAsMissingPage      = "same_as_missing_page"
	SignalCertificateExpiresSoon = urltracker.SignalCertificateExpiresSoon
	SignalContentRuleFailed      = "content_rule_failed"
)

// saysSignal names the signal of a phrase of kind found in one place of
// the page: title_says_not_found, h1_says_expired, text_says_for_sale.
func saysSignal(where, kind string) string { return where + "_says_" + kind }

// nearEmptyWords: a page with fewer visible words, and no image, video,
// frame or form, shows a visitor nothing.
const nearEmptyWords = 8

// errorPathSegments are path segments sites send a visitor to when what was
// asked for is gone.
var errorPathSegments = map[string]bool{
	"404": true, "404.html": true, "404.php": true, "404.htm": true, "error": true, "errors": true, "error.html": true,
	"not-found": true, "notfound": true, "not_found": true, "page-not-found": true, "pagenotfound": true,
	"expired": true, "offer-expired": true, "unavailable": true, "offer-unavailable": true, "gone": true,
}

// pageSignals reads the evidence a landing page gives about itself: f are
// its facts, chain the hops that led there, previous the offer's last
// healthy landing ("" if none).
func (j *Judge) pageSignals(page *urltracker.Page, f facts, chain []urltracker.Hop, previous string) []urltracker.Signal {
	var out []urltracker.Signal
	add := func(name, evidence string) { out = append(out, urltracker.Signal{Name: name, Evidence: evidence}) }
	if ph, ok := j.phrases.matchHeading(f.title); ok {
		add(saysSignal("title", ph.kind), "<title>"+clip(f.title)+"</title>")
	}
	for _, h := range f.h1 {
		if ph, ok := j.phrases.matchHeading(h); ok {
			add(saysSignal("h1", ph.kind), "<h1>"+clip(h)+"</h1>")
			break
		}
	}
	for _, b := range f.prominent {
		if ph, ok := j.phrases.match(normalize(b.text)); ok {
			add(saysSignal("text", ph.kind), "<"+b.tag+">"+clip(b.text)+"</"+b.tag+">")
			break
		}
	}
	markup := strings.ToLower(string(page.Body))
	for _, m := range j.phrases.parking {
		if strings.Contains(markup, m) {
			add(SignalParkedDomainMarker, "the page loads or links "+m+", a domain parking or sale service")
			break
		}
	}
	landing, err := url.Parse(page.URL)
	if err == nil {
		if deeper := deeperOnSite(landing, chain, previous); isRoot(landing) && deeper != "" {
			add(SignalLandingIsSiteRoot, "landed on the site's home page "+landing.String()+" instead of "+deeper)
		}
		if seg, ok := errorPath(landing); ok {
			add(SignalLandingIsErrorPath, "landed on "+landing.Path+" ("+seg+")")
		}
	}
	if f.words < nearEmptyWords && !f.media {
		add(SignalNearEmptyBody, fmt.Sprintf("the page shows %s of text and no image, video or form", plural(f.words, "word")))
	}
	switch {
	case f.noindex != "":
		add(SignalNoindex, f.noindex)
	case strings.Contains(strings.ToLower(page.RobotsTag), "noindex"):
		add(SignalNoindex, "X-Robots-Tag: "+page.RobotsTag)
	}
	return out
}

// deeperOnSite returns a URL on the landing's site with a deeper path that
// the chain passed through, or the offer's previous landing when it was
// deeper on the same site; "" when there is none.
func deeperOnSite(landing *url.URL, chain []urltracker.Hop, previous string) string {
	candidates := make([]string, 0, len(chain)+1)
	for _, h := range chain {
		candidates = append(candidates, h.URL)
	}
	if previous != "" {
		candidates = append(candidates, previous)
	}
	for _, c := range candidates {
		u, err := url.Parse(c)
		if err != nil || !sameSite(u.Hostname(), landing.Hostname()) {
			continue
		}
		if !isRoot(u) {
			return c
		}
	}
	return ""
}

// isRoot reports whether u is a site's home page: the path / (or an index
// file) with no query that picks a page.
func isRoot(u *url.URL) bool {
	p := strings.TrimSuffix(strings.ToLower(u.Path), "/")
	switch p {
	case "", "/index.html", "/index.php", "/index.htm", "/home", "/en", "/default.aspx":
		return true
	}
	return false
}

// errorPath reports whether u's path or query names an error page.
func errorPath(u *url.URL) (string, bool) {
	for _, seg := range strings.Split(strings.ToLower(u.Path), "/") {
		if errorPathSegments[seg] {
			return seg, true
		}
	}
	q := u.Query()
	for _, k := range []string{"error", "err", "notfound"} {
		if q.Has(k) {
			return "?" + k + "=", true
		}
	}
	return "", false
}

// sameSite reports whether two hosts are one site: equal, or one a
// subdomain of the other (www.shop.example and shop.example).
func sameSite(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

// clip shortens evidence to what fits on a line.
func clip(s string) string {
	const max = 120
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return string(r[:max]) + "…"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
