package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

func TestPruneDeletesExactlyWhatRetentionDoesNotKeep(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
			db := openDB(t, backend, store.WithClock(func() time.Time { return now }))
			const maxAge = 24 * time.Hour
			cutoff := now.Add(-maxAge)

			offerA := retentionOffer(t, db, "a")
			offerB := retentionOffer(t, db, "b")

			// Events: 20 well past the retention (three batches of 7), some
			// right around the cutoff, some recent, for both offers.
			var wantEvents []string
			for i := range 20 {
				retentionEvent(t, db, offerA, fmt.Sprintf("old-%d", i), cutoff.Add(-time.Duration(i+1)*time.Hour))
			}
			retentionEvent(t, db, offerB, "just-too-old", cutoff.Add(-time.Microsecond))
			for _, e := range []struct {
				offer int64
				click string
				at    time.Time
			}{
				{offerA, "at-cutoff", cutoff},
				{offerB, "just-new-enough", cutoff.Add(time.Microsecond)},
				{offerA, "an-hour-ago", now.Add(-time.Hour)},
				{offerB, "now", now},
			} {
				retentionEvent(t, db, e.offer, e.click, e.at)
				wantEvents = append(wantEvents, e.click)
			}

			// Checks: offer A has 25 (keeps its newest 10), offer B has 3
			// (keeps all). Offer A's checks are old and B's recent: count,
			// not age, decides.
			var checksA, checksB []int64
			for i := range 25 {
				checksA = append(checksA, retentionCheck(t, db, offerA, cutoff.Add(-time.Duration(100-i)*time.Hour)))
			}
			for range 3 {
				checksB = append(checksB, retentionCheck(t, db, offerB, now))
			}
			// Actions: offer A has 12 (keeps 10), offer B has 1.
			var actionsA []int64
			for range 12 {
				actionsA = append(actionsA, retentionAction(t, db, offerA, now))
			}
			actionB := retentionAction(t, db, offerB, now)

			deleted, err := db.Prune(ctx, store.RetentionPolicy{MaxAge: maxAge, KeepPerOffer: 10, BatchSize: 7})
			if err != nil {
				t.Fatal(err)
			}
			if deleted["events"] != 21 || deleted["checks"] != 15 || deleted["actions"] != 2 {
				t.Errorf("deleted %v, want 21 events, 15 checks and 2 actions", deleted)
			}

			var gotEvents []string
			for _, offer := range []int64{offerA, offerB} {
				events, err := db.Events(ctx, offer, 1000)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range events {
					gotEvents = append(gotEvents, e.ClickID)
				}
			}
			slices.Sort(gotEvents)
			slices.Sort(wantEvents)
			if !slices.Equal(gotEvents, wantEvents) {
				t.Errorf("events kept: %v\nwant:        %v", gotEvents, wantEvents)
			}
			if got := retentionCheckIDs(t, db, offerA); !slices.Equal(got, checksA[15:]) {
				t.Errorf("offer A checks kept: %v, want the newest 10: %v", got, checksA[15:])
			}
			if got := retentionCheckIDs(t, db, offerB); !slices.Equal(got, checksB) {
				t.Errorf("offer B checks kept: %v, want all: %v", got, checksB)
			}

			if got := retentionActionIDs(t, db, offerA); !slices.Equal(got, actionsA[2:]) {
				t.Errorf("offer A actions kept: %v, want the newest 10: %v", got, actionsA[2:])
			}
			if got := retentionActionIDs(t, db, offerB); !slices.Equal(got, []int64{actionB}) {
				t.Errorf("offer B actions kept: %v, want %d", got, actionB)
			}

			// A second pass finds nothing more to delete.
			deleted, err = db.Prune(ctx, store.RetentionPolicy{MaxAge: maxAge, KeepPerOffer: 10, BatchSize: 7})
			if err != nil || deleted["events"] != 0 || deleted["checks"] != 0 || deleted["actions"] != 0 {
				t.Errorf("second pass deleted %v (err %v), want nothing", deleted, err)
			}
		})
	}
}

func retentionOffer(t *testing.T, db *store.DB, name string) int64 {
	t.Helper()
	rec, err := db.CreateOffer(context.Background(), urltracker.Offer{
		Name: name, URL: "http://127.0.0.1:1/" + name, UpdateIntervalSeconds: 60, Enabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec.ID
}

func retentionEvent(t *testing.T, db *store.DB, offerID int64, clickID string, at time.Time) {
	t.Helper()
	e := urltracker.Event{
		OfferID: offerID, ReceivedAt: at, ClickID: clickID, Payload: map[string]string{"click_id": clickID},
		Outcome: urltracker.OutcomeDebounced,
	}
	// InsertEventTx prepares its statement outside the transaction on first
	// use, which waits forever for SQLite's one connection inside InTx; a
	// token lookup prepares it first, as the webhook handler does.
	_, _ = db.OfferByToken(context.Background(), "warm-up")
	err := db.InTx(context.Background(), func(tx *sql.Tx) error {
		_, _, err := db.InsertEventTx(context.Background(), tx, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func retentionCheck(t *testing.T, db *store.DB, offerID int64, at time.Time) int64 {
	t.Helper()
	c := urltracker.Check{OfferID: offerID, StartedAt: at, Verdict: urltracker.VerdictHealthy, Success: true, Chain: []urltracker.Hop{}}
	if err := db.SaveCheck(context.Background(), &c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// retentionCheckIDs lists an offer's check ids, oldest first.
func retentionCheckIDs(t *testing.T, db *store.DB, offerID int64) []int64 {
	t.Helper()
	checks, err := db.Checks(context.Background(), offerID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range checks {
		ids = append(ids, c.ID)
	}
	slices.Reverse(ids)
	return ids
}

func retentionAction(t *testing.T, db *store.DB, offerID int64, at time.Time) int64 {
	t.Helper()
	a := urltracker.Action{OfferID: offerID, Kind: urltracker.ActionAlert, At: at, Outcome: urltracker.ActionSucceeded, Success: true, Attempt: 1}
	err := db.InTx(context.Background(), func(tx *sql.Tx) error { return db.RecordActionTx(context.Background(), tx, &a) })
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

// retentionActionIDs lists an offer's action ids, oldest first.
func retentionActionIDs(t *testing.T, db *store.DB, offerID int64) []int64 {
	t.Helper()
	actions, err := db.Actions(context.Background(), offerID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, a := range actions {
		ids = append(ids, a.ID)
	}
	slices.Reverse(ids)
	return ids
}
