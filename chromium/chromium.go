// Package chromium is the opt-in browser engine of checks: it opens the
// offer's link in a headless Chromium already installed on the host, with
// the same fixed User-Agent as the HTTP tracer, and records every
// navigation and redirect of the tab as hops. All of Chromium's traffic goes
// through an in-process proxy that dials with the tracer's address guard, so
// a browser check can reach nothing an HTTP check could not.
//
// Each check starts its own browser with a throwaway profile and stops it
// afterwards; at most Config.Concurrency run at once.
package chromium

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/tracer"
)

// Environment variables of the browser engine; errors name them.
const (
	PathEnv        = "URLTRACKER_CHROMIUM"
	ConcurrencyEnv = "URLTRACKER_BROWSER_CONCURRENCY"
)

// DefaultConcurrency is how many browser checks run at once by default.
const DefaultConcurrency = 2

// settle is how long the tab must stay on one page to have landed. The
// tracer follows refreshes and timers due within MaxMetaRefreshDelay; the
// browser waits for them in real time, up to that delay.
const settle = 2500 * time.Millisecond

// Config configures the engine.
type Config struct {
	Path        string // Chromium executable; "" finds chromium on PATH
	Concurrency int    // default DefaultConcurrency
	Tracer      tracer.Config
}

// Engine runs browser checks. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	path  string
	err   error // why no Chromium is usable, or nil
	slots chan struct{}
	guard *tracer.Guard
}

// Find returns the Chromium executable to use: path itself, or chromium (or
// chromium-browser) on PATH when path is empty.
func Find(path string) (string, error) {
	if path != "" {
		if st, err := os.Stat(path); err != nil || st.IsDir() {
			return "", fmt.Errorf("%s=%s: no Chromium there: install it (apt-get install chromium) or fix the path", PathEnv, path)
		}
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("browser engine: Chromium not found on PATH: install it (apt-get install chromium) or set %s", PathEnv)
}

// New returns an Engine. A missing Chromium is not an error here: Available
// says so, and every check with the engine fails with that error.
func New(cfg Config) *Engine {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	tc := cfg.Tracer.WithDefaults()
	cfg.Tracer = tc
	path, err := Find(cfg.Path)
	return &Engine{cfg: cfg, path: path, err: err, slots: make(chan struct{}, cfg.Concurrency), guard: tracer.NewGuard(tc.AllowCIDRs)}
}

// Available returns nil when Chromium was found, else what to do about it.
func (e *Engine) Available() error { return e.err }

// Trace opens req.URL in a fresh headless Chromium and returns the Check.
func (e *Engine) Trace(ctx context.Context, req tracer.Request) urltracker.Check {
	start := time.Now()
	check := urltracker.Check{StartedAt: start.UTC(), Chain: []urltracker.Hop{}, FinalURL: req.URL}
	timeout := e.cfg.Tracer.Timeout
	if req.Timeout > 0 {
		timeout = req.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(v urltracker.Verdict, err error) urltracker.Check {
		check.Verdict, check.Error = v, err.Error()
		check.DurationMS = time.Since(start).Milliseconds()
		return check
	}
	if e.err != nil {
		return fail(urltracker.VerdictBroken, e.err)
	}
	if _, err := url.Parse(req.URL); err != nil {
		return fail(urltracker.VerdictBroken, fmt.Errorf("invalid URL %q", req.URL))
	}
	select {
	case e.slots <- struct{}{}:
		defer func() { <-e.slots }()
	case <-ctx.Done():
		return fail(urltracker.VerdictTimeout, fmt.Errorf("no browser free within the trace timeout of %s", timeout))
	}
	t, err := e.open(ctx, req.URL)
	if t != nil {
		defer t.close()
	}
	if err != nil {
		return fail(urltracker.VerdictBroken, err)
	}
	t.wait(ctx)
	check.Chain, check.FinalURL = t.chain()
	check.DurationMS = time.Since(start).Milliseconds()
	last := check.Chain[len(check.Chain)-1]
	switch {
	case ctx.Err() != nil && !t.settled:
		check.Verdict, check.Error = urltracker.VerdictTimeout, fmt.Sprintf("the browser did not settle within the trace timeout of %s", timeout)
	case t.blocked(last.URL) != nil:
		check.Verdict, check.Error = urltracker.VerdictBlocked, t.blocked(last.URL).Error()
	case last.Status == 0 || last.Status >= 400:
		check.Verdict = urltracker.VerdictBroken
		check.Error = fmt.Sprintf("GET %s: HTTP %d %s", last.URL, last.Status, t.failure)
		if last.Status == 0 {
			check.Error = fmt.Sprintf("GET %s: %s", last.URL, t.failure)
		}
	case req.ExpectedHost != "" && !tracer.SameHost(hostOf(check.FinalURL), req.ExpectedHost):
		check.Verdict = urltracker.VerdictUnexpectedLanding
		check.Error = fmt.Sprintf("landed on %s, expected %s", hostOf(check.FinalURL), req.ExpectedHost)
	default:
		check.Verdict = urltracker.VerdictHealthy
	}
	check.Success = check.Verdict == urltracker.VerdictHealthy
	return check
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// tab is one check's browser, proxy and what the tab did.
type tab struct {
	proxy   *guardProxy
	cancel  []context.CancelFunc
	frame   cdp.FrameID
	profile string

	mu      sync.Mutex
	hops    []urltracker.Hop
	started []time.Time
	reason  urltracker.RedirectType // how the next navigation was asked for
	last    time.Time               // of the last navigation event
	failure string                  // why the last document failed to load
	settled bool
}

func (e *Engine) open(ctx context.Context, startURL string) (*tab, error) {
	proxy, err := startProxy(e.guard, e.cfg.Tracer.HopTimeout)
	if err != nil {
		return nil, fmt.Errorf("browser engine: start proxy: %w", err)
	}
	profile, err := os.MkdirTemp("", "urltracker-chromium-")
	if err != nil {
		proxy.close()
		return nil, fmt.Errorf("browser engine: profile: %w", err)
	}
	t := &tab{proxy: proxy, profile: profile, last: time.Now()}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(e.path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserAgent(e.cfg.Tracer.UserAgent),
		chromedp.UserDataDir(profile),
		// Every connection, loopback included, goes through the guard.
		chromedp.ProxyServer("http://"+proxy.addr()),
		chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,DnsOverHttps"),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.cancel = []context.CancelFunc{cancelTab, cancelAlloc}
	if err := chromedp.Do(tabCtx); err != nil {
		return t, fmt.Errorf("browser engine: start %s: %w", e.path, err)
	}
	t.frame = cdp.FrameID(chromedp.FromContext(tabCtx).Target.TargetID)
	if err := chromedp.Listen(tabCtx, t.event); err != nil {
		return t, err
	}
	if _, err := chromedp.Call(tabCtx, network.Enable, network.EnableParams{}); err != nil {
		return t, fmt.Errorf("browser engine: %w", err)
	}
	err = chromedp.Do(tabCtx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdppage.Navigate, cdppage.NavigateParams{URL: startURL})
		return err
	}))
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return t, fmt.Errorf("browser engine: open %s: %w", startURL, err)
	}
	return t, nil
}

// event records the tab's main-frame document requests as hops. It runs on
// chromedp's reading goroutine and only takes the lock.
func (t *tab) event(ev any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch ev := ev.(type) {
	case *cdppage.EventFrameRequestedNavigation:
		if ev.FrameID == t.frame {
			t.reason = reasonType(ev.Reason)
		}
	case *network.EventRequestWillBeSent:
		if ev.Type != network.ResourceTypeDocument || ev.FrameID != t.frame {
			return
		}
		if n := len(t.hops); n > 0 {
			prev := &t.hops[n-1]
			if ev.RedirectResponse != nil {
				prev.Status = int(ev.RedirectResponse.Status)
				prev.RedirectType = urltracker.RedirectHTTP
			} else if prev.RedirectType == "" {
				prev.RedirectType = t.reason
			}
		}
		t.reason = urltracker.RedirectJavaScript
		t.failure = ""
		u := ev.Request.URL
		if ev.Request.URLFragment != "" {
			u = strings.TrimSuffix(u, ev.Request.URLFragment)
		}
		t.hops = append(t.hops, urltracker.Hop{URL: u, Params: urltracker.HopParams(u)})
		t.started = append(t.started, time.Now())
		t.last = time.Now()
	case *network.EventResponseReceived:
		if ev.Type != network.ResourceTypeDocument || ev.FrameID != t.frame || len(t.hops) == 0 {
			return
		}
		h := &t.hops[len(t.hops)-1]
		h.Status = int(ev.Response.Status)
		h.TimingMS = time.Since(t.started[len(t.hops)-1]).Milliseconds()
		t.last = time.Now()
	case *network.EventLoadingFailed:
		if ev.Type == network.ResourceTypeDocument && !ev.Canceled {
			t.failure = ev.ErrorText
			t.last = time.Now()
		}
	}
}

func reasonType(r cdppage.ClientNavigationReason) urltracker.RedirectType {
	switch r {
	case cdppage.ClientNavigationReasonMetaTagRefresh, cdppage.ClientNavigationReasonHTTPHeaderRefresh:
		return urltracker.RedirectMeta
	case cdppage.ClientNavigationReasonFormSubmissionGet, cdppage.ClientNavigationReasonFormSubmissionPost:
		return urltracker.RedirectForm
	}
	return urltracker.RedirectJavaScript
}

// wait returns once the tab has made no navigation for settle, or ctx ends.
func (t *tab) wait(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
		t.mu.Lock()
		done := time.Since(t.last) >= settle
		if done {
			t.settled = true
		}
		t.mu.Unlock()
		if done {
			return
		}
	}
}

// chain returns the hops, the last one typed final (or error), and the URL
// the tab shows.
func (t *tab) chain() ([]urltracker.Hop, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	hops := append([]urltracker.Hop(nil), t.hops...)
	if len(hops) == 0 {
		return []urltracker.Hop{{RedirectType: urltracker.RedirectError}}, ""
	}
	last := &hops[len(hops)-1]
	last.RedirectType = urltracker.RedirectFinal
	if last.Status == 0 || last.Status >= 400 {
		last.RedirectType = urltracker.RedirectError
	}
	if last.Status == 204 || last.Status == 205 {
		// The tab stays on the page before.
		for i := len(hops) - 2; i >= 0; i-- {
			if hops[i].RedirectType != urltracker.RedirectHTTP {
				return hops, hops[i].URL
			}
		}
	}
	return hops, last.URL
}

// blocked is the guard's refusal of the host of rawURL, if any.
func (t *tab) blocked(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return t.proxy.blockedError(net.JoinHostPort(u.Hostname(), port))
}

func (t *tab) close() {
	for _, c := range t.cancel {
		c()
	}
	t.proxy.close()
	_ = os.RemoveAll(t.profile)
}
