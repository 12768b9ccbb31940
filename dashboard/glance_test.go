package dashboard_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

// TestOverviewShowsTheExpiredOfferFirst lists an offer whose landing says
// the offer expired before a healthy one, with its tick strip, its reason
// and its ratios; the offer page tells the signals in words.
func TestOverviewShowsTheExpiredOfferFirst(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login()
	ctx := context.Background()
	fine := newOffer(t, e.DB, "Fine shoes", "http://127.0.0.1:9/fine")
	gone := newOffer(t, e.DB, "Summer deal", "http://127.0.0.1:9/summer")
	save := func(offer int64, v urltracker.Verdict, ms int64, errText string, signals ...urltracker.Signal) {
		t.Helper()
		c := urltracker.Check{OfferID: offer, StartedAt: time.Now().Add(-time.Minute), Verdict: v, Success: v == urltracker.VerdictHealthy,
			DurationMS: ms, Error: errText, Chain: []urltracker.Hop{}, Signals: signals}
		if err := e.DB.SaveCheck(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		save(fine.ID, urltracker.VerdictHealthy, 300, "")
		save(gone.ID, urltracker.VerdictHealthy, 250, "")
	}
	save(gone.ID, urltracker.VerdictOfferExpired, 280, "the landing says the offer ended: signals title_says_expired, landing_is_site_root",
		urltracker.Signal{Name: "title_says_expired", Evidence: "<title>Offer expired</title>"},
		urltracker.Signal{Name: "landing_is_site_root", Evidence: "landed on the site's home page https://shop.example/ instead of https://shop.example/deal/1"})

	body := b.get("/").Body
	first, second := strings.Index(body, `id="glance-`+fmt.Sprint(gone.ID)+`"`), strings.Index(body, `id="glance-`+fmt.Sprint(fine.ID)+`"`)
	if first < 0 || second < 0 || first > second {
		t.Fatalf("overview lists the expired offer at %d and the healthy one at %d; want the expired one first", first, second)
	}
	row := body[first:second]
	mustContain(t, "expired offer's row", row, "Summer deal", "offer expired", "the landing says the offer ended",
		`<svg class="ticks"`, `class="tick-bad"`, `class="tick-ok"`, ": offer_expired, 280 ms</title>", `<polyline points=`, "Healthy: 24 h 75.0 %")

	page := b.get(fmt.Sprintf("/offers/%d", gone.ID)).Body
	mustContain(t, "offer page", page, "Title says ‘Offer expired’ (the offer ended)", "The landing is the site’s home page")
}
