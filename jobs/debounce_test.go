package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// openQueue opens databaseURL as one instance would: its own pool and its own
// job queue (not started: these tests look at what intake schedules).
func openQueue(t *testing.T, databaseURL string) (*jobs.Queue, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	runner := &jobs.Runner{DB: db, Tracer: tracer.New(tracer.Config{})}
	q, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1, JobTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return q, db
}

// TestIngestDebouncesAcrossInstances ingests one offer's webhooks through two
// instances at once: exactly one schedules the check, on either backend.
func TestIngestDebouncesAcrossInstances(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := testutil.DatabaseURL(t, backend)
			q1, db := openQueue(t, url)
			q2, _ := openQueue(t, url)
			rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: "debounced", URL: "https://offers.example.com/x",
				UpdateIntervalSeconds: 30 * 24 * 3600, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}

			const webhooks = 30
			outcomes := make([]urltracker.EventOutcome, webhooks)
			var wg sync.WaitGroup
			for i := range webhooks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					q := []*jobs.Queue{q1, q2}[i%2]
					res, err := q.Ingest(ctx, rec.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: fmt.Sprintf("c-%d", i), Payload: map[string]string{}})
					if err != nil {
						t.Error(err)
						return
					}
					outcomes[i] = res.Outcome
				}()
			}
			wg.Wait()
			count := map[urltracker.EventOutcome]int{}
			for _, o := range outcomes {
				count[o]++
			}
			if count[urltracker.OutcomeCheckScheduled] != 1 || count[urltracker.OutcomeDebounced] != webhooks-1 {
				t.Errorf("outcomes %v, want 1 check_scheduled and %d debounced", count, webhooks-1)
			}

			// With the kill switch off nothing is scheduled, but events are
			// still stored.
			if _, err := db.SetKillSwitch(ctx, false, "test"); err != nil {
				t.Fatal(err)
			}
			other, err := db.CreateOffer(ctx, urltracker.Offer{Name: "switched-off", URL: "https://offers.example.com/y",
				UpdateIntervalSeconds: 60, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := q1.Ingest(ctx, other.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: "off", Payload: map[string]string{}})
			if err != nil || res.Outcome != urltracker.OutcomeKillSwitchOff || res.EventID == 0 {
				t.Errorf("ingest with the kill switch off: %+v, %v; want a stored event with outcome kill_switch_off", res, err)
			}
		})
	}
}
