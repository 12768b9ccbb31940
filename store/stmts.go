package store

import (
	"context"
	"database/sql"
	"fmt"
)

// stmts are the statements of the webhook hot path, prepared once.
type stmts struct {
	insertEvent   *sql.Stmt
	countWebhooks *sql.Stmt
	offerByToken  *sql.Stmt
}

// hot returns the prepared hot-path statements, preparing them on first use
// (after migrations, so that the tables exist). A failure is retried on the
// next call: the database may be back by then.
func (db *DB) hot(ctx context.Context) (*stmts, error) {
	db.stmtsMu.Lock()
	defer db.stmtsMu.Unlock()
	if db.stmts != nil {
		return db.stmts, nil
	}
	s, err := db.prepare(ctx)
	if err != nil {
		return nil, err
	}
	db.stmts = s
	return s, nil
}

func (db *DB) prepare(ctx context.Context) (*stmts, error) {
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
	s := &stmts{}
	s.insertEvent = prep(`INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING RETURNING id`)
	s.countWebhooks = prep(`UPDATE offer_counters SET webhook_count = webhook_count + ?,
		last_webhook_at = CASE WHEN last_webhook_at IS NULL OR last_webhook_at < ? THEN ? ELSE last_webhook_at END
		WHERE offer_id = ?`)
	s.offerByToken = prep(`SELECT ` + offerColumns + offerFrom + ` JOIN webhook_tokens wt ON wt.offer_id = o.id WHERE wt.token = ?`)
	return s, err
}
