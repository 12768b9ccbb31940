package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The statements of the webhook hot path.
const (
	insertEventSQL = `INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING RETURNING id`
	countWebhooksSQL = `UPDATE offer_counters SET webhook_count = webhook_count + ?,
		last_webhook_at = CASE WHEN last_webhook_at IS NULL OR last_webhook_at < ? THEN ? ELSE last_webhook_at END
		WHERE offer_id = ?`
	offerByTokenSQL = `SELECT ` + offerColumns + offerFrom + ` JOIN webhook_tokens wt ON wt.offer_id = o.id WHERE wt.token = ?`
)

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
		insertEvent:   prep(insertEventSQL),
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
