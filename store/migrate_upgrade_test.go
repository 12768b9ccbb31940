package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
)

// TestSQLiteUpgradeKeepsRowsAndRetiresDeletedIDs migrates a SQLite database
// of the previous release (migrations 1–3) that holds data, including a
// deleted newest offer: the rebuild keeps every row and every reference, and
// a new offer gets neither the deleted offer's id nor a reused one later.
func TestSQLiteUpgradeKeepsRowsAndRetiresDeletedIDs(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "old.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// The previous release: its three migrations, with its plain INTEGER
	// PRIMARY KEY.
	conn, release, err := db.migrationConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,
		checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms[:3] {
		m.SQL = strings.ReplaceAll(m.SQL, "{{pk}}", "INTEGER PRIMARY KEY")
		if err := db.applyMigration(ctx, conn, m); err != nil {
			t.Fatal(err)
		}
	}
	release()

	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.sql.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for id := 1; id <= 3; id++ {
		exec(`INSERT INTO offers (id, name, url, update_interval_seconds, enabled, created_at, updated_at) VALUES (?, ?, 'https://x.example/', 300, TRUE, 1, 1)`, id, "offer-"+string(rune('0'+id)))
		exec(`INSERT INTO offer_counters (offer_id, webhook_count) VALUES (?, 7)`, id)
		exec(`INSERT INTO webhook_tokens (token, offer_id, created_at) VALUES (?, ?, 1)`, "tok-"+string(rune('0'+id)), id)
		exec(`INSERT INTO offer_health (offer_id, updated_at) VALUES (?, 1)`, id)
		exec(`INSERT INTO events (offer_id, received_at, click_id, payload, outcome) VALUES (?, 1, 'c', '{}', 'debounced')`, id)
		exec(`INSERT INTO checks (offer_id, started_at, duration_ms, success, verdict, chain) VALUES (?, 1, 1, TRUE, 'healthy', '[]')`, id)
		exec(`INSERT INTO actions (offer_id, job_id, kind, attempt, at, outcome, success) VALUES (?, 1, 'pause', 1, 1, 'succeeded', TRUE)`, id)
	}
	// The newest offer is deleted before the upgrade, as DeleteOffer does.
	exec(`DELETE FROM offers WHERE id = 3`)
	exec(`INSERT INTO audit_log (at, instance, action, detail) VALUES (1, 'old', 'offer_deleted', '{"offer_id":3,"name":"offer-3"}')`)

	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for table, want := range map[string]int{"offers": 2, "offer_counters": 2, "webhook_tokens": 2, "offer_health": 2,
		"events": 2, "checks": 2, "actions": 2, "audit_log": 1} {
		var n int
		if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s holds %d rows after the upgrade, want %d", table, n, want)
		}
	}
	// Foreign keys are back on and still cascade.
	if err := db.DeleteOffer(ctx, 2, Actor{Instance: "test"}); err != nil {
		t.Fatal(err)
	}
	var events int
	if err := db.sql.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE offer_id = 2`).Scan(&events); err != nil || events != 0 {
		t.Errorf("events of a deleted offer after the upgrade: %d (%v), want 0", events, err)
	}
	o, err := db.CreateOffer(ctx, urltracker.Offer{Name: "after-upgrade", URL: "https://x.example/", UpdateIntervalSeconds: 300, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if o.ID <= 3 {
		t.Errorf("the first offer after the upgrade got id %d, which a deleted offer had", o.ID)
	}
}
