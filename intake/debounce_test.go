package intake_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// openIntake opens databaseURL as one instance would.
var openIntake = intake.OpenTestIntake

// TestIngestDebouncesAcrossInstances ingests the webhooks of three offers
// through two instances at once, on either backend: per offer exactly one
// webhook schedules the check, and the counters match.
func TestIngestDebouncesAcrossInstances(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			url := testutil.DatabaseURL(t, backend)
			in1, db := openIntake(t, url)
			in2, _ := openIntake(t, url)
			var offers []urltracker.Offer
			for i := range 3 {
				rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: fmt.Sprintf("debounced-%d", i), URL: "https://offers.example.com/x",
					UpdateIntervalSeconds: 30 * 24 * 3600, Enabled: true})
				if err != nil {
					t.Fatal(err)
				}
				offers = append(offers, rec.Offer)
			}

			const webhooks = 90
			outcomes := make([]urltracker.EventOutcome, webhooks)
			var wg sync.WaitGroup
			for i := range webhooks {
				wg.Add(1)
				go func() {
					defer wg.Done()
					in := []*intake.Intake{in1, in2}[i%2]
					offer := offers[(i/2)%3]
					res, err := in.Ingest(ctx, offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: fmt.Sprintf("c-%d", i), Payload: map[string]string{}})
					if err != nil {
						t.Error(err)
						return
					}
					outcomes[i] = res.Outcome
				}()
			}
			wg.Wait()
			for k, offer := range offers {
				count := map[urltracker.EventOutcome]int{}
				for i, o := range outcomes {
					if (i/2)%3 == k {
						count[o]++
					}
				}
				if count[urltracker.OutcomeCheckScheduled] != 1 || count[urltracker.OutcomeDebounced] != webhooks/3-1 {
					t.Errorf("offer %s: outcomes %v, want 1 check_scheduled and %d debounced", offer.Name, count, webhooks/3-1)
				}
				rec, err := db.Offer(ctx, offer.ID)
				if err != nil || rec.Stats.WebhookCount != webhooks/3 {
					t.Errorf("offer %s: webhook_count %d, %v; want %d", offer.Name, rec.Stats.WebhookCount, err, webhooks/3)
				}
			}

			// With the kill switch off nothing is scheduled, but events are
			// still stored.
			if _, err := db.SetKillSwitch(ctx, false, store.Actor{Instance: "test"}, ""); err != nil {
				t.Fatal(err)
			}
			other, err := db.CreateOffer(ctx, urltracker.Offer{Name: "switched-off", URL: "https://offers.example.com/y",
				UpdateIntervalSeconds: 60, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			res, err := in1.Ingest(ctx, other.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: "off", Payload: map[string]string{}})
			if err != nil || res.Outcome != urltracker.OutcomeKillSwitchOff || res.EventID == 0 {
				t.Errorf("ingest with the kill switch off: %+v, %v; want a stored event with outcome kill_switch_off", res, err)
			}
		})
	}
}

// TestIngestRedeliveriesAmongNewClicks sends twenty clicks of one offer,
// each twice at once (Trackier retrying while the first delivery is still
// in flight), so that batches hold redeliveries before, after and beside
// new clicks: each click is stored once and both of its deliveries are
// answered with that event, the offer's check is scheduled by exactly one
// stored event and enqueued once, and the webhook count is twenty.
func TestIngestRedeliveriesAmongNewClicks(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			in, db := openIntake(t, testutil.DatabaseURL(t, backend))
			rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: "retried", URL: "https://offers.example.com/r",
				UpdateIntervalSeconds: 30 * 24 * 3600, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			const clicks = 20
			results := make([]store.IngestResult, 2*clicks)
			var wg sync.WaitGroup
			for i := range 2 * clicks {
				wg.Go(func() {
					res, err := in.Ingest(ctx, rec.Offer, urltracker.Event{ReceivedAt: time.Now(), ClickID: fmt.Sprintf("click-%d", i/2), Payload: map[string]string{}})
					if err != nil {
						t.Error(err)
					}
					results[i] = res
				})
			}
			wg.Wait()
			scheduledBy := map[int64]bool{}
			for c := range clicks {
				first, second := results[2*c], results[2*c+1]
				if first.EventID == 0 || first.EventID != second.EventID || first.Outcome != second.Outcome || first.Duplicate == second.Duplicate {
					t.Errorf("click-%d: deliveries answered %+v and %+v; want one stored event, the other a duplicate of it", c, first, second)
				}
				if first.Outcome == urltracker.OutcomeCheckScheduled {
					scheduledBy[first.EventID] = true
				}
			}
			if len(scheduledBy) != 1 {
				t.Errorf("%d stored events say check_scheduled, want 1", len(scheduledBy))
			}
			var jobs int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'check_offer'`).Scan(&jobs); err != nil {
				t.Fatal(err)
			}
			if jobs != 1 {
				t.Errorf("%d check jobs enqueued, want 1", jobs)
			}
			got, err := db.Offer(ctx, rec.ID)
			if err != nil || got.Stats.WebhookCount != clicks {
				t.Errorf("webhook_count %d, %v; want %d", got.Stats.WebhookCount, err, clicks)
			}
		})
	}
}
