package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The hot statements: those of the webhook path, the scheduler tick and the
// status endpoint, which run many times a second however large the tables
// grow. Each must read an index, never a whole table; plan_test.go checks
// every one with EXPLAIN on both databases.
const (
	insertEventSQL = `INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING RETURNING id`
	// insertEventSQLiteSQL is insertEventSQL without RETURNING: SQLite
	// gathers RETURNING rows in an ephemeral table and a statement journal
	// opened for each row, which cost a fifth of the insert; the id and
	// whether a row went in come from last_insert_rowid() and changes().
	insertEventSQLiteSQL = `INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING`
	countWebhooksSQL = `UPDATE offer_counters SET webhook_count = webhook_count + ?,
		last_webhook_at = CASE WHEN last_webhook_at IS NULL OR last_webhook_at < ? THEN ? ELSE last_webhook_at END
		WHERE offer_id = ?`
	// writeEventsPostgresSQL stores a batch of events in one statement (see
	// DB.WriteEvents): ids are drawn first so that each stored row can be
	// told back by its position in the batch (RETURNING promises no order),
	// and the counters of the offers with stored rows are locked in offer
	// order, so that two instances' batches never wait for each other in a
	// cycle, then updated.
	writeEventsPostgresSQL = `WITH src AS (
			SELECT nextval(pg_get_serial_sequence('events', 'id')) AS id, u.*
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY
				AS u (offer_id, received_at, click_id, campaign_id, payload, outcome, ord)
		), ins AS (
			INSERT INTO events (id, offer_id, received_at, click_id, campaign_id, payload, outcome)
			SELECT id, offer_id, received_at, click_id, campaign_id, payload, outcome FROM src ORDER BY ord
			ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING
			RETURNING id, offer_id, received_at
		), agg AS (
			SELECT offer_id, count(*) AS n, max(received_at) AS last FROM ins GROUP BY offer_id
		), locked AS (
			SELECT c.offer_id FROM offer_counters c WHERE c.offer_id IN (SELECT offer_id FROM agg)
			ORDER BY c.offer_id FOR UPDATE
		), counted AS (
			UPDATE offer_counters c SET webhook_count = c.webhook_count + agg.n,
				last_webhook_at = GREATEST(c.last_webhook_at, agg.last)
			FROM agg JOIN locked USING (offer_id) WHERE c.offer_id = agg.offer_id
		)
		SELECT src.ord, ins.id FROM ins JOIN src USING (id)`
	offerByTokenSQL = `SELECT ` + offerColumns + offerFrom + ` JOIN webhook_tokens wt ON wt.offer_id = o.id WHERE wt.token = ?`
	// The repeated "click_id <> ''" is what lets both databases use the
	// partial unique index events_offer_click: a planner uses a partial
	// index only when the query implies its WHERE clause, and "click_id = ?"
	// alone does not (the parameter might be ''). Without it the lookup read
	// every event of the offer.
	eventByClickSQL = `SELECT id, outcome FROM events WHERE offer_id = ? AND click_id = ? AND click_id <> ''`
	dueOffersSQL    = `SELECT id, update_interval_seconds FROM offers
		WHERE next_check_at <= ? AND enabled ORDER BY next_check_at LIMIT ?`
	activeOffersSQL  = `SELECT COUNT(*) FROM offers WHERE enabled = ?`
	killSwitchSQL    = `SELECT enabled FROM kill_switch WHERE id = 1`
	webhooksSinceSQL = `SELECT COUNT(*) FROM events WHERE received_at >= ?`
	checksSinceSQL   = `SELECT COUNT(*),
		COALESCE(SUM(CASE WHEN verdict = ? THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN verdict NOT IN (?, ?) THEN 1 ELSE 0 END), 0)
		FROM checks WHERE started_at >= ?`
)

// insertEventStatement is the statement that stores one webhook event.
func (db *DB) insertEventStatement() string {
	if db.dialect == SQLite {
		return insertEventSQLiteSQL
	}
	return insertEventSQL
}

// stmts are the hot-path statements, prepared once by Migrate.
type stmts struct {
	insertEvent   *sql.Stmt
	countWebhooks *sql.Stmt
	offerByToken  *sql.Stmt
}

// prepareHot prepares the hot-path statements. Migrate calls it once the
// tables exist; it must run outside any transaction, since on SQLite a
// transaction holds the only connection.
func (db *DB) prepareHot(ctx context.Context) error {
	var err error
	prep := func(query string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var s *sql.Stmt
		s, err = db.sql.PrepareContext(ctx, db.q(query))
		if err != nil {
			err = fmt.Errorf("prepare %q: %w", query, err)
		}
		return s
	}
	s := &stmts{
		insertEvent:   prep(db.insertEventStatement()),
		countWebhooks: prep(countWebhooksSQL),
		offerByToken:  prep(offerByTokenSQL),
	}
	if err != nil {
		return err
	}
	db.stmtsMu.Lock()
	db.stmts = s
	db.stmtsMu.Unlock()
	return nil
}

func (db *DB) prepared() *stmts {
	db.stmtsMu.Lock()
	defer db.stmtsMu.Unlock()
	return db.stmts
}
