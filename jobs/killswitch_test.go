package jobs_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// TestCheckWaitsOutTheKillSwitch schedules a check, pulls the kill switch
// before it runs, and turns automation back on: the period's check must still
// run then, not be used up while automation was off.
func TestCheckWaitsOutTheKillSwitch(t *testing.T) {
	ctx := context.Background()
	upstream := httptest.NewServer(testutil.RedirectChain(1))
	defer upstream.Close()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	trc := tracer.New(tracer.Config{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	defer trc.CloseIdleConnections()
	runner := &jobs.Runner{DB: db, Tracer: trc, Logger: logger}
	q, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1, JobTimeout: time.Minute, Logger: logger,
		PollInterval: 200 * time.Millisecond, KillSwitchSnooze: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	in := intake.New(db, q, logger, time.Now)
	defer in.Close()
	rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: "snoozed", URL: upstream.URL + "/hop/1", UpdateIntervalSeconds: 3600, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Ingest(ctx, rec.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: "c1", Payload: map[string]string{}})
	if err != nil || res.Outcome != urltracker.OutcomeCheckScheduled {
		t.Fatalf("ingest: %+v %v", res, err)
	}
	if _, err := db.SetKillSwitch(ctx, false, store.Actor{Instance: "test"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer q.Stop(context.Background())

	time.Sleep(time.Second) // the job runs, finds automation off, and waits
	if checks, _ := db.Checks(ctx, rec.ID, 10); len(checks) != 0 {
		t.Fatalf("a check ran while the kill switch was off: %+v", checks)
	}
	if _, err := db.SetKillSwitch(ctx, true, store.Actor{Instance: "test"}, ""); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 15*time.Second, "the period's check once automation is back on", func() bool {
		checks, err := db.Checks(ctx, rec.ID, 10)
		return err == nil && len(checks) == 1 && checks[0].Verdict == urltracker.VerdictHealthy
	})
	// A second webhook of the same period is still debounced: the snoozed
	// job was the period's one check.
	res, err = in.Ingest(ctx, rec.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: "c2", Payload: map[string]string{}})
	if err != nil || res.Outcome != urltracker.OutcomeDebounced {
		t.Fatalf("second ingest: %+v %v", res, err)
	}
}
