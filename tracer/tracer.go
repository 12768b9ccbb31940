// Package tracer follows a link through its redirect chain over plain HTTP,
// records every hop and judges the link's health. It refuses to reach
// internal addresses unless they are explicitly allowed.
//
// A hop leads on by a 3xx Location (redirect type "http"), a Refresh header
// or <meta http-equiv="refresh"> due within Config.MaxMetaRefreshDelay
// ("meta"), or a literal location change in an inline script that runs
// without a visitor's click ("javascript"). The landing page is "final";
// the hop where the chain failed is "error". Each hop reads at most
// MaxBodyBytes of its page, within Config.HopTimeout, and the whole trace
// runs within Config.Timeout. Cookies set along the chain are kept for that
// trace only.
//
// Every connection is made through a Guard, which resolves the host itself
// and refuses loopback, private, link-local and other internal addresses,
// and ports other than 80 and 443, unless the address is inside
// Config.AllowCIDRs (URLTRACKER_TRACE_ALLOW_CIDRS). A refused hop gives the
// verdict "blocked".
package tracer

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/urltracker/urltracker"
)

// Config holds the tracer's limits. Zero values take the defaults.
type Config struct {
	Timeout             time.Duration  // whole trace; default 30s
	HopTimeout          time.Duration  // one request; default 10s
	MaxHops             int            // default 20
	AllowCIDRs          []netip.Prefix // internal ranges that may be reached anyway
	UserAgent           string         // default urltracker.UserAgent()
	MaxMetaRefreshDelay time.Duration  // longer meta refreshes end the chain; default 10s
	// RootCAs are the roots TLS certificates are verified against; nil
	// takes the system's. A deployment behind a private CA, and the tests'
	// local HTTPS servers, set it.
	RootCAs *x509.CertPool
}

// Request is one trace to run. Zero fields take the tracer's Config.
type Request struct {
	URL          string
	ExpectedHost string
	MaxHops      int
	Timeout      time.Duration
}

// The defaults of Config.
const (
	DefaultTimeout             = 30 * time.Second
	DefaultHopTimeout          = 10 * time.Second
	DefaultMaxHops             = 20
	DefaultMaxMetaRefreshDelay = 10 * time.Second
)

// MaxBodyBytes is how much of each page the tracer reads to look for a meta
// refresh or a script redirect. Redirect pages are small.
const MaxBodyBytes = 64 << 10

// MaxLandingBytes is how much of a page the tracer reads in all: the
// landing page is kept for the judge. A landing page that never ends costs
// this much and no more.
const MaxLandingBytes = 256 << 10

// drainBytes is how much of an unread body is read away so that its
// connection can serve the next request; a longer body costs a new
// connection instead.
const drainBytes = 4 << 10

// Tracer runs traces. It is safe for concurrent use.
type Tracer struct {
	cfg       Config
	guard     *Guard
	transport *http.Transport
	bodies    sync.Pool // of *[]byte with MaxLandingBytes of room
}

// WithDefaults returns cfg with the defaults in its zero fields.
func (cfg Config) WithDefaults() Config {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HopTimeout <= 0 {
		cfg.HopTimeout = DefaultHopTimeout
	}
	if cfg.MaxHops <= 0 {
		cfg.MaxHops = DefaultMaxHops
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = urltracker.UserAgent()
	}
	if cfg.MaxMetaRefreshDelay <= 0 {
		cfg.MaxMetaRefreshDelay = DefaultMaxMetaRefreshDelay
	}
	return cfg
}

// New returns a Tracer for cfg.
func New(cfg Config) *Tracer {
	cfg = cfg.WithDefaults()
	guard := NewGuard(cfg.AllowCIDRs)
	return &Tracer{
		cfg:   cfg,
		guard: guard,
		// One transport for all traces, so that hops to the same host reuse
		// connections. TLS is verified, always: with the system roots unless
		// Config.RootCAs says otherwise.
		transport: &http.Transport{
			// A proxy would connect on our behalf, out of the guard's sight.
			Proxy:       nil,
			DialContext: guard.DialContext,
			// A custom DialContext turns HTTP/2 off unless asked for.
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           100,
			MaxIdleConnsPerHost:    8,
			IdleConnTimeout:        90 * time.Second,
			TLSHandshakeTimeout:    cfg.HopTimeout,
			MaxResponseHeaderBytes: MaxBodyBytes,
			TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs},
		},
		bodies: sync.Pool{New: func() any {
			b := make([]byte, MaxLandingBytes)
			return &b
		}},
	}
}

// CloseIdleConnections closes the connections kept for reuse between traces,
// for a clean shutdown. The Tracer stays usable.
func (t *Tracer) CloseIdleConnections() {
	t.transport.CloseIdleConnections()
}

// Trace follows req.URL and returns the Check (without ID or offer).
func (t *Tracer) Trace(ctx context.Context, req Request) urltracker.Check {
	start := time.Now()
	r := &run{
		tracer:  t,
		timeout: t.cfg.Timeout,
		maxHops: t.cfg.MaxHops,
		check: urltracker.Check{StartedAt: start.UTC(), Chain: []urltracker.Hop{},
			Signals: []urltracker.Signal{}, Certificates: []urltracker.Certificate{}},
	}
	if req.Timeout > 0 {
		r.timeout = req.Timeout
	}
	if req.MaxHops > 0 {
		r.maxHops = req.MaxHops
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()

	r.follow(ctx, req)

	c := &r.check
	c.Success = c.Verdict == urltracker.VerdictHealthy
	if n := len(c.Chain); n > 0 {
		c.FinalURL = c.Chain[n-1].URL
		if c.Chain[n-1].RedirectType == urltracker.RedirectFinal && r.landing != nil {
			c.FinalURL = r.landing.String()
		}
	} else {
		c.FinalURL = req.URL
	}
	c.DurationMS = time.Since(start).Milliseconds()
	return *c
}

// run is the state of one trace.
type run struct {
	tracer  *Tracer
	timeout time.Duration
	maxHops int
	client  *http.Client
	jar     *jar
	check   urltracker.Check
	// landing is the last page the browser showed: a 204 leaves the
	// visitor there.
	landing *url.URL
	// landingBody is the last page read that led nowhere, as UTF-8: the
	// landing the judge reads.
	landingBody []byte
}

// step is one request of the chain: a GET, or the POST of a form.
type step struct {
	url    *url.URL
	method string
	body   string // urlencoded form data of a POST
}

func (s step) key() string {
	if s.method == http.MethodPost {
		return "POST " + s.url.String() + "\n" + s.body
	}
	return s.url.String()
}

// follow requests hop after hop until the chain ends, and sets the verdict.
func (r *run) follow(ctx context.Context, req Request) {
	cur, err := resolveURL(nil, req.URL)
	if err != nil {
		r.fail(urltracker.VerdictBroken, err)
		return
	}
	// Cookies live for one trace only: a chain that sets a cookie on one
	// hop and needs it on the next works, and no trace sees another's.
	jar, err := newJar()
	if err != nil {
		r.fail(urltracker.VerdictBroken, fmt.Errorf("create cookie jar: %w", err))
		return
	}
	r.jar = jar
	r.client = &http.Client{
		Transport: r.tracer.transport,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // every hop is followed and recorded here
		},
	}
	at := step{url: cur, method: http.MethodGet}
	seen := map[string]int{at.key(): 1}
	for {
		next, verdict, err := r.hop(ctx, at)
		if next == nil {
			if err != nil {
				r.fail(verdict, err)
				return
			}
			r.land(req.ExpectedHost, r.landing)
			return
		}
		hops := len(r.check.Chain)
		if first, ok := seen[next.key()]; ok {
			r.fail(urltracker.VerdictLoop, fmt.Errorf("redirect loop: hop %d leads back to %s, already visited at hop %d", hops, next.url, first))
			return
		}
		if hops > r.maxHops {
			r.fail(urltracker.VerdictTooManyHops, fmt.Errorf("more than %d redirects; stopped before %s", r.maxHops, next.url))
			return
		}
		seen[next.key()] = hops + 1
		at = *next
	}
}

// land judges the page the chain ended on.
func (r *run) land(expectedHost string, u *url.URL) {
	if expectedHost != "" && !sameHost(u.Host, expectedHost) {
		r.fail(urltracker.VerdictUnexpectedLanding, fmt.Errorf("landed on %s, expected %s", u.Hostname(), expectedHost))
		return
	}
	r.check.Verdict = urltracker.VerdictHealthy
}

func (r *run) fail(v urltracker.Verdict, err error) {
	r.check.Verdict = v
	r.check.Error = err.Error()
}

// followed are the statuses whose Location a browser follows.
var followed = map[int]bool{301: true, 302: true, 303: true, 307: true, 308: true}

// hop requests at, records it, and returns where it leads. At the end of
// the chain next is nil, and err (with its verdict) says why the chain
// failed there, or is nil for a landing page (r.landing).
func (r *run) hop(ctx context.Context, at step) (next *step, verdict urltracker.Verdict, err error) {
	t := r.tracer
	u := at.url
	hop := urltracker.Hop{URL: u.String(), RedirectType: urltracker.RedirectError}
	hop.Params = urltracker.HopParams(hop.URL)
	start := time.Now()
	defer func() {
		hop.TimingMS = time.Since(start).Milliseconds()
		r.check.Chain = append(r.check.Chain, hop)
	}()

	hopCtx, cancel := context.WithTimeout(ctx, t.cfg.HopTimeout)
	defer cancel()
	var body io.Reader
	if at.method == http.MethodPost {
		body = strings.NewReader(at.body)
	}
	req, err := http.NewRequestWithContext(hopCtx, at.method, hop.URL, body)
	if err != nil {
		return nil, urltracker.VerdictBroken, fmt.Errorf("%s %s: %w", at.method, hop.URL, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	// Accept-Encoding stays unset so that the transport asks for gzip and
	// decompresses transparently.
	req.Header.Set("User-Agent", t.cfg.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if raw := r.jar.rawHeader(u); raw != "" {
		req.Header.Set("Cookie", raw)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		verdict, err := r.classify(ctx, hopCtx, err)
		return nil, verdict, fmt.Errorf("%s %s: %w", at.method, hop.URL, err)
	}
	defer resp.Body.Close()
	hop.Status = resp.StatusCode
	r.noteCertificate(u, resp)
	r.keepRawCookies(u, resp)
	code := resp.StatusCode

	if locs := resp.Header.Values("Location"); followed[code] && len(locs) > 0 {
		drain(resp.Body)
		for _, l := range locs[1:] {
			if l != locs[0] {
				// Browsers refuse such an answer (ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION).
				return nil, urltracker.VerdictBroken, fmt.Errorf("%s %s: HTTP %d with two different Location headers", at.method, hop.URL, code)
			}
		}
		target, err := resolveURL(u, locs[0])
		if err != nil {
			return nil, urltracker.VerdictBroken, fmt.Errorf("%s %s: HTTP %d to %w", at.method, hop.URL, code, err)
		}
		hop.RedirectType = urltracker.RedirectHTTP
		next := step{url: target, method: http.MethodGet}
		if (code == 307 || code == 308) && at.method == http.MethodPost {
			next.method, next.body = at.method, at.body
		}
		return &next, "", nil
	}
	if code == http.StatusNoContent || code == http.StatusResetContent {
		// The browser stays on the page it was on.
		drain(resp.Body)
		hop.RedirectType = urltracker.RedirectFinal
		return nil, urltracker.VerdictHealthy, nil
	}

	// Any other answer is a page the browser shows, error pages included,
	// and whatever it does by itself, the browser does.
	r.landing = u
	nav, found, err := r.pageNavigation(ctx, hopCtx, u, resp)
	if err != nil {
		verdict, err := r.classify(ctx, hopCtx, err)
		return nil, verdict, fmt.Errorf("%s %s: read body: %w", at.method, hop.URL, err)
	}
	if found {
		if target, err := canonical(nav.target); err == nil {
			next := step{url: target, method: nav.method, body: nav.body}
			if next.key() != at.key() || at.method == http.MethodPost {
				hop.RedirectType = nav.how
				return &next, "", nil
			}
		}
	}
	if followed[code] {
		return nil, urltracker.VerdictBroken, fmt.Errorf("%s %s: HTTP %d %s without a Location header", at.method, hop.URL, code, http.StatusText(code))
	}
	if code == http.StatusForbidden || code == http.StatusTooManyRequests {
		// The landing may well serve visitors and only refuse a checker:
		// bot protection and rate limits answer so.
		return nil, urltracker.VerdictRefused, fmt.Errorf("%s %s: HTTP %d %s: the landing refused urltracker", at.method, hop.URL, code, http.StatusText(code))
	}
	if code < 200 || code >= 300 {
		return nil, urltracker.VerdictBroken, fmt.Errorf("%s %s: HTTP %d %s", at.method, hop.URL, code, http.StatusText(code))
	}
	hop.RedirectType = urltracker.RedirectFinal
	r.check.Landing = &urltracker.Page{URL: hop.URL, Status: code, ContentType: resp.Header.Get("Content-Type"),
		RobotsTag: resp.Header.Get("X-Robots-Tag"), Body: r.landingBody}
	return nil, urltracker.VerdictHealthy, nil
}

// noteCertificate records the certificate an HTTPS host presented, once per
// host and trace.
func (r *run) noteCertificate(u *url.URL, resp *http.Response) {
	if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 {
		return
	}
	host := u.Hostname()
	for _, c := range r.check.Certificates {
		if c.Host == host {
			return
		}
	}
	r.check.Certificates = append(r.check.Certificates,
		urltracker.Certificate{Host: host, ExpiresAt: resp.TLS.PeerCertificates[0].NotAfter.UTC()})
}

// pageNavigation reads a page and runs it in the virtual browser to find
// where it sends the visitor by itself.
func (r *run) pageNavigation(ctx, hopCtx context.Context, u *url.URL, resp *http.Response) (navigation, bool, error) {
	env := pageEnv{
		url:       u,
		refresh:   resp.Header.Get("Refresh"),
		maxDelay:  r.tracer.cfg.MaxMetaRefreshDelay,
		userAgent: r.tracer.cfg.UserAgent,
		cookies:   r.jar,
		fetchScript: func(src *url.URL) (string, error) {
			return r.fetchScript(hopCtx, src)
		},
	}
	contentType := resp.Header.Get("Content-Type")
	if !isHTML(contentType) {
		drain(resp.Body)
		nav, found := browse(nil, env)
		return nav, found, nil
	}
	bufp := r.tracer.bodies.Get().(*[]byte)
	defer r.tracer.bodies.Put(bufp)
	body, err := decodedBody(resp)
	if err != nil {
		return navigation{}, false, err
	}
	// A buffer of MaxLandingBytes caps the read: what lies past it is never
	// read, and the connection is dropped rather than drained. Only the
	// first MaxBodyBytes are looked at for a navigation.
	n, err := io.ReadFull(body, *bufp)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return navigation{}, false, err
	}
	page, enc := toUTF8((*bufp)[:min(n, MaxBodyBytes)], contentType)
	env.enc = enc
	nav, found := browse(page, env)
	r.landingBody = nil
	if !found {
		// The pooled buffer goes back: the landing keeps a copy.
		whole, _ := toUTF8((*bufp)[:n], contentType)
		r.landingBody = bytes.Clone(whole)
	}
	return nav, found, nil
}

// fetchScript fetches a same-site external script for the virtual browser,
// through the trace's client and so through the address guard.
func (r *run) fetchScript(ctx context.Context, src *url.URL) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("User-Agent", r.tracer.cfg.UserAgent)
	req.Header.Set("Accept", "*/*")
	resp, err := r.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		drain(resp.Body)
		return "", fmt.Errorf("script %s: HTTP %d", src, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxScriptBytes+1))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// classify tells a failed request's verdict and the error to report.
func (r *run) classify(ctx, hopCtx context.Context, err error) (urltracker.Verdict, error) {
	var blocked *BlockedError
	if errors.As(err, &blocked) {
		return urltracker.VerdictBlocked, blocked
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return urltracker.VerdictTimeout, fmt.Errorf("the trace did not finish within its timeout of %s", r.timeout)
	case ctx.Err() != nil:
		// Canceled by the caller, say at shutdown: nothing is known about
		// the link, which a timeout says better than broken.
		return urltracker.VerdictTimeout, fmt.Errorf("trace canceled: %w", context.Cause(ctx))
	case hopCtx.Err() != nil:
		return urltracker.VerdictTimeout, fmt.Errorf("no complete answer within the hop timeout of %s", r.tracer.cfg.HopTimeout)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return urltracker.VerdictTimeout, err
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // its text repeats the method and URL
	}
	return urltracker.VerdictBroken, err
}

// drain reads a little of an unread body so that its connection can be
// reused.
func drain(body io.Reader) {
	_, _ = io.CopyN(io.Discard, body, drainBytes)
}
