package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urltracker/urltracker"
)

// errDuplicateEvent rolls back an ingest whose click was already stored.
var errDuplicateEvent = errors.New("duplicate event")

// IngestResult is what storing one webhook event did.
type IngestResult struct {
	EventID   int64
	Duplicate bool
	Outcome   urltracker.EventOutcome
}

// IngestEvent stores e and bumps the offer's webhook counter in one
// transaction. When schedule is not nil it runs inside that transaction
// (to enqueue the check job) and decides the event's outcome; a redelivered
// click_id rolls everything back and reports the stored event as a duplicate.
func (db *DB) IngestEvent(ctx context.Context, e urltracker.Event, schedule func(tx *sql.Tx) (urltracker.EventOutcome, error)) (IngestResult, error) {
	payload, err := json.Marshal(e.Payload)
	if err != nil {
		return IngestResult{}, fmt.Errorf("encode payload: %w", err)
	}
	res := IngestResult{Outcome: e.Outcome}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if schedule != nil {
			outcome, err := schedule(tx)
			if err != nil {
				return err
			}
			res.Outcome = outcome
		}
		err := tx.QueryRowContext(ctx, db.q(`INSERT INTO events (offer_id, received_at, click_id, campaign_id, payload, outcome)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (offer_id, click_id) WHERE click_id <> '' DO NOTHING RETURNING id`),
			e.OfferID, micros(e.ReceivedAt), e.ClickID, e.CampaignID, string(payload), string(res.Outcome)).Scan(&res.EventID)
		if errors.Is(err, sql.ErrNoRows) {
			return errDuplicateEvent
		}
		if err != nil {
			return fmt.Errorf("insert event: %w", err)
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE offer_counters SET webhook_count = webhook_count + 1,
			last_webhook_at = CASE WHEN last_webhook_at IS NULL OR last_webhook_at < ? THEN ? ELSE last_webhook_at END
			WHERE offer_id = ?`), micros(e.ReceivedAt), micros(e.ReceivedAt), e.OfferID)
		if err != nil {
			return fmt.Errorf("count webhook: %w", err)
		}
		return nil
	})
	if errors.Is(err, errDuplicateEvent) {
		res.Duplicate = true
		var outcome string
		err = db.sql.QueryRowContext(ctx, db.q(`SELECT id, outcome FROM events WHERE offer_id = ? AND click_id = ?`), e.OfferID, e.ClickID).Scan(&res.EventID, &outcome)
		res.Outcome = urltracker.EventOutcome(outcome)
		if err != nil {
			return res, fmt.Errorf("load duplicate event: %w", err)
		}
	}
	if err != nil {
		return res, fmt.Errorf("store event for offer %d: %w", e.OfferID, err)
	}
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
