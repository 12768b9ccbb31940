package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// openTestDB opens a migrated database of this test alone on backend (see
// testutil.DatabaseURL).
func openTestDB(t testing.TB, backend string) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, testutil.DatabaseURL(t, backend))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestHealthStateAndActionsLog(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			db := openTestDB(t, backend)
			ctx := context.Background()
			offer, err := db.CreateOffer(ctx, urltracker.Offer{Name: "o", URL: "https://x.example/", UpdateIntervalSeconds: 60, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			if h, err := db.Health(ctx, offer.ID); err != nil || h.State != urltracker.StateActive || h.ConsecutiveFailures != 0 {
				t.Fatalf("health of a new offer = %+v, %v", h, err)
			}
			err = db.InTx(ctx, func(tx *sql.Tx) error {
				on, err := db.KillSwitchTx(ctx, tx)
				if err != nil || !on {
					return fmt.Errorf("kill switch = %v, %v; want on", on, err)
				}
				h, err := db.HealthForUpdateTx(ctx, tx, offer.ID)
				if err != nil {
					return err
				}
				h.ConsecutiveFailures, h.State, h.LastVerdict = 3, urltracker.StateHeld, urltracker.VerdictBroken
				return db.SaveHealthTx(ctx, tx, h)
			})
			if err != nil {
				t.Fatal(err)
			}
			h, err := db.Health(ctx, offer.ID)
			if err != nil || h.ConsecutiveFailures != 3 || h.State != urltracker.StateHeld || h.LastVerdict != urltracker.VerdictBroken {
				t.Fatalf("saved health = %+v, %v", h, err)
			}

			var swapped, again bool
			next := time.Now().Add(5 * time.Second).UTC().Truncate(time.Microsecond)
			err = db.InTx(ctx, func(tx *sql.Tx) error {
				if swapped, err = db.SwapHealthStateTx(ctx, tx, offer.ID, urltracker.StateHeld, urltracker.StateActive); err != nil {
					return err
				}
				if again, err = db.SwapHealthStateTx(ctx, tx, offer.ID, urltracker.StateHeld, urltracker.StateActive); err != nil {
					return err
				}
				for i, a := range []urltracker.Action{
					{OfferID: offer.ID, CheckID: 9, JobID: 4, Kind: urltracker.ActionPause, Attempt: 1, At: time.Now(),
						Outcome: urltracker.ActionRetrying, StatusCode: 503, Error: "Trackier API answered 503", DurationMS: 12,
						Request: json.RawMessage(`{"method":"POST","body":"{\"status\":\"paused\"}"}`), NextAttemptAt: &next},
					{OfferID: offer.ID, JobID: 4, Kind: urltracker.ActionPause, Attempt: 2, At: time.Now(),
						Outcome: urltracker.ActionSucceeded, Success: true, StatusCode: 200},
				} {
					if err := db.RecordActionTx(ctx, tx, &a); err != nil || a.ID == 0 {
						return fmt.Errorf("record %d: id %d, %v", i, a.ID, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !swapped || again {
				t.Errorf("swap = %v then %v, want true then false", swapped, again)
			}
			actions, err := db.Actions(ctx, offer.ID, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(actions) != 2 || actions[0].Attempt != 2 || !actions[0].Success || string(actions[0].Request) != "{}" ||
				actions[1].CheckID != 9 || actions[1].NextAttemptAt == nil || !actions[1].NextAttemptAt.Equal(next) ||
				actions[1].StatusCode != 503 || actions[1].Outcome != urltracker.ActionRetrying {
				t.Errorf("actions = %+v", actions)
			}
			var req map[string]string
			if err := json.Unmarshal(actions[1].Request, &req); err != nil || req["body"] != `{"status":"paused"}` {
				t.Errorf("request = %s, %v", actions[1].Request, err)
			}
			if err := db.DeleteOffer(ctx, offer.ID, Actor{Instance: "test"}); err != nil {
				t.Fatal(err)
			}
			if actions, _ := db.Actions(ctx, offer.ID, 10); len(actions) != 0 {
				t.Errorf("actions of a deleted offer remain: %+v", actions)
			}
		})
	}
}
