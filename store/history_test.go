package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// TestHistorySurvivesRetention records a day of checks, prunes all but the
// newest, and still answers the whole day: ratios, worst verdicts per hour
// and chain-time percentiles come from the rollups, not the checks.
func TestHistorySurvivesRetention(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 27, 12, 30, 0, 0, time.UTC)
			db := openDB(t, backend, store.WithClock(func() time.Time { return now }))
			offer := retentionOffer(t, db, "history")
			save := func(at time.Time, v urltracker.Verdict, ms int64) {
				t.Helper()
				c := urltracker.Check{OfferID: offer, StartedAt: at, Verdict: v, Success: v == urltracker.VerdictHealthy,
					DurationMS: ms, Chain: []urltracker.Hop{}}
				if err := db.SaveCheck(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			// 20 hours ago: healthy, then expired, then healthy again; the
			// hour's worst is offer_expired. 3 hours ago: a refused check,
			// which does not count. This hour: 16 healthy checks.
			save(now.Add(-20*time.Hour), urltracker.VerdictHealthy, 180)
			save(now.Add(-20*time.Hour+time.Minute), urltracker.VerdictOfferExpired, 190)
			save(now.Add(-20*time.Hour+2*time.Minute), urltracker.VerdictSlow, 9000)
			save(now.Add(-3*time.Hour), urltracker.VerdictRefused, 120)
			for i := range 16 {
				save(now.Add(-time.Duration(i+1)*time.Minute), urltracker.VerdictHealthy, 400)
			}
			// A check 40 days ago is past every window and the rollups' retention.
			save(now.Add(-40*24*time.Hour), urltracker.VerdictBroken, 100)

			if _, err := db.Prune(ctx, store.RetentionPolicy{MaxAge: time.Hour, KeepPerOffer: 1}); err != nil {
				t.Fatal(err)
			}
			if checks, _ := db.Checks(ctx, offer, 100); len(checks) != 1 {
				t.Fatalf("%d checks left after pruning, want 1", len(checks))
			}

			h, err := db.History(ctx, offer, "24h")
			if err != nil {
				t.Fatal(err)
			}
			if h.Checks != 20 || h.HealthyRatio == nil || *h.HealthyRatio != 17.0/19 {
				t.Errorf("24h: %d checks, healthy ratio %v; want 20 and 17/19 (the refused check does not count)", h.Checks, deref(h.HealthyRatio))
			}
			if len(h.Buckets) != 24 || !h.Buckets[23].Start.Equal(now.Truncate(time.Hour)) {
				t.Fatalf("24h: %d buckets, last starting %v; want 24 hours ending with this one", len(h.Buckets), h.Buckets[len(h.Buckets)-1].Start)
			}
			if b := h.Buckets[3]; b.Checks != 3 || b.Healthy != 1 || b.WorstVerdict != urltracker.VerdictOfferExpired {
				t.Errorf("the hour 20 hours ago: %+v; want 3 checks, 1 healthy, worst offer_expired", b)
			}
			if b := h.Buckets[20]; b.WorstVerdict != urltracker.VerdictRefused {
				t.Errorf("3 hours ago: %+v; want refused", b)
			}
			if b := h.Buckets[10]; b.Checks != 0 || b.WorstVerdict != "" {
				t.Errorf("an hour without checks: %+v", b)
			}
			// 20 times: 120, 180, 190, 16×400, 9000 ms. Median 400 (bucket ≤400),
			// p95 the 19th: 400; the slow one is the 20th.
			if h.P50MS == nil || *h.P50MS != 400 || h.P95MS == nil || *h.P95MS != 400 {
				t.Errorf("p50 %v p95 %v, want 400 and 400", deref(h.P50MS), deref(h.P95MS))
			}

			month, err := db.History(ctx, offer, "30d")
			if err != nil {
				t.Fatal(err)
			}
			if len(month.Buckets) != 30 || month.Checks != 20 {
				t.Errorf("30d: %d buckets, %d checks; want 30 days and the 20 checks (the one 40 days ago is gone)", len(month.Buckets), month.Checks)
			}
			if _, err := db.History(ctx, offer, "1y"); err == nil {
				t.Error("window 1y: no error")
			}
		})
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestOffersWithExpiringCertificatesReadsTheLatestCheck counts an offer
// while its latest check warns of a certificate, and no longer once a later
// check sees a renewed one.
func TestOffersWithExpiringCertificatesReadsTheLatestCheck(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openDB(t, backend)
			a, b := retentionOffer(t, db, "a"), retentionOffer(t, db, "b")
			save := func(offer int64, signals ...urltracker.Signal) {
				t.Helper()
				c := urltracker.Check{OfferID: offer, StartedAt: time.Now(), Verdict: urltracker.VerdictHealthy, Success: true,
					Chain: []urltracker.Hop{}, Signals: signals}
				if err := db.SaveCheck(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			count := func() int64 {
				t.Helper()
				n, err := db.OffersWithExpiringCertificates(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			expiring := urltracker.Signal{Name: urltracker.SignalCertificateExpiresSoon, Evidence: "the certificate of a.example expires on 2026-12-05"}
			save(a, expiring)
			save(b)
			if n := count(); n != 1 {
				t.Errorf("%d offers with an expiring certificate, want 1", n)
			}
			save(a) // renewed
			if n := count(); n != 0 {
				t.Errorf("after the renewal: %d offers with an expiring certificate, want 0", n)
			}
		})
	}
}
