package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/urltracker/urltracker"
)

// overflowJS lists what does not fit a phone screen: the page wider than the
// window, any element reaching past its right edge, anything scrolling
// sideways (a table in a scroll box hides that it goes on), and dates
// wrapped over several lines. Closed details are opened first.
const overflowJS = `(() => {
  document.querySelectorAll("details").forEach(d => d.open = true);
  const out = [], w = window.innerWidth;
  const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "");
  if (document.documentElement.scrollWidth > w + 1) out.push("page " + document.documentElement.scrollWidth + "px wide in " + w + "px");
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (getComputedStyle(el).position === "absolute" && r.right < 0) continue; // visually hidden
    if (r.right > w + 1) out.push(name(el) + " reaches " + Math.round(r.right) + "px");
    const ox = getComputedStyle(el).overflowX;
    if ((ox === "auto" || ox === "scroll") && el.scrollWidth > el.clientWidth + 1) out.push(name(el) + " scrolls sideways: " + el.scrollWidth + "px in " + el.clientWidth + "px");
  }
  for (const t of document.querySelectorAll("time")) {
    const lh = parseFloat(getComputedStyle(t).fontSize) * 1.6;
    if (t.getBoundingClientRect().height > 1.5 * lh) out.push("a date wraps: " + t.textContent);
  }
  return out.slice(0, 10);
})()`

// TestEveryPageFitsAPhone opens every dashboard page at 390 px, with tables
// full of long values, and measures that nothing needs a sideways scroll.
func TestEveryPageFitsAPhone(t *testing.T) {
	// A browser in India, to see times in the browser's time zone.
	ctx := browserTab(t, 3*time.Minute, chromedp.Env("TZ=Asia/Kolkata"))
	site, api, recv := newOfferSite(t), newFakeTrackier(t), newAlertReceiver(t)
	a := startApp(t, actionEnv(t))
	long := strings.Repeat("very-long-segment-", 6)
	offer := createOffer(t, a, boundOffer("A rather long offer name for a small screen", site, api, map[string]any{
		"pause_after_failures": 1, "alert_url": recv.URL + "/hook/" + long,
	}))
	site.landing.Store("/landing/" + long + "?click_id=" + long)
	trigger(t, a, offer.ID, urltracker.VerdictHealthy)
	site.broken.Store(true)
	trigger(t, a, offer.ID, urltracker.VerdictBroken)
	waitOutcome(t, a, offer.ID, urltracker.ActionPause, urltracker.ActionSucceeded, 15*time.Second)
	a.JSON(t, "GET", "/api/trackier-webhook?token="+offer.WebhookToken+"&click_id="+long+"&campaign_id=cmp-"+long, nil, false, http.StatusOK, nil)

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("phone width", chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	check := func(path string) {
		t.Helper()
		must("open "+path, chromedp.Do(ctx, chromedp.Navigate(a.BaseURL+path), chromedp.WaitReady("body")))
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](overflowJS))
		must("measure "+path, err)
		for _, o := range out {
			t.Errorf("%s at 390 px: %s", path, o)
		}
	}
	check("/login")
	_, err := chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.ID("f-token"), a.AdminToken+kb.Enter))
	must("sign in", err)
	id := fmt.Sprint(offer.ID)
	for _, path := range []string{"/", "/offers", "/offers/" + id, "/offers/" + id + "/edit", "/offers/new",
		"/offers/" + id + "/delete", "/kill-switch?enabled=false", "/trackier/import", "/trace?url=" + url.QueryEscape(site.URL())} {
		check(path)
	}

	// Times read relative to now, with the absolute time in the browser's
	// time zone on hover.
	check("/offers/" + id)
	times, err := chromedp.Run(ctx, chromedp.Evaluate[[][2]string](`Array.from(document.querySelectorAll("time"), t => [t.textContent, t.title])`))
	must("read the times", err)
	if len(times) == 0 {
		t.Fatal("the offer page shows no times")
	}
	for _, tm := range times {
		if !strings.HasSuffix(tm[0], " ago") && tm[0] != "just now" || !strings.Contains(tm[1], "GMT+5:30") {
			t.Errorf("time %q with title %q: want it relative, with the time in the browser's zone (GMT+5:30) on hover", tm[0], tm[1])
		}
	}
}
