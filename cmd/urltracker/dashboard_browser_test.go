package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/trackier"
)

// chromiumPath finds Debian's Chromium. Without it the browser tests skip,
// unless URLTRACKER_REQUIRE_CHROMIUM=1 (as in CI) makes them fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("URLTRACKER_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium not found and URLTRACKER_REQUIRE_CHROMIUM=1: apt-get install -y chromium")
	}
	t.Skip("chromium not found: apt-get install -y chromium to run the browser tests")
	return ""
}

// browserTab starts a headless Chromium with a throwaway profile and returns
// a tab's context, cancelled (and the browser stopped) at the end of the test.
// opts add to the browser's options.
func browserTab(t *testing.T, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := chromiumPath(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}, opts...)...)
	t.Cleanup(cancelAlloc)
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	return tab
}

// screenshots writes numbered full-page screenshots. They are kept in
// URLTRACKER_SCREENSHOTS when it names a directory, for a person to look at;
// otherwise they go to the test's temporary directory, removed afterwards.
type screenshots struct {
	t   *testing.T
	ctx context.Context
	dir string
	n   int
}

func (s *screenshots) take(name string) {
	s.t.Helper()
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		s.t.Fatalf("screenshot %s: %v", name, err)
	}
	s.n++
	path := filepath.Join(s.dir, fmt.Sprintf("%02d-%s.png", s.n, name))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("screenshot: %s", path)
}

// freeAddr returns a loopback address nobody listens on, so that the test
// instance's public URL (and so the push URL it shows) is known up front.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestDashboardInBrowser drives the dashboard the way an operator would:
// sign in, create an offer for a local redirect chain, paste its push URL
// into "Trackier" (here: one HTTP request), watch the check appear with its
// hops, and pull the kill switch.
func TestDashboardInBrowser(t *testing.T) {
	ctx := browserTab(t, 3*time.Minute)
	upstream := httptest.NewServer(testutil.RedirectChain(3))
	defer upstream.Close()
	env := appEnv(t.TempDir())
	addr := freeAddr(t)
	env["URLTRACKER_ADDR"], env["URLTRACKER_PUBLIC_URL"] = addr, "http://"+addr
	a := startApp(t, env)
	base := a.BaseURL

	dir := os.Getenv("URLTRACKER_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	shots := &screenshots{t: t, ctx: ctx, dir: dir}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			shots.take("failed")
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		must("read "+sel, err)
		return s
	}

	// 1. A visitor without a session lands on the login form; the token
	// is typed and submitted with the keyboard alone.
	must("open /offers", chromedp.Do(ctx, chromedp.Navigate(base+"/offers"), chromedp.WaitVisible(chromedp.ID("f-name"))))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.Contains(loc, "/login?next=%2Foffers") {
		t.Errorf("without a session, /offers went to %s", loc)
	}
	shots.take("login")
	// The break-glass admin token has its own form below the user name and
	// password form.
	must("find the admin token form", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("f-token"))))
	_, err := chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.ID("f-token"), a.AdminToken+kb.Enter))
	must("sign in", err)
	must("offers page", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`a[href="/offers/new"]`))))
	shots.take("offers-empty")

	// 2. Create an offer pointing at the redirect chain.
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href="/offers/new"]`)))
	must("open the new offer form", err)
	// Submitted empty, the form says what is missing, field by field.
	must("clear the interval", chromedp.Do(ctx, chromedp.SetValue(chromedp.ID("f-update_interval_seconds"), "")))
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form.card button[type="submit"]`)))
	must("submit the empty form", err)
	if summary := text("#form-errors"); !strings.Contains(summary, "Name: required") || !strings.Contains(summary, "Link to check: required") {
		t.Errorf("error summary %q lacks the missing fields", summary)
	}
	shots.take("offer-form-errors")
	must("fill the form", chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("f-update_interval_seconds"), "300"),
		chromedp.SendKeys(chromedp.ID("f-name"), "Chain <b>offer</b>"),
		chromedp.SendKeys(chromedp.ID("f-url"), upstream.URL+"/hop/1"),
		chromedp.SendKeys(chromedp.ID("f-expected_host"), "127.0.0.1"),
	))
	shots.take("offer-form")
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form.card button[type="submit"]`)))
	must("create the offer", err)
	must("offer page", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("push-url"))))
	if h1 := text("h1"); h1 != "Chain <b>offer</b>" {
		t.Errorf("offer page title %q, want the name as typed", h1)
	}

	// 3. Read the push URL from the page and copy it with the button.
	pushURL, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("push-url")))
	must("read the push URL", err)
	if !strings.HasPrefix(pushURL, "http://"+addr+"/api/trackier-webhook?token=") || !strings.Contains(pushURL, "click_id={click_id}") {
		t.Fatalf("push URL %q: want this instance's webhook URL with Trackier macros", pushURL)
	}
	must("copy", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-copy="push-url"]`))))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("copy-status").textContent !== ""`, chromedp.WithPollingTimeout(10*time.Second)))
	must("copy status", err)
	shots.take("offer-created")

	// 4. "Trackier" sends a click: the push URL with its macros filled in.
	must("mark the page", chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`)))
	click := regexp.MustCompile(`\{(\w+)\}`).ReplaceAllStringFunc(pushURL, func(m string) string {
		switch m {
		case "{click_id}":
			return "browser-click-1"
		case "{campaign_id}":
			return "cmp-7"
		}
		return ""
	})
	resp, err := http.Get(click)
	must("send the webhook", err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("webhook: status %d", resp.StatusCode)
	}

	// 5. The event and the check appear without a reload; the check opens
	// into its hops.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("details.check") !== null && document.querySelector("tr.event") !== null`,
		chromedp.WithPollingTimeout(60*time.Second)))
	must("wait for the check to appear", err)
	reloaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.notReloaded !== true`))
	must("check for a reload", err)
	if reloaded {
		t.Error("the page reloaded to show the check; live parts should refresh in place")
	}
	must("open the check", chromedp.Do(ctx, chromedp.Click(chromedp.CSS("details.check summary"))))
	hops, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("details.check[open] tr.hop td.url code"), c => c.textContent)`))
	must("read the hops", err)
	want := []string{upstream.URL + "/hop/1", upstream.URL + "/hop/2?step=2", upstream.URL + "/hop/3?step=3", upstream.URL + "/landing?from=chain"}
	if strings.Join(hops, "\n") != strings.Join(want, "\n") {
		t.Errorf("hops shown:\n%s\nwant:\n%s", strings.Join(hops, "\n"), strings.Join(want, "\n"))
	}
	if v := text("details.check[open] summary .badge"); v != "healthy" {
		t.Errorf("check verdict %q, want healthy", v)
	}
	if ev := text("tr.event"); !strings.Contains(ev, "browser-click-1") || !strings.Contains(ev, "cmp-7") {
		t.Errorf("event row %q lacks the click id and campaign", ev)
	}
	// The next refresh keeps the check open.
	time.Sleep(6 * time.Second)
	if open, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("details.check").open`)); !open {
		t.Error("a live refresh closed the opened check")
	}
	shots.take("check-with-hops")

	// 6. Bind the offer to a Trackier campaign through the edit form, then
	// test the connection from the offer page.
	api := trackierfake.New(t)
	api.AddKey(testAPIKey)
	api.AddCampaign(trackier.Campaign{ID: "cmp-77", Name: "Browser campaign"})
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href$="/edit"]`)))
	must("open the edit form", err)
	must("bind the campaign", chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("f-trackier-campaign_id"), "cmp-77"),
		chromedp.SendKeys(chromedp.ID("f-trackier-api_key"), testAPIKey),
		chromedp.SendKeys(chromedp.ID("f-trackier-api_base_url"), api.URL),
	))
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form.card button[type="submit"]`)))
	must("save the offer", err)
	must("test the connection", chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-trackier-test]`))))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("trackier-test-result").textContent.startsWith("Connection works")`,
		chromedp.WithPollingTimeout(30*time.Second)))
	must("wait for the connection test", err)
	if calls := api.Requests(); len(calls) != 1 || calls[0].APIKey != testAPIKey {
		t.Errorf("Trackier API calls: %+v", calls)
	}
	if body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); strings.Contains(body, testAPIKey) {
		t.Error("the offer page shows the API key")
	}
	shots.take("trackier-connection")

	// 7. At phone width the pages fit the screen.
	fitsPhone := func(name string) {
		t.Helper()
		must("phone width", chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		must("measure", err)
		if overflow {
			t.Errorf("the %s page is wider than a phone screen", name)
		}
		shots.take(name + "-phone")
		must("desktop width", chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)))
	}
	fitsPhone("offer")

	// 8. The overview shows the traffic, then the kill switch is pulled
	// through its confirmation.
	must("overview", chromedp.Do(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("switch-state"))))
	if got := text("#stat-webhooks") + "/" + text("#stat-checks") + "/" + text("#stat-rate"); got != "1/1/100.0 %" {
		t.Errorf("overview webhooks/checks/success rate %q, want 1/1/100.0 %%", got)
	}
	if s := text("#switch-state"); !strings.Contains(s, "on") {
		t.Errorf("switch state %q, want on", s)
	}
	shots.take("overview-on")
	fitsPhone("overview")
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`a[href="/kill-switch?enabled=false"]`)))
	must("open the confirmation", err)
	shots.take("kill-switch-confirm")
	var status struct{ Enabled bool }
	a.JSON(t, http.MethodGet, "/api/trackier-status", nil, false, http.StatusOK, &status)
	if !status.Enabled {
		t.Fatal("the confirmation page alone turned automation off")
	}
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form.card button[type="submit"]`)))
	must("confirm", err)
	must("overview after", chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("switch-state"))))
	if s := text("#switch-state"); !strings.Contains(s, "kill switch is pulled") {
		t.Errorf("after confirming, switch state %q", s)
	}
	shots.take("overview-off")
	a.JSON(t, http.MethodGet, "/api/trackier-status", nil, false, http.StatusOK, &status)
	if status.Enabled {
		t.Error("the status endpoint still says automation is on")
	}

	// 9. Turned back on through the API, the open overview follows by itself.
	a.JSON(t, http.MethodPost, "/api/trackier-emergency-toggle?enabled=true", nil, true, http.StatusOK, nil)
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("switch-state").textContent.includes("Checks run")`,
		chromedp.WithPollingTimeout(30*time.Second)))
	must("overview follows the kill switch", err)
	shots.take("overview-on-again")

	// 10. The trace tool shows a chain without storing anything.
	_, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`nav a[href="/trace"]`)))
	must("open the trace tool", err)
	must("enter a URL", chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID("f-url"), upstream.URL+"/hop/2")))
	_, err = chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.ID("f-url"), kb.Enter))
	must("trace", err)
	if res := text("#trace-result"); !strings.Contains(res, "healthy") || !strings.Contains(res, "/landing?from=chain") {
		t.Errorf("trace result %q", res)
	}
	shots.take("trace")
}
