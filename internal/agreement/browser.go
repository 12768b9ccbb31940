package agreement

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Settle is how long a page must stay put before the browser is taken to
// have landed. Every timer and refresh the corpus means to be followed is
// due well within it, with room for a loaded machine; the ones it means not
// to be followed are 30 s or more.
const Settle = 4 * time.Second

// caseLimit bounds one case: a page that keeps navigating never settles.
const caseLimit = 60 * time.Second

// StartChromium starts a headless Chromium at path for recording landings,
// and returns its context. cancel stops it.
func StartChromium(ctx context.Context, path, profileDir string) (context.Context, context.CancelFunc, error) {
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "HttpsUpgrades,HttpsFirstBalancedModeAutoEnable"),
		chromedp.UserDataDir(profileDir),
	)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	cancel := func() { cancelBrowser(); cancelAlloc() }
	if err := chromedp.Do(browserCtx); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("start chromium %s: %w", path, err)
	}
	return browserCtx, cancel, nil
}

// Version names the browser, for the truth file.
func Version(browserCtx context.Context) string {
	v, err := chromedp.CallBrowser(browserCtx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		return "unknown"
	}
	return v.Product
}

// Landing opens startURL in tab, a chromedp context with its own cookies,
// and returns the URL, without its fragment, of the page the tab shows once
// no navigation has happened for Settle.
func Landing(tab context.Context, startURL string) (string, error) {
	ctx, cancel := context.WithTimeout(tab, caseLimit)
	defer cancel()
	// Start from a blank page and no cookies, so that nothing of the case
	// before is left.
	// The page before may still be navigating and abort this one: what
	// counts is that the tab is blank afterwards, which the next steps need
	// no proof of, since a late navigation of the case before would be a
	// frame event too early to be listened to.
	_ = chromedp.Do(ctx, chromedp.Navigate("about:blank"))
	if _, err := chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		return "", fmt.Errorf("clear cookies: %w", err)
	}
	var (
		mu      sync.Mutex
		landing = ""
		last    = time.Now()
	)
	// Navigations are watched as events: asking a page being replaced
	// where it is fails.
	if err := chromedp.Listen(ctx, func(ev any) {
		nav, ok := ev.(*cdppage.EventFrameNavigated)
		if !ok || nav.Frame.ParentID != "" {
			return
		}
		u := nav.Frame.URL
		if nav.Frame.UnreachableURL != "" {
			u = nav.Frame.UnreachableURL // an error page stands for the URL that failed
		}
		mu.Lock()
		landing, last = u, time.Now()
		mu.Unlock()
	}); err != nil {
		return "", err
	}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := cdp.Call(ctx, t, cdppage.Navigate, cdppage.NavigateParams{URL: startURL})
		return err
	}))
	if err != nil {
		return "", fmt.Errorf("open %s: %w", startURL, err)
	}
	mu.Lock()
	last = time.Now()
	mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%s never settled (last at %s): %w", startURL, landing, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		mu.Lock()
		settled, at := time.Since(last) >= Settle, landing
		mu.Unlock()
		if settled {
			if at == "" {
				at = "about:blank"
			}
			at, _, _ = strings.Cut(at, "#")
			return at, nil
		}
	}
}

// Landings runs Landing for every case, in parallel tabs, and returns each
// case's landing relative to origin.
func Landings(browserCtx context.Context, origin string, cases []Case, parallel int) (map[string]string, error) {
	out := make(map[string]string, len(cases))
	var (
		mu   sync.Mutex
		errs []string
		wg   sync.WaitGroup
	)
	todo := make(chan Case)
	for range min(parallel, len(cases)) {
		// Each tab has its own cookies; tabs are opened one at a time, as
		// chromedp's attach can wait forever when several start at once.
		tab, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
		if err := chromedp.Do(tab); err != nil {
			cancel()
			return nil, fmt.Errorf("open a tab: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cancel()
			for c := range todo {
				// A loaded machine can starve a case; it gets three tries.
				var landing string
				var err error
				for range 3 {
					if landing, err = Landing(tab, c.StartURL(origin)); err == nil {
						break
					}
				}
				mu.Lock()
				if err != nil {
					errs = append(errs, c.Name+": "+err.Error())
				} else {
					out[c.Name] = strings.TrimPrefix(landing, origin)
				}
				mu.Unlock()
			}
		}()
	}
	for _, c := range cases {
		todo <- c
	}
	close(todo)
	wg.Wait()
	if len(errs) > 0 {
		return out, fmt.Errorf("%d cases failed: %s", len(errs), strings.Join(errs, "; "))
	}
	return out, nil
}
