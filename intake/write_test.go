package intake

import (
	"context"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// TestBatchLedByARedelivery writes one batch whose first webhook for an
// offer redelivers a click stored before (by another instance, or in an
// earlier period) and whose second is a new click: the new click schedules
// the offer's check, exactly one job is enqueued, and the redelivery is
// answered as a duplicate.
func TestBatchLedByARedelivery(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			in, db := OpenTestIntake(t, testutil.DatabaseURL(t, backend))
			rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: "led", URL: "https://offers.example.com/l", UpdateIntervalSeconds: 30 * 24 * 3600, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			old := urltracker.Event{OfferID: rec.ID, ReceivedAt: time.Now(), ClickID: "old", Payload: map[string]string{}, Outcome: urltracker.OutcomeDebounced}
			if _, err := db.WriteEvents(ctx, nil, []store.NewEvent{{Event: old}}); err != nil {
				t.Fatal(err)
			}
			req := func(click string) *ingestRequest {
				e := urltracker.Event{OfferID: rec.ID, ReceivedAt: time.Now(), ClickID: click, Payload: map[string]string{}}
				return &ingestRequest{ctx: ctx, offer: rec.Offer, event: e, payload: []byte(`{}`), reply: make(chan ingestReply, 1)}
			}
			results, _, err := in.write(ctx, []*ingestRequest{req("old"), req("new")})
			if err != nil {
				t.Fatal(err)
			}
			if !results[0].Duplicate {
				t.Errorf("redelivered click: %+v, want a duplicate", results[0])
			}
			if results[1].Duplicate || results[1].Outcome != urltracker.OutcomeCheckScheduled {
				t.Errorf("new click: %+v, want stored with check_scheduled", results[1])
			}
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'check_offer'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%d check jobs enqueued, want 1", n)
			}
			events, err := db.Events(ctx, rec.ID, 10)
			if err != nil || len(events) != 2 || events[0].ClickID != "new" || events[0].Outcome != urltracker.OutcomeCheckScheduled {
				t.Errorf("stored events %+v, %v; want the new click stored with check_scheduled", events, err)
			}
		})
	}
}

// TestInstancesNeverDeadlockOnRedeliveredClicks: Trackier may redeliver the
// same clicks to two instances, which then write them in batches at once.
// Each batch took the events' unique keys in arrival order, so instance A
// writing [y, x] while B wrote [x, y] waited for each other in a cycle, and
// PostgreSQL failed one batch after its deadlock timeout. Batches now take
// them in (offer, click id) order. Here B is a transaction following that
// order, caught between its two clicks while A writes its batch.
func TestInstancesNeverDeadlockOnRedeliveredClicks(t *testing.T) {
	ctx := context.Background()
	in, db := OpenTestIntake(t, testutil.DatabaseURL(t, "postgres"))
	rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: "redelivered", URL: "https://offers.example.com/r", UpdateIntervalSeconds: 60, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	other, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	insert := func(click string) error {
		_, err := other.ExecContext(ctx, `INSERT INTO events (offer_id, received_at, click_id, payload, outcome)
			VALUES ($1, 1, $2, '{}', 'debounced') ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING`, rec.ID, click)
		return err
	}
	if err := insert("x"); err != nil {
		t.Fatal(err)
	}

	req := func(click string) *ingestRequest {
		e := urltracker.Event{OfferID: rec.ID, ReceivedAt: time.Now(), ClickID: click, Payload: map[string]string{}}
		return &ingestRequest{ctx: ctx, offer: rec.Offer, event: e, payload: []byte(`{}`), reply: make(chan ingestReply, 1)}
	}
	type written struct {
		results []store.IngestResult
		err     error
	}
	done := make(chan written, 1)
	go func() {
		results, _, err := in.write(ctx, []*ingestRequest{req("y"), req("x")})
		done <- written{results, err}
	}()
	// Wait until A's batch waits for B's click x.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%unnest%'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("A's batch never waited for B's click")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := insert("y"); err != nil {
		t.Errorf("B's second click: %v, want stored (A must not hold it while waiting for B)", err)
	}
	if err := other.Commit(); err != nil {
		t.Fatal(err)
	}
	w := <-done
	if w.err != nil {
		t.Fatalf("A's batch: %v, want written", w.err)
	}
	for i, r := range w.results {
		if !r.Duplicate {
			t.Errorf("A's webhook %d: %+v, want a duplicate of B's stored click", i, r)
		}
	}
}
