package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// hotStatement is one statement that runs many times a second, with
// arguments to plan it with.
type hotStatement struct {
	name  string
	query string
	args  []any
	// index, when set, must appear in the plan: reading some other index
	// may still read every row of an offer.
	index    string
	postgres bool // a statement of PostgreSQL's alone
}

var hotStatements = []hotStatement{
	{name: "webhook insert", query: insertEventSQL, args: []any{1, 1, "click-1", "camp-1", "{}", "check_scheduled"}},
	{name: "webhook insert (SQLite)", query: insertEventSQLiteSQL, args: []any{1, 1, "click-1", "camp-1", "{}", "check_scheduled"}},
	{name: "duplicate click lookup", query: eventByClickSQL, args: []any{1, "click-1"}, index: "events_offer_click"},
	{name: "webhook counters", query: countWebhooksSQL, args: []any{1, 1, 1, 1}},
	{name: "webhook batch", query: writeEventsPostgresSQL, postgres: true,
		args: []any{"{1,2}", "{1,1}", "{click-1,click-2}", "{camp-1,camp-1}", `{"{}","{}"}`, "{check_scheduled,debounced}"}},
	{name: "token lookup", query: offerByTokenSQL, args: []any{"token-1"}},
	{name: "due offers", query: dueOffersSQL, args: []any{1, 100}, index: "offers_next_check_at"},
	{name: "status: active offers", query: activeOffersSQL, args: []any{true}},
	{name: "status: kill switch", query: killSwitchSQL},
	{name: "status: webhooks of the last hour", query: webhooksSinceSQL, args: []any{1}, index: "events_received_at"},
	{name: "status: checks of the last hour", query: checksSinceSQL, args: []any{"healthy", "blocked", "refused", 1}, index: "checks_started_at"},
}

// TestHotStatementsUseIndexes fails when a hot statement would read a whole
// table: with a million events in one offer, such a statement on the single
// SQLite writer throttles every webhook behind it.
func TestHotStatementsUseIndexes(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := openTestDB(t, backend)
			for _, st := range hotStatements {
				if st.postgres && db.dialect != Postgres {
					continue
				}
				plan, err := db.explain(ctx, st)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				if scan := fullScan(db.dialect, plan); scan != "" {
					t.Errorf("%s reads a whole table (%s); plan:\n%s", st.name, scan, plan)
				}
				if st.index != "" && !strings.Contains(plan, st.index) {
					t.Errorf("%s does not use the index %s; plan:\n%s", st.name, st.index, plan)
				}
			}
		})
	}
}

// fullScan returns the line of plan that reads a whole table or index, or "".
func fullScan(dialect Dialect, plan string) string {
	for _, line := range strings.Split(plan, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case dialect == SQLite && strings.HasPrefix(line, "SCAN "),
			dialect == Postgres && strings.Contains(line, "Seq Scan"):
			return line
		}
	}
	return ""
}

// explain returns the plan of a hot statement as the database would run it.
// On PostgreSQL that is the generic plan of a prepared statement (what the
// webhook path runs after a few calls), with sequential scans discouraged so
// that a tiny test table still shows whether an index can serve the query.
func (db *DB) explain(ctx context.Context, st hotStatement) (string, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	var lines []string
	if db.dialect == SQLite {
		rows, err := conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+st.query, st.args...)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		for rows.Next() {
			var id, parent, notUsed int
			var detail string
			if err := rows.Scan(&id, &parent, &notUsed, &detail); err != nil {
				return "", err
			}
			lines = append(lines, detail)
		}
		return strings.Join(lines, "\n"), rows.Err()
	}
	for _, s := range []string{"SET enable_seqscan = off", "SET plan_cache_mode = force_generic_plan", "PREPARE hot AS " + db.q(st.query)} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return "", fmt.Errorf("%s: %w", s, err)
		}
	}
	defer conn.ExecContext(ctx, "DEALLOCATE hot; RESET ALL")
	literals := make([]string, len(st.args))
	for i, a := range st.args {
		switch a := a.(type) {
		case string:
			literals[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
		case bool:
			literals[i] = strconv.FormatBool(a)
		default:
			literals[i] = fmt.Sprint(a)
		}
	}
	execute := "EXPLAIN EXECUTE hot"
	if len(literals) > 0 {
		execute += "(" + strings.Join(literals, ", ") + ")"
	}
	rows, err := conn.QueryContext(ctx, execute)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// BenchmarkDuplicateWebhook measures what a redelivered click costs the
// writer with a million events stored in its offer: the insert that finds
// the conflict, then the lookup that answers it, through the lookup before
// issue 13 (which read every event of the offer) and the one now.
//
//	go test ./store -run '^$' -bench DuplicateWebhook -benchtime 200x
func BenchmarkDuplicateWebhook(b *testing.B) {
	const stored = 1_000_000
	for _, backend := range testutil.Backends {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			db := openTestDB(b, backend)
			offer, err := db.CreateOffer(ctx, urltracker.Offer{Name: "busy", URL: "https://offer.example/", UpdateIntervalSeconds: 300, Enabled: true})
			if err != nil {
				b.Fatal(err)
			}
			fill := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
				INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
				SELECT ?, i, 'click-' || i, '', '{}', 'debounced' FROM n`
			args := []any{stored, offer.ID}
			if backend == "postgres" {
				fill = `INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
					SELECT $1, i, 'click-' || i, '', '{}', 'debounced' FROM generate_series(1, $2) i`
				args = []any{offer.ID, stored}
			}
			if _, err := db.sql.ExecContext(ctx, fill, args...); err != nil {
				b.Fatal(err)
			}
			if backend == "postgres" {
				if _, err := db.sql.ExecContext(ctx, "ANALYZE events"); err != nil {
					b.Fatal(err)
				}
			}
			// The newest click: the old lookup reads the offer's events in
			// id order, so this is its worst case and a retry's usual one.
			e := urltracker.Event{OfferID: offer.ID, ReceivedAt: time.Now(), ClickID: fmt.Sprintf("click-%d", stored), Payload: map[string]string{}}
			for _, variant := range []struct{ name, lookup string }{
				{"before", `SELECT id, outcome FROM events WHERE offer_id = ? AND click_id = ?`},
				{"after", eventByClickSQL},
			} {
				b.Run(variant.name, func(b *testing.B) {
					lookup, err := db.sql.PrepareContext(ctx, db.q(variant.lookup))
					if err != nil {
						b.Fatal(err)
					}
					defer lookup.Close()
					for b.Loop() {
						var dup bool
						err := db.InTx(ctx, func(tx *sql.Tx) error {
							_, dup, err = db.EventWriter(ctx, tx).Insert(ctx, e, nil)
							return err
						})
						if err != nil || !dup {
							b.Fatalf("insert of a stored click: duplicate %t, %v", dup, err)
						}
						var id int64
						var outcome string
						if err := lookup.QueryRowContext(ctx, e.OfferID, e.ClickID).Scan(&id, &outcome); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}
