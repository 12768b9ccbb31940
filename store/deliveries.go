package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/urltracker/urltracker"
)

// RecordDeliveryTx appends one delivery attempt (or a silenced notice) to
// the deliveries log inside tx and sets d.ID.
func (db *DB) RecordDeliveryTx(ctx context.Context, tx *sql.Tx, d *urltracker.Delivery) error {
	var offerID, next sql.NullInt64
	if d.OfferID != nil {
		offerID = sql.NullInt64{Int64: *d.OfferID, Valid: true}
	}
	if d.NextAttemptAt != nil {
		next = sql.NullInt64{Int64: micros(*d.NextAttemptAt), Valid: true}
	}
	err := tx.QueryRowContext(ctx, db.q(`INSERT INTO deliveries (channel_id, offer_id, job_id, attempt, at, event, title, outcome,
		status_code, error, duration_ms, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		d.ChannelID, offerID, d.JobID, d.Attempt, micros(d.At), string(d.Event), d.Title, string(d.Outcome),
		d.StatusCode, d.Error, d.DurationMS, next).Scan(&d.ID)
	if err != nil {
		return fmt.Errorf("record delivery to channel %d: %w", d.ChannelID, err)
	}
	return nil
}

const deliveryColumns = `id, channel_id, offer_id, job_id, attempt, at, event, title, outcome, status_code, error, duration_ms, next_attempt_at`

func scanDelivery(s scanner) (urltracker.Delivery, error) {
	var d urltracker.Delivery
	var offerID, next sql.NullInt64
	var at int64
	var event, outcome string
	if err := s.Scan(&d.ID, &d.ChannelID, &offerID, &d.JobID, &d.Attempt, &at, &event, &d.Title, &outcome,
		&d.StatusCode, &d.Error, &d.DurationMS, &next); err != nil {
		return d, err
	}
	if offerID.Valid {
		d.OfferID = &offerID.Int64
	}
	d.At, d.NextAttemptAt = fromMicros(at), fromNullMicros(next)
	d.Event, d.Outcome = urltracker.NoticeEvent(event), urltracker.DeliveryOutcome(outcome)
	return d, nil
}

// ChannelDeliveries lists a channel's deliveries log, newest first.
func (db *DB) ChannelDeliveries(ctx context.Context, channelID int64, limit int) ([]urltracker.Delivery, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+deliveryColumns+` FROM deliveries WHERE channel_id = ? ORDER BY id DESC LIMIT ?`), channelID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of channel %d: %w", channelID, err)
	}
	return collect(rows, scanDelivery)
}

// OfferDeliveries lists the deliveries of an offer's notices, newest first.
func (db *DB) OfferDeliveries(ctx context.Context, offerID int64, limit int) ([]urltracker.Delivery, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+deliveryColumns+` FROM deliveries WHERE offer_id = ? ORDER BY id DESC LIMIT ?`), offerID, limit)
	if err != nil {
		return nil, fmt.Errorf("list deliveries of offer %d: %w", offerID, err)
	}
	return collect(rows, scanDelivery)
}
