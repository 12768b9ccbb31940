package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/internal/trackierfake"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/notify"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
	"github.com/urltracker/urltracker/trackier"
)

// instance is one urltracker instance's database pool and started job
// queue.
type instance struct {
	db     *store.DB
	runner *jobs.Runner
	queue  *jobs.Queue
}

// openMigrated opens databaseURL, applies the migrations and closes it when
// the test ends.
func openMigrated(t *testing.T, databaseURL string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

// startInstance opens databaseURL as one instance would and works its jobs
// until the test ends: checks, actions against the Trackier API wherever an
// offer points, and the scheduler every 200 ms.
func startInstance(t *testing.T, databaseURL string) *instance {
	t.Helper()
	ctx := context.Background()
	db := openMigrated(t, databaseURL)
	logger := slog.New(slog.DiscardHandler)
	trc := tracer.New(tracer.Config{Timeout: 5 * time.Second, HopTimeout: 2 * time.Second,
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	t.Cleanup(trc.CloseIdleConnections)
	runner := &jobs.Runner{DB: db, Tracer: trc, Logger: logger}
	q, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 4, JobTimeout: time.Minute, Logger: logger,
		PollInterval: 100 * time.Millisecond, ScheduleEvery: 200 * time.Millisecond,
		Trackier: trackier.New(5 * time.Second), Notifier: notify.NewSender(5 * time.Second), APITimeout: 5 * time.Second, ActionConcurrency: 2,
		VerifyTimeout: 2 * time.Second, VerifyFirstPoll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(stopCtx)
	})
	return &instance{db: db, runner: runner, queue: q}
}

// link is an offer's landing page that can break and heal.
type link struct {
	*httptest.Server
	broken atomic.Bool
	hits   atomic.Int64
}

func newLink(t *testing.T) *link {
	l := &link{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.hits.Add(1)
		if l.broken.Load() {
			http.Error(w, "gone", http.StatusNotFound)
			return
		}
		w.Write([]byte("<html><title>Shoes</title>on sale</html>"))
	}))
	t.Cleanup(l.Close)
	return l
}

func checksOf(t *testing.T, db *store.DB, offerID int64) []urltracker.Check {
	t.Helper()
	checks, err := db.Checks(context.Background(), offerID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return checks
}

// TestScheduledChecksNeedNoClicks: an offer no click ever reaches is still
// checked every check_every_seconds, on both databases; an offer checked
// only on clicks is not.
func TestScheduledChecksNeedNoClicks(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			in := startInstance(t, testutil.DatabaseURL(t, backend))
			site := newLink(t)
			o := urltracker.NewOffer()
			o.Name, o.URL, o.UpdateIntervalSeconds, o.CheckEverySeconds = "quiet", site.URL, 1, 1
			quiet, err := in.db.CreateOffer(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			o.Name, o.CheckEverySeconds = "clicks-only", 0
			clicksOnly, err := in.db.CreateOffer(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 20*time.Second, "three scheduled checks without a click", func() bool {
				return len(checksOf(t, in.db, quiet.ID)) >= 3
			})
			checks := checksOf(t, in.db, quiet.ID)
			for i := 1; i < len(checks); i++ {
				if gap := checks[i-1].StartedAt.Sub(checks[i].StartedAt); gap < 900*time.Millisecond {
					t.Errorf("checks %d and %d only %s apart; the update interval is 1s", checks[i].ID, checks[i-1].ID, gap)
				}
			}
			if n := len(checksOf(t, in.db, clicksOnly.ID)); n != 0 {
				t.Errorf("an offer checked only on clicks had %d checks without a click", n)
			}
		})
	}
}

// TestFleetChecksEachScheduledOfferOncePerInterval runs three instances on
// one PostgreSQL database, each with its own scheduler, and sends the same
// offers' webhooks through all three: every offer is checked, never twice
// within an update interval.
func TestFleetChecksEachScheduledOfferOncePerInterval(t *testing.T) {
	ctx := context.Background()
	url := testutil.DatabaseURL(t, "postgres")
	fleet := []*instance{startInstance(t, url), startInstance(t, url), startInstance(t, url)}
	site := newLink(t)
	const offers, interval = 10, 2
	var ids []int64
	var recs []store.OfferRecord
	for i := range offers {
		o := urltracker.NewOffer()
		o.Name, o.URL, o.UpdateIntervalSeconds, o.CheckEverySeconds = fmt.Sprintf("fleet-%d", i), site.URL, interval, interval
		rec, err := fleet[0].db.CreateOffer(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		ids, recs = append(ids, rec.ID), append(recs, rec)
	}
	// Clicks arrive through every instance while the schedulers run.
	intakes := make([]*intake.Intake, len(fleet))
	for i, in := range fleet {
		intakes[i] = intake.New(in.db, in.queue, slog.New(slog.DiscardHandler), time.Now)
		defer intakes[i].Close()
	}
	start := time.Now()
	for round := 0; time.Since(start) < 9*time.Second; round++ {
		for i, rec := range recs {
			in := intakes[(round+i)%len(intakes)]
			if _, err := in.Ingest(ctx, rec.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: fmt.Sprintf("c%d-%d", round, i), Payload: map[string]string{}}); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(300 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // let checks already started finish
	end := time.Now()
	// River's uniqueness allows one check job per offer in each update
	// interval window (aligned to the clock), so at most this many checks;
	// a fleet that checked each offer on every instance, or on every
	// click, would make several times more.
	windows := int(end.Unix()/interval-start.Unix()/interval) + 1
	for _, id := range ids {
		checks := checksOf(t, fleet[0].db, id)
		if len(checks) < 3 {
			t.Errorf("offer %d: %d checks in %s, want at least 3 (one per %ds interval)", id, len(checks), end.Sub(start).Round(time.Second), interval)
		}
		if len(checks) > windows {
			t.Errorf("offer %d: %d checks in %d update intervals, want at most one per interval", id, len(checks), windows)
		}
	}
}

// TestFailureIsConfirmedBeforeItCounts: a failing check is re-checked after
// confirm_after_seconds; the failure counts once, and the first check names
// the one that confirmed it.
func TestFailureIsConfirmedBeforeItCounts(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			in := startInstance(t, testutil.DatabaseURL(t, backend))
			site := newLink(t)
			site.broken.Store(true)
			o := urltracker.NewOffer()
			o.Name, o.URL, o.CheckEverySeconds, o.Policy.ConfirmAfterSeconds = "flaky", site.URL, 0, 1
			rec, err := in.db.CreateOffer(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			first, err := in.runner.Run(ctx, rec.ID)
			if err != nil || first.Verdict != urltracker.VerdictBroken {
				t.Fatalf("first check: %+v, %v", first, err)
			}
			if h, _ := in.db.Health(ctx, rec.ID); h.ConsecutiveFailures != 0 {
				t.Errorf("an unconfirmed failure counted: %+v", h)
			}
			testutil.Eventually(t, 20*time.Second, "the confirming check", func() bool { return len(checksOf(t, in.db, rec.ID)) == 2 })
			checks := checksOf(t, in.db, rec.ID)
			confirming, confirmed := checks[0], checks[1]
			if confirmed.ID != first.ID || confirmed.ConfirmedBy == nil || *confirmed.ConfirmedBy != confirming.ID || confirming.ConfirmedBy != nil {
				t.Errorf("checks = %+v / %+v; want the first confirmed by the second", confirmed, confirming)
			}
			if gap := confirming.StartedAt.Sub(confirmed.StartedAt); gap < time.Second {
				t.Errorf("confirmed %s after the failure, want at least confirm_after_seconds (1s)", gap)
			}
			if h, _ := in.db.Health(ctx, rec.ID); h.ConsecutiveFailures != 1 || h.LastVerdict != urltracker.VerdictBroken {
				t.Errorf("after the confirmation: %+v, want one counted failure", h)
			}

			// A failure that heals before its confirmation never counts.
			third, err := in.runner.Run(ctx, rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			site.broken.Store(false)
			testutil.Eventually(t, 20*time.Second, "the second confirming check", func() bool { return len(checksOf(t, in.db, rec.ID)) == 4 })
			checks = checksOf(t, in.db, rec.ID)
			if checks[1].ID != third.ID || checks[1].ConfirmedBy != nil || checks[0].Verdict != urltracker.VerdictHealthy {
				t.Errorf("a failure that healed is marked confirmed: %+v", checks[:2])
			}
			if h, _ := in.db.Health(ctx, rec.ID); h.ConsecutiveFailures != 0 || h.ConsecutiveSuccesses != 1 {
				t.Errorf("after a healed failure: %+v, want no failure counted", h)
			}
		})
	}
}

// TestHeldCampaignIsResumedWithoutClicks is the gap this scheduler closes: a
// campaign urltracker held gets no clicks, yet its offer is re-checked every
// update interval, and once the link heals the campaign is resumed.
func TestHeldCampaignIsResumedWithoutClicks(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			in := startInstance(t, testutil.DatabaseURL(t, backend))
			api := trackierfake.New(t)
			link := newMovable(t)
			link.broken.Store(true)
			rec := actingOffer(t, in, api, link.URL+"/offer", func(o *urltracker.Offer) {
				o.UpdateIntervalSeconds, o.CheckEverySeconds = 1, 0 // checked only on clicks, unless held
			})
			check(t, in, rec.ID)
			waitAction(t, in, rec.ID, urltracker.ActionPause, urltracker.ActionSucceeded)
			if got := api.Campaign("101").Status; got != trackier.StatusDisabled {
				t.Fatalf("campaign %s after the failure, want disabled", got)
			}
			before := len(checksOf(t, in.db, rec.ID))
			testutil.Eventually(t, 20*time.Second, "re-checks of the held offer without clicks", func() bool {
				return len(checksOf(t, in.db, rec.ID)) >= before+2
			})
			link.broken.Store(false)
			waitAction(t, in, rec.ID, urltracker.ActionResume, urltracker.ActionSucceeded)
			if got := api.Campaign("101").Status; got != trackier.StatusActive {
				t.Errorf("campaign %s after healing, want active", got)
			}
			if h := health(t, in, rec.ID); h.State != urltracker.StateActive {
				t.Errorf("after healing: %+v, want active", h)
			}
		})
	}
}

// TestQueuedCheckIsNotQueuedAgain: the scheduler takes a due offer once and
// leaves it until its check has run, however long the queue of checks: an
// offer due again one update interval later, while its first check still
// waits, would be checked twice in a row (10,000 offers due at once behind
// a slow queue piled up three jobs per offer). Its next check is due one
// period on, so that a check that never runs is still retried.
func TestQueuedCheckIsNotQueuedAgain(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, testutil.DatabaseURL(t, backend))
			// A queue that is never started: checks wait as behind a slow queue.
			runner := &jobs.Runner{DB: db, Logger: slog.New(slog.DiscardHandler)}
			q, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1})
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for i := range 3 {
				o := urltracker.NewOffer()
				o.Name, o.URL, o.UpdateIntervalSeconds, o.CheckEverySeconds = fmt.Sprintf("waiting-%d", i), "http://127.0.0.1:9/", 1, 60
				rec, err := db.CreateOffer(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, rec.ID)
			}
			now := time.Now()
			if n, err := q.ScheduleDue(ctx, now); err != nil || n != 3 {
				t.Fatalf("first pass took %d offers (%v), want 3", n, err)
			}
			if got := queuedChecks(t, db); got != 3 {
				t.Errorf("%d check jobs queued for 3 offers, want one each", got)
			}
			for _, at := range []time.Duration{2 * time.Second, 30 * time.Second} {
				if n, err := q.ScheduleDue(ctx, now.Add(at)); err != nil || n != 0 {
					t.Errorf("%s later, with the checks still queued, the scheduler took %d offers again (%v)", at, n, err)
				}
			}
			if got := queuedChecks(t, db); got != 3 {
				t.Errorf("%d check jobs queued for 3 offers after more passes, want still one each", got)
			}
			for _, id := range ids {
				next, err := db.NextCheck(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if want := now.Add(time.Minute); next == nil || next.Sub(want).Abs() > time.Millisecond {
					t.Errorf("offer %d next due %v, want one check_every_seconds on, %v", id, next, want)
				}
			}
			if n, err := q.ScheduleDue(ctx, now.Add(61*time.Second)); err != nil || n != 3 {
				t.Errorf("a period on, with the checks never run, the scheduler took %d offers (%v), want 3 again", n, err)
			}
		})
	}
}

// TestPostponeKeepsEachOfferOnItsOwnPeriod: the scheduler's postpone moved
// every offer it took by the longer of check_every_seconds and the update
// interval, blindly. A held offer (re-checked every update interval until
// its link heals) whose check committed its next one between the
// scheduler's read and its write was then left alone for an hour, its
// campaign held all along.
func TestPostponeKeepsEachOfferOnItsOwnPeriod(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, testutil.DatabaseURL(t, backend))
			offer := func(name string) int64 {
				o := urltracker.NewOffer()
				o.Name, o.URL, o.UpdateIntervalSeconds, o.CheckEverySeconds = name, "http://127.0.0.1:9/", 60, 3600
				rec, err := db.CreateOffer(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				return rec.ID
			}
			held, plain, checked := offer("held"), offer("plain"), offer("checked meanwhile")
			now := time.Now()
			err := db.InTx(ctx, func(tx *sql.Tx) error {
				h, err := db.HealthForUpdateTx(ctx, tx, held)
				if err != nil {
					return err
				}
				h.State = urltracker.StateHeld
				if err := db.SaveHealthTx(ctx, tx, h); err != nil {
					return err
				}
				// The check of this one ran after the scheduler read it as due.
				if err := db.SetNextCheckTx(ctx, tx, checked, now.Add(90*time.Second)); err != nil {
					return err
				}
				return db.PostponeChecksTx(ctx, tx, []int64{held, plain, checked}, now)
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name string
				id   int64
				want time.Duration
			}{
				{"held offer: one update interval", held, time.Minute},
				{"offer not held: check_every_seconds", plain, time.Hour},
				{"offer its check rescheduled: the check's choice", checked, 90 * time.Second},
			} {
				next, err := db.NextCheck(ctx, c.id)
				if err != nil {
					t.Fatal(err)
				}
				if want := now.Add(c.want); next == nil || next.Sub(want).Abs() > time.Millisecond {
					t.Errorf("%s: next check %v, want %v", c.name, next, want)
				}
			}
		})
	}
}

// queuedChecks counts check jobs waiting to run.
func queuedChecks(t *testing.T, db *store.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT COUNT(*) FROM river_job WHERE kind = 'check_offer' AND state = 'available'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
