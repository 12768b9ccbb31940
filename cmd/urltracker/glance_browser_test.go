package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/urltracker/urltracker"
)

// TestOverviewShowsTheExpiredOfferFirstInABrowser opens the overview at
// desktop and phone width: the offer whose landing says the offer expired
// comes first, with its strip of checks and its reason, ahead of a healthy
// offer created before it, and the page fits the phone.
func TestOverviewShowsTheExpiredOfferFirstInABrowser(t *testing.T) {
	ctx := browserTab(t, 3*time.Minute)
	mux := http.NewServeMux()
	mux.HandleFunc("/healthy", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>Summer sale | Shop</title></head><body><h1>Summer sale</h1><p>Everything 30% off, today only, in every size and colour.</p></body></html>`)
	})
	mux.HandleFunc("/expired", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><head><title>Offer expired | Shop</title></head><body><h1>Sorry, this offer has expired</h1><p>See today's deals.</p></body></html>`)
	})
	upstream := httptest.NewServer(mux)
	defer upstream.Close()
	a := startApp(t, appEnv(t.TempDir()))
	healthy := createOffer(t, a, map[string]any{"name": "winter coats", "url": upstream.URL + "/healthy", "check_every_seconds": 0})
	expired := createOffer(t, a, map[string]any{"name": "summer sale", "url": upstream.URL + "/expired", "check_every_seconds": 0,
		"policy": map[string]any{"confirm_after_seconds": 0}})
	trigger(t, a, healthy.ID, urltracker.VerdictHealthy)
	trigger(t, a, expired.ID, urltracker.VerdictOfferExpired)

	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("sign in", chromedp.Do(ctx, chromedp.Navigate(a.BaseURL+"/login"), chromedp.WaitVisible(chromedp.ID("f-token"))))
	_, err := chromedp.RunResponse(ctx, chromedp.SendKeys(chromedp.ID("f-token"), a.AdminToken+kb.Enter))
	must("sign in", err)

	for _, width := range []int64{1280, 390} {
		must("overview", chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(a.BaseURL+"/"),
			chromedp.WaitVisible(chromedp.CSS("ul.glance"))))
		rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("li.glance-row"), e => e.id)`))
		must("glance rows", err)
		if len(rows) != 2 {
			t.Fatalf("at %d px: offers at a glance %v, want 2", width, rows)
		}
		first := fmt.Sprintf("glance-%d", expired.ID)
		if rows[0] != first {
			t.Errorf("at %d px: the first offer at a glance is %s, want the expired offer (%s)", width, rows[0], first)
		}
		text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#"+first)))
		must("first row", err)
		if !strings.Contains(text, "summer sale") || !strings.Contains(strings.ToLower(text), "expired") {
			t.Errorf("at %d px: the expired offer's row says %q, want its name and the reason", width, text)
		}
		ticks, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#`+first+` svg.ticks rect").length`))
		must("ticks", err)
		if ticks != 1 {
			t.Errorf("at %d px: the expired offer's strip has %d ticks, want 1 (one check)", width, ticks)
		}
		overflow, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		must("measure", err)
		if overflow {
			t.Errorf("at %d px: the overview is wider than the screen", width)
		}
	}
}
