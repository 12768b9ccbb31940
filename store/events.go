package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
)

// IngestResult is what storing one webhook event did.
type IngestResult struct {
	EventID   int64
	Duplicate bool
	Outcome   urltracker.EventOutcome
}

// InsertEventTx stores e inside tx unless the offer already has an event with
// the same non-empty click id; then it reports a duplicate and stores nothing.
func (db *DB) InsertEventTx(ctx context.Context, tx *sql.Tx, e urltracker.Event) (id int64, duplicate bool, err error) {
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return 0, false, fmt.Errorf("encode payload: %w", err)
	}
	err = db.txQueryRow(ctx, tx, func(s *stmts) *sql.Stmt { return s.insertEvent }, insertEventSQL,
		e.OfferID, micros(e.ReceivedAt), e.ClickID, e.CampaignID, string(payload), string(e.Outcome)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("insert event for offer %d: %w", e.OfferID, err)
	}
	return id, false, nil
}

// CountWebhooksTx adds n webhooks, the latest received at last, to the
// offer's counters in one atomic statement.
func (db *DB) CountWebhooksTx(ctx context.Context, tx *sql.Tx, offerID int64, n int, last time.Time) error {
	err := db.txExec(ctx, tx, func(s *stmts) *sql.Stmt { return s.countWebhooks }, countWebhooksSQL,
		n, micros(last), micros(last), offerID)
	if err != nil {
		return fmt.Errorf("count webhooks of offer %d: %w", offerID, err)
	}
	return nil
}

// EventByClick finds the stored event of a click, for answering duplicates.
func (db *DB) EventByClick(ctx context.Context, offerID int64, clickID string) (IngestResult, error) {
	res := IngestResult{Duplicate: true}
	var outcome string
	err := db.sql.QueryRowContext(ctx, db.q(`SELECT id, outcome FROM events WHERE offer_id = ? AND click_id = ?`), offerID, clickID).
		Scan(&res.EventID, &outcome)
	if err != nil {
		return res, fmt.Errorf("load event of click %q: %w", clickID, err)
	}
	res.Outcome = urltracker.EventOutcome(outcome)
	return res, nil
}

// Events lists an offer's events, newest first.
func (db *DB) Events(ctx context.Context, offerID int64, limit int) ([]urltracker.Event, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT id, offer_id, received_at, click_id, campaign_id, payload, outcome
		FROM events WHERE offer_id = ? ORDER BY id DESC LIMIT ?`), offerID, limit)
	if err != nil {
		return nil, fmt.Errorf("list events of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	events := []urltracker.Event{}
	for rows.Next() {
		var e urltracker.Event
		var at int64
		var payload, outcome string
		if err := rows.Scan(&e.ID, &e.OfferID, &at, &e.ClickID, &e.CampaignID, &payload, &outcome); err != nil {
			return nil, err
		}
		e.ReceivedAt, e.Outcome = fromMicros(at), urltracker.EventOutcome(outcome)
		if err := json.Unmarshal([]byte(payload), &e.Payload); err != nil {
			return nil, fmt.Errorf("event %d: decode payload: %w", e.ID, err)
		}
		events = append(events, e)
	}
	return events, rows.Err()
}
