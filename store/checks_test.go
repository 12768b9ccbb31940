package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

func TestChecks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		db := openDB(t, backend, store.WithClock(func() time.Time { return now }))
		offer := createOffer(t, db, "checked")

		if _, err := db.LastHealthyCheck(ctx, offer.ID); !errors.Is(err, urltracker.ErrNotFound) {
			t.Errorf("LastHealthyCheck of an unchecked offer: %v, want ErrNotFound", err)
		}
		checks := []urltracker.Check{
			{StartedAt: now.Add(-2 * time.Hour), Success: true, Verdict: urltracker.VerdictHealthy, FinalURL: "https://shop.example.com/old"},
			{StartedAt: now.Add(-30 * time.Minute), Success: true, Verdict: urltracker.VerdictHealthy, FinalURL: "https://shop.example.com/a",
				Chain: []urltracker.Hop{
					{URL: "https://offers.example.com/x?c=1", Status: 302, RedirectType: urltracker.RedirectHTTP, TimingMS: 12, Params: map[string]string{"c": "1"}},
					{URL: "https://shop.example.com/a", Status: 200, RedirectType: urltracker.RedirectFinal, TimingMS: 30, Params: map[string]string{}},
				}},
			{StartedAt: now.Add(-10 * time.Minute), Verdict: urltracker.VerdictBroken, Error: "404 Not Found", DurationMS: 40},
		}
		for i := range checks {
			checks[i].OfferID = offer.ID
			if err := db.SaveCheck(ctx, &checks[i]); err != nil {
				t.Fatal(err)
			}
			if checks[i].ID <= 0 {
				t.Fatalf("check %d got no id", i)
			}
		}

		got, err := db.Checks(ctx, offer.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].ID != checks[2].ID || got[2].ID != checks[0].ID {
			t.Fatalf("Checks returned %d checks, want 3 newest first", len(got))
		}
		if got[0].Verdict != urltracker.VerdictBroken || got[0].Error != "404 Not Found" || got[0].DurationMS != 40 {
			t.Errorf("broken check read back as %+v", got[0])
		}
		if c := got[1]; len(c.Chain) != 2 || c.Chain[0].Params["c"] != "1" || c.Chain[1].RedirectType != urltracker.RedirectFinal || !c.StartedAt.Equal(checks[1].StartedAt) {
			t.Errorf("check with chain read back as %+v", c)
		}

		healthy, err := db.LastHealthyCheck(ctx, offer.ID)
		if err != nil || healthy.ID != checks[1].ID {
			t.Errorf("LastHealthyCheck = %d, %v; want check %d", healthy.ID, err, checks[1].ID)
		}

		rec, _ := db.Offer(ctx, offer.ID)
		if rec.Stats.CheckCount != 3 || rec.Stats.LastVerdict != urltracker.VerdictBroken || !rec.Stats.LastCheckAt.Equal(checks[2].StartedAt) {
			t.Errorf("offer stats %+v, want 3 checks, last broken at %s", rec.Stats, checks[2].StartedAt)
		}

		// The last hour holds two of the checks, one of them successful.
		stats, err := db.LastHour(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Checks != 2 || stats.SuccessRate == nil || *stats.SuccessRate != 0.5 {
			t.Errorf("last hour: %d checks, success rate %v; want 2 and 0.5", stats.Checks, stats.SuccessRate)
		}

		// A blocked check says nothing about the link: it is not a failure
		// for the success rate, as it is none for the health streaks.
		blocked := urltracker.Check{OfferID: offer.ID, StartedAt: time.Now(), Verdict: urltracker.VerdictBlocked, Chain: []urltracker.Hop{}}
		if err := db.SaveCheck(ctx, &blocked); err != nil {
			t.Fatal(err)
		}
		stats, err = db.LastHour(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Checks != 3 || stats.Counted != 2 || stats.SuccessRate == nil || *stats.SuccessRate != 0.5 {
			t.Errorf("last hour with a blocked check: %d checks, %d counted, success rate %v; want 3, 2 and 0.5",
				stats.Checks, stats.Counted, stats.SuccessRate)
		}
	})
}
