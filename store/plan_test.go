package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

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
	index string
}

var hotStatements = []hotStatement{
	{name: "webhook insert", query: insertEventSQL, args: []any{1, 1, "click-1", "camp-1", "{}", "check_scheduled"}},
	{name: "duplicate click lookup", query: eventByClickSQL, args: []any{1, "click-1"}, index: "events_offer_click"},
	{name: "webhook counters", query: countWebhooksSQL, args: []any{1, 1, 1, 1}},
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
			db, err := Open(ctx, testutil.DatabaseURL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, st := range hotStatements {
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
