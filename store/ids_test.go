package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// TestIDsAreNeverReused deletes the newest row of every table with a
// generated id and inserts another: the new row must get a new id. A reused
// offer id once let a deleted offer's pending action change another offer's
// Trackier campaign.
func TestIDsAreNeverReused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		keep := createOffer(t, db, "kept")
		n := 0
		tables := []struct {
			table  string
			insert func() int64
		}{
			{"offers", func() int64 {
				n++
				return createOffer(t, db, fmt.Sprint("offer-", n)).ID
			}},
			{"events", func() int64 {
				var id int64
				inTx(t, db, func(tx *sql.Tx) (err error) {
					id, _, err = db.InsertEventTx(ctx, tx, urltracker.Event{OfferID: keep.ID, ReceivedAt: time.Now(),
						Payload: map[string]string{}, Outcome: urltracker.OutcomeCheckScheduled})
					return err
				})
				return id
			}},
			{"checks", func() int64 {
				c := urltracker.Check{OfferID: keep.ID, StartedAt: time.Now(), Verdict: urltracker.VerdictHealthy}
				if err := db.SaveCheck(ctx, &c); err != nil {
					t.Fatal(err)
				}
				return c.ID
			}},
			{"actions", func() int64 {
				a := urltracker.Action{OfferID: keep.ID, JobID: 1, Kind: urltracker.ActionAlert, Attempt: 1, At: time.Now(),
					Outcome: urltracker.ActionSucceeded, Success: true}
				inTx(t, db, func(tx *sql.Tx) error { return db.RecordActionTx(ctx, tx, &a) })
				return a.ID
			}},
			{"audit_log", func() int64 {
				if _, err := db.SetKillSwitch(ctx, n%2 == 0, store.Actor{Instance: "test"}, ""); err != nil {
					t.Fatal(err)
				}
				n++
				var id int64
				if err := db.SQL().QueryRowContext(ctx, `SELECT MAX(id) FROM audit_log`).Scan(&id); err != nil {
					t.Fatal(err)
				}
				return id
			}},
		}
		for _, tt := range tables {
			tt.insert()
			newest := tt.insert()
			if _, err := db.SQL().ExecContext(ctx, fmt.Sprintf(`DELETE FROM %s WHERE id = %d`, tt.table, newest)); err != nil {
				t.Fatal(err)
			}
			if next := tt.insert(); next <= newest {
				t.Errorf("%s: after deleting row %d the next row got id %d; a deleted id was handed out again", tt.table, newest, next)
			}
		}
	})
}

func inTx(t *testing.T, db *store.DB, fn func(tx *sql.Tx) error) {
	t.Helper()
	if err := db.InTx(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}
