package store

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

func TestDashboardQueries(t *testing.T) {
	for dialect, db := range actionsTestDBs(t) {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()

			// The first stored value wins, on every later call and instance.
			first, err := db.EnsureSetting(ctx, "k", "one")
			if err != nil || first != "one" {
				t.Fatalf("EnsureSetting = %q, %v", first, err)
			}
			if again, err := db.EnsureSetting(ctx, "k", "two"); err != nil || again != "one" {
				t.Errorf("second EnsureSetting = %q, %v; want the stored one", again, err)
			}

			a, err := db.CreateOffer(ctx, urltracker.Offer{Name: "a", URL: "http://a.example/", UpdateIntervalSeconds: 60, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			b, err := db.CreateOffer(ctx, urltracker.Offer{Name: "b", URL: "http://b.example/", UpdateIntervalSeconds: 60, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			for _, id := range []int64{a.ID, b.ID} {
				c := urltracker.Check{OfferID: id, StartedAt: now, Verdict: urltracker.VerdictHealthy, Success: true, Chain: []urltracker.Hop{}}
				if err := db.SaveCheck(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			checks, err := db.RecentChecks(ctx, 10)
			if err != nil || len(checks) != 2 || checks[0].OfferName != "b" || checks[1].OfferName != "a" || checks[0].OfferID != b.ID {
				t.Errorf("RecentChecks = %+v, %v; want b's then a's", checks, err)
			}

			err = db.InTx(ctx, func(tx *sql.Tx) error {
				for _, act := range []urltracker.Action{
					{OfferID: a.ID, Kind: urltracker.ActionPause, At: now, Outcome: urltracker.ActionSucceeded, Success: true, StatusCode: 200},
					{OfferID: b.ID, Kind: urltracker.ActionAlert, At: now, Outcome: urltracker.ActionFailed, Error: "boom"},
				} {
					if err := db.RecordActionTx(ctx, tx, &act); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			actions, err := db.RecentActions(ctx, 10)
			if err != nil || len(actions) != 2 || actions[0].OfferName != "b" || actions[0].Error != "boom" ||
				actions[1].OfferName != "a" || actions[1].Kind != urltracker.ActionPause || actions[1].StatusCode != 200 {
				t.Errorf("RecentActions = %+v, %v", actions, err)
			}

			if _, err := db.OfferByToken(ctx, a.WebhookToken); err != nil { // prepares the hot statements
				t.Fatal(err)
			}
			err = db.InTx(ctx, func(tx *sql.Tx) error {
				for i, at := range []time.Time{now.Add(-2 * time.Hour), now.Add(-time.Minute), now} {
					e := urltracker.Event{OfferID: a.ID, ReceivedAt: at, ClickID: string(rune('x' + i)), Payload: map[string]string{}, Outcome: urltracker.OutcomeDebounced}
					if _, _, err := db.InsertEventTx(ctx, tx, e); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			counts, err := db.WebhooksSinceByOffer(ctx, now.Add(-time.Hour))
			if err != nil || counts[a.ID] != 2 || len(counts) != 1 {
				t.Errorf("WebhooksSinceByOffer = %v, %v; want 2 for offer a only", counts, err)
			}
		})
	}
}
