// Package judge looks at the page a healthy-looking chain landed on the way
// a person would, and at the offer's own rules.
//
// A chain that ends in a 2xx is not always a working offer: the advertiser
// ended it and the page says "This offer has expired", a "page not found"
// is served with 200, the link falls back to the shop's home page, or the
// domain is parked. The judge records each piece of evidence as a signal
// (title_says_not_found, landing_is_site_root, parked_domain_marker,
// same_as_missing_page, …). One signal alone is only reported; two that
// agree, at least one of which says what is wrong (a phrase, a parking
// marker, the home page or an error path), give the verdict soft_404,
// offer_expired or parked_domain. Signals that only support (a near-empty
// body, noindex, the same page as a missing one) never decide alone: a
// genuine single-page app is all three.
//
// The phrase lists are data files, one per language (phrases/*.txt), and
// the parking providers' markers another (parking.txt).
package judge

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/tracer"
)

// DefaultCertWarn is how long before a certificate's expiry a check warns.
const DefaultCertWarn = 14 * 24 * time.Hour

// Config holds the judge's dependencies.
type Config struct {
	// Tracer fetches the missing-page probe, with the same User-Agent and
	// address guard as every check. Nil skips the probe.
	Tracer *tracer.Tracer
	// CertWarn: a certificate expiring within this gets the signal
	// certificate_expires_soon; default DefaultCertWarn.
	CertWarn time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Judge judges landing pages. It is safe for concurrent use.
type Judge struct {
	cfg     Config
	phrases *phrases
	probes  *probeCache

	regexMu sync.Mutex
	regexps map[string]*regexp.Regexp // compiled content rules
}

// New returns a Judge for cfg.
func New(cfg Config) (*Judge, error) {
	if cfg.CertWarn <= 0 {
		cfg.CertWarn = DefaultCertWarn
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p, err := loadPhrases()
	if err != nil {
		return nil, fmt.Errorf("load phrase lists: %w", err)
	}
	return &Judge{cfg: cfg, phrases: p, probes: newProbeCache(), regexps: map[string]*regexp.Regexp{}}, nil
}

// Assess judges check, a run of the tracer on o's link, and sets its
// signals and, where the evidence or a rule says so, its verdict and error.
func (j *Judge) Assess(ctx context.Context, o urltracker.Offer, c *urltracker.Check) {
	c.Signals = append(c.Signals, j.certificateSignals(c.Certificates)...)
	if c.Verdict == urltracker.VerdictRefused && o.Rules.RefusedIsBroken {
		c.Verdict = urltracker.VerdictBroken
		c.Error += " (counted as broken: the offer's rules say refused_is_broken)"
	}
	if c.Verdict != urltracker.VerdictHealthy {
		return
	}
	var f facts
	if page := c.Landing; page != nil && page.Body != nil {
		f = readFacts(page.Body)
		signals := j.pageSignals(page, f, c.Chain, c.PreviousLanding)
		if len(signals) > 0 {
			if s, ok := j.sameAsMissing(ctx, page, f); ok {
				signals = append(signals, s)
			}
		}
		c.Signals = append(c.Signals, signals...)
		if v, why := decide(signals); v != "" {
			c.Verdict, c.Error = v, why
		}
	}
	if c.Verdict == urltracker.VerdictHealthy {
		j.applyRules(o.Rules, c, f)
	}
	c.Success = c.Verdict == urltracker.VerdictHealthy
}

// certificateSignals warns of each certificate that expires within
// CertWarn.
func (j *Judge) certificateSignals(certs []urltracker.Certificate) []urltracker.Signal {
	var out []urltracker.Signal
	now := j.cfg.Now()
	for _, c := range certs {
		if c.ExpiresAt.Sub(now) < j.cfg.CertWarn {
			out = append(out, urltracker.Signal{Name: SignalCertificateExpiresSoon,
				Evidence: fmt.Sprintf("the certificate of %s expires on %s", c.Host, c.ExpiresAt.UTC().Format("2006-01-02 15:04 MST"))})
		}
	}
	return out
}

// Classes of signal, by what they can say.
const (
	// classWhat says what is wrong: a phrase, a parking marker, the home
	// page or an error path.
	classWhat = iota + 1
	// classSupport only agrees with another signal.
	classSupport
)

func classOf(name string) int {
	switch name {
	case SignalNearEmptyBody, SignalNoindex, SignalSameAsMissingPage:
		return classSupport
	case SignalCertificateExpiresSoon, SignalContentRuleFailed:
		return 0
	}
	return classWhat
}

// decide turns page signals into a verdict: two or more, at least one of
// which says what is wrong. The kind is the most precise one said: a
// parked domain, else an ended offer, else a page that is not there.
func decide(signals []urltracker.Signal) (urltracker.Verdict, string) {
	what, total := 0, 0
	parked, expired := false, false
	var names []string
	for _, s := range signals {
		class := classOf(s.Name)
		if class == 0 {
			continue
		}
		total++
		names = append(names, s.Name)
		if class == classWhat {
			what++
		}
		switch {
		case s.Name == SignalParkedDomainMarker || strings.HasSuffix(s.Name, "_says_"+kindForSale):
			parked = true
		case strings.HasSuffix(s.Name, "_says_"+kindExpired):
			expired = true
		}
	}
	if what == 0 || total < 2 {
		return "", ""
	}
	why := "signals " + strings.Join(names, ", ")
	switch {
	case parked:
		return urltracker.VerdictParkedDomain, "the landing is a parked or for-sale domain: " + why
	case expired:
		return urltracker.VerdictOfferExpired, "the landing says the offer ended: " + why
	}
	return urltracker.VerdictSoft404, "the landing is an error page served with a 2xx status: " + why
}

// applyRules judges the offer's own rules on a chain the judge found
// healthy: content first, then hops, then time.
func (j *Judge) applyRules(r urltracker.Rules, c *urltracker.Check, f facts) {
	var body string
	if c.Landing != nil {
		body = string(c.Landing.Body)
	}
	fail := func(v urltracker.Verdict, rule, msg string) {
		c.Verdict, c.Error = v, msg
		if rule != "" {
			c.Signals = append(c.Signals, urltracker.Signal{Name: SignalContentRuleFailed, Evidence: rule})
		}
	}
	for _, rule := range r.MustContain {
		found, err := j.ruleMatches(rule, f, body)
		if err != nil || !found {
			fail(urltracker.VerdictContentMismatch, "must_contain "+rule, fmt.Sprintf("rule must_contain %q: not on the landing page", rule))
			return
		}
	}
	for _, rule := range r.MustNotContain {
		found, err := j.ruleMatches(rule, f, body)
		if err != nil || found {
			fail(urltracker.VerdictContentMismatch, "must_not_contain "+rule, fmt.Sprintf("rule must_not_contain %q: found on the landing page", rule))
			return
		}
	}
	if redirects := len(c.Chain) - 1; r.MaxHops > 0 && redirects > r.MaxHops {
		fail(urltracker.VerdictTooManyHops, "", fmt.Sprintf("%d redirects, more than the offer's rules.max_hops of %d", redirects, r.MaxHops))
		return
	}
	if r.MaxTotalMS > 0 && c.DurationMS > r.MaxTotalMS {
		fail(urltracker.VerdictSlow, "", fmt.Sprintf("the chain took %d ms, more than the offer's rules.max_total_ms of %d", c.DurationMS, r.MaxTotalMS))
	}
}

// ruleMatches tells whether a content rule finds the page: plain text in
// its visible text (ignoring case, accents and spacing), a /regex/ in its
// HTML. A rule that does not compile (validation refuses one) is an error,
// which fails the rule rather than passing it.
func (j *Judge) ruleMatches(rule string, f facts, body string) (bool, error) {
	expr, ok := urltracker.IsRegexRule(rule)
	if !ok {
		return strings.Contains(f.text, normalize(rule)), nil
	}
	re, err := j.regexp(expr)
	if err != nil {
		return false, err
	}
	return re.MatchString(body), nil
}

// regexp compiles a content rule's expression once.
func (j *Judge) regexp(expr string) (*regexp.Regexp, error) {
	j.regexMu.Lock()
	defer j.regexMu.Unlock()
	if re, ok := j.regexps[expr]; ok {
		return re, nil
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, err
	}
	if len(j.regexps) >= maxRegexps {
		clear(j.regexps)
	}
	j.regexps[expr] = re
	return re, nil
}

// maxRegexps bounds the compiled rules kept.
const maxRegexps = 1024
