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
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"

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
// refresh or a script redirect, and of the landing page that the judge
// reads. Redirect pages are small; a landing page that never ends costs
// this much and no more.
const MaxBodyBytes = 256 << 10

// maxHeaderBytes caps a response's header.
const maxHeaderBytes = 64 << 10

// drainBytes is how much of an unread body is read away so that its
// connection can serve the next request; a longer body costs a new
// connection instead.
const drainBytes = 4 << 10

// Tracer runs traces. It is safe for concurrent use.
type Tracer struct {
	cfg       Config
	guard     *Guard
	transport *http.Transport
	bodies    sync.Pool // of *[]byte with MaxBodyBytes of room
}

// New returns a Tracer for cfg.
func New(cfg Config) *Tracer {
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
			MaxResponseHeaderBytes: maxHeaderBytes,
			TLSClientConfig:        &tls.Config{RootCAs: cfg.RootCAs},
		},
		bodies: sync.Pool{New: func() any {
			b := make([]byte, MaxBodyBytes)
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
	check   urltracker.Check
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
	jar, err := cookiejar.New(&cookiejar.Options{PublicSuffixList: publicsuffix.List})
	if err != nil {
		r.fail(urltracker.VerdictBroken, fmt.Errorf("create cookie jar: %w", err))
		return
	}
	r.client = &http.Client{
		Transport: r.tracer.transport,
		Jar:       jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // every hop is followed and recorded here
		},
	}
	seen := map[string]int{cur.String(): 1}
	for {
		next, verdict, err := r.hop(ctx, cur)
		if next == nil {
			if err != nil {
				r.fail(verdict, err)
				return
			}
			r.land(req.ExpectedHost, cur)
			return
		}
		hops := len(r.check.Chain)
		if first, ok := seen[next.String()]; ok {
			r.fail(urltracker.VerdictLoop, fmt.Errorf("redirect loop: hop %d leads back to %s, already visited at hop %d", hops, next, first))
			return
		}
		if hops > r.maxHops {
			r.fail(urltracker.VerdictTooManyHops, fmt.Errorf("more than %d redirects; stopped before %s", r.maxHops, next))
			return
		}
		seen[next.String()] = hops + 1
		cur = next
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

// hop requests u, records it, and returns where it leads. At the end of the
// chain next is nil, and err (with its verdict) says why the chain failed
// there, or is nil for a landing page.
func (r *run) hop(ctx context.Context, u *url.URL) (next *url.URL, verdict urltracker.Verdict, err error) {
	t := r.tracer
	hop := urltracker.Hop{URL: u.String(), RedirectType: urltracker.RedirectError}
	hop.Params = urltracker.HopParams(hop.URL)
	start := time.Now()
	defer func() {
		hop.TimingMS = time.Since(start).Milliseconds()
		r.check.Chain = append(r.check.Chain, hop)
	}()

	hopCtx, cancel := context.WithTimeout(ctx, t.cfg.HopTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(hopCtx, http.MethodGet, hop.URL, nil)
	if err != nil {
		return nil, urltracker.VerdictBroken, fmt.Errorf("GET %s: %w", hop.URL, err)
	}
	// Accept-Encoding stays unset so that the transport asks for gzip and
	// decompresses transparently.
	req.Header.Set("User-Agent", t.cfg.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	resp, err := r.client.Do(req)
	if err != nil {
		verdict, err := r.classify(ctx, hopCtx, err)
		return nil, verdict, fmt.Errorf("GET %s: %w", hop.URL, err)
	}
	defer resp.Body.Close()
	hop.Status = resp.StatusCode
	r.noteCertificate(u, resp)

	switch code := resp.StatusCode; {
	case 300 <= code && code < 400:
		drain(resp.Body)
		loc := resp.Header.Get("Location")
		if loc == "" {
			return nil, urltracker.VerdictBroken, fmt.Errorf("GET %s: HTTP %d %s without a Location header", hop.URL, code, http.StatusText(code))
		}
		next, err := resolveURL(u, loc)
		if err != nil {
			return nil, urltracker.VerdictBroken, fmt.Errorf("GET %s: HTTP %d to %w", hop.URL, code, err)
		}
		hop.RedirectType = urltracker.RedirectHTTP
		return next, "", nil
	case code == http.StatusForbidden || code == http.StatusTooManyRequests:
		// The landing may well serve visitors and only refuse a checker:
		// bot protection and rate limits answer so.
		drain(resp.Body)
		return nil, urltracker.VerdictRefused, fmt.Errorf("GET %s: HTTP %d %s: the landing refused urltracker", hop.URL, code, http.StatusText(code))
	case code < 200 || code >= 300:
		drain(resp.Body)
		return nil, urltracker.VerdictBroken, fmt.Errorf("GET %s: HTTP %d %s", hop.URL, code, http.StatusText(code))
	}

	nav, found, err := r.pageNavigation(ctx, hopCtx, resp)
	if err != nil {
		verdict, err := r.classify(ctx, hopCtx, err)
		return nil, verdict, fmt.Errorf("GET %s: read body: %w", hop.URL, err)
	}
	if found {
		// A target the browser would not or could not go to, such as the
		// page itself, leaves the visitor on this page.
		if next, err := resolveURL(nav.base(u), nav.target); err == nil && next.String() != hop.URL {
			hop.RedirectType = nav.how
			return next, "", nil
		}
	}
	hop.RedirectType = urltracker.RedirectFinal
	r.check.Landing = &urltracker.Page{URL: hop.URL, Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"),
		RobotsTag: resp.Header.Get("X-Robots-Tag"), Body: nav.body}
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

// pageNavigation looks for a Refresh header or, in an HTML body, a meta
// refresh or script redirect.
func (r *run) pageNavigation(ctx, hopCtx context.Context, resp *http.Response) (pageNav, bool, error) {
	maxDelay := r.tracer.cfg.MaxMetaRefreshDelay
	if delay, target, ok := parseRefresh(resp.Header.Get("Refresh")); ok && target != "" && delay <= maxDelay {
		drain(resp.Body)
		return pageNav{navigation: navigation{how: urltracker.RedirectMeta, target: target}}, true, nil
	}
	contentType := resp.Header.Get("Content-Type")
	if !isHTML(contentType) {
		drain(resp.Body)
		return pageNav{}, false, nil
	}
	bufp := r.tracer.bodies.Get().(*[]byte)
	defer r.tracer.bodies.Put(bufp)
	// A buffer of MaxBodyBytes caps the read: what lies past it is never
	// read, and the connection is dropped rather than drained.
	n, err := io.ReadFull(resp.Body, *bufp)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return pageNav{}, false, err
	}
	body := toUTF8((*bufp)[:n], contentType)
	nav, baseHref, found := pageNavigation(body, maxDelay)
	if found {
		return pageNav{navigation: nav, baseHref: baseHref}, true, nil
	}
	// The pooled buffer goes back: the landing keeps a copy.
	return pageNav{body: bytes.Clone(body)}, false, nil
}

// pageNav is a navigation with the <base href> its target resolves against,
// or, for a page that leads nowhere, the page's body as UTF-8.
type pageNav struct {
	navigation
	baseHref string
	body     []byte
}

func (n pageNav) base(page *url.URL) *url.URL {
	if n.baseHref == "" {
		return page
	}
	base, err := resolveURL(page, n.baseHref)
	if err != nil {
		return page
	}
	return base
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
