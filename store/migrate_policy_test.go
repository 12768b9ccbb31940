package store

import (
	"context"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// TestPolicyMigrationKeepsExistingOffersActing builds the schema as it was
// before the policy migration, stores an offer and a campaign urltracker had
// paused the old way, applies the migration and reads them back.
func TestPolicyMigrationKeepsExistingOffersActing(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, testutil.DatabaseURL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			ms, err := Migrations()
			if err != nil {
				t.Fatal(err)
			}
			exec := func(query string, args ...any) {
				t.Helper()
				if _, err := db.sql.ExecContext(ctx, db.q(query), args...); err != nil {
					t.Fatalf("%.60s…: %v", query, err)
				}
			}
			var policyMigration string
			var later []Migration // read back with today's code, so migrated to today's schema
			for i, m := range ms {
				if strings.HasSuffix(m.Name, "_policy.sql") {
					policyMigration, later = m.SQL, ms[i+1:]
					break
				}
				exec(db.dialectSQL(m.SQL))
			}
			old := `{"pause_after_failures":2,"resume_after_successes":1,"update_destination":false,"destination_params":null,"alert_url":""}`
			exec(`INSERT INTO offers (name, url, update_interval_seconds, enabled, trackier_api_base_url, trackier_api_key,
				trackier_campaign_id, policy, created_at, updated_at) VALUES ('held', 'https://a.example/', 300, TRUE,
				'https://api.trackier.com', 'k', '101', ?, 1, 1)`, old)
			exec(`INSERT INTO offers (name, url, update_interval_seconds, enabled, policy, created_at, updated_at)
				VALUES ('bare', 'https://b.example/', 300, FALSE, '{}', 1, 1)`)
			exec(`INSERT INTO offer_counters (offer_id, last_check_at) VALUES (1, 5000000)`)
			exec(`INSERT INTO offer_health (offer_id, state, consecutive_failures, last_verdict, updated_at)
				VALUES (1, 'paused_by_urltracker', 2, 'broken', 7000000)`)

			exec(policyMigration)
			for _, m := range later {
				exec(db.dialectSQL(m.SQL))
			}

			held, err := db.Offer(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			p := held.Policy
			if p.Mode != urltracker.ModeAct || p.PauseAfterFailures != 2 || p.ResumeAfterSuccesses != 1 ||
				p.HoldStatus != urltracker.HoldDisabled || p.ConfirmAfterSeconds != 0 || held.CheckEverySeconds != 3600 {
				t.Errorf("existing offer after the migration: %+v, check every %d; want it acting as before, holding with disabled from now on",
					p, held.CheckEverySeconds)
			}
			h, err := db.Health(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if h.State != urltracker.StateHeld || h.HoldStatus != urltracker.HoldPaused || h.HoldObserved ||
				h.ConsecutiveFailures != 2 || h.HeldAt == nil || h.HeldAt.UnixMicro() != 7000000 {
				t.Errorf("campaign paused before the migration: %+v; want held with the status it was paused with", h)
			}
			bare, err := db.Offer(ctx, 2)
			if err != nil {
				t.Fatal(err)
			}
			if bare.Policy.Mode != urltracker.ModeAct {
				t.Errorf("existing offer without a policy: mode %q, want act", bare.Policy.Mode)
			}
			var next1, next2 *int64
			if err := db.sql.QueryRowContext(ctx, `SELECT (SELECT next_check_at FROM offers WHERE id = 1), (SELECT next_check_at FROM offers WHERE id = 2)`).Scan(&next1, &next2); err != nil {
				t.Fatal(err)
			}
			if next1 == nil || *next1 != 5000000+3600000000 || next2 != nil {
				t.Errorf("next checks = %v, %v; want an hour after the last check for the enabled offer, none for the disabled one", next1, next2)
			}
		})
	}
}
