package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
)

// DueOffer is an offer whose scheduled check is due.
type DueOffer struct {
	ID                    int64
	UpdateIntervalSeconds int
}

// DueOffersTx lists at most limit enabled offers whose next scheduled check
// is at or before now, the most overdue first. The query reads the
// offers_next_check_at index only as far as the due offers go, so a tick
// costs the same with a hundred offers as with a hundred thousand.
func (db *DB) DueOffersTx(ctx context.Context, tx *sql.Tx, now time.Time, limit int) ([]DueOffer, error) {
	rows, err := tx.QueryContext(ctx, db.q(dueOffersSQL), micros(now), limit)
	if err != nil {
		return nil, fmt.Errorf("list offers due for a check: %w", err)
	}
	return collect(rows, func(s scanner) (DueOffer, error) {
		var d DueOffer
		return d, s.Scan(&d.ID, &d.UpdateIntervalSeconds)
	})
}

// SetNextCheckTx sets when the offer's next scheduled check is due; a zero
// at means none is.
func (db *DB) SetNextCheckTx(ctx context.Context, tx *sql.Tx, offerID int64, at time.Time) error {
	var next sql.NullInt64
	if !at.IsZero() {
		next = sql.NullInt64{Int64: micros(at), Valid: true}
	}
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE offers SET next_check_at = ? WHERE id = ?`), next, offerID); err != nil {
		return fmt.Errorf("schedule the next check of offer %d: %w", offerID, err)
	}
	return nil
}

// PostponeChecksTx moves the next scheduled check of the offers one period
// past now, the period being urltracker.CheckPeriod's: the update interval
// while urltracker holds the offer's campaign, else the longer of
// check_every_seconds and update_interval_seconds. The scheduler has just
// enqueued their checks, and each check, when it runs, sets its offer's
// next one from when it ran. Until then the offer is not due again, however
// long the queue of checks: a scheduler that took it again one update
// interval on would queue a second check of an offer whose first is still
// waiting, and behind a slow queue (100,000 offers due at once after an
// import) pile them up. An offer no longer due at now is left alone: a check
// that committed its next one since the scheduler read it (another
// instance's, on PostgreSQL) has the last word.
func (db *DB) PostponeChecksTx(ctx context.Context, tx *sql.Tx, offerIDs []int64, now time.Time) error {
	if len(offerIDs) == 0 {
		return nil
	}
	args := make([]any, 0, len(offerIDs)+3)
	args = append(args, micros(now), string(urltracker.StateHeld))
	for _, id := range offerIDs {
		args = append(args, id)
	}
	args = append(args, micros(now))
	query := `UPDATE offers SET next_check_at = CAST(? AS BIGINT) + 1000000 * CAST(CASE
		WHEN EXISTS (SELECT 1 FROM offer_health h WHERE h.offer_id = offers.id AND h.state = ?) THEN update_interval_seconds
		WHEN check_every_seconds > update_interval_seconds THEN check_every_seconds ELSE update_interval_seconds END AS BIGINT)
		WHERE id IN (?` + strings.Repeat(", ?", len(offerIDs)-1) + `) AND next_check_at <= ?`
	if _, err := tx.ExecContext(ctx, db.q(query), args...); err != nil {
		return fmt.Errorf("postpone the next check of %d offers: %w", len(offerIDs), err)
	}
	return nil
}

// NextCheck tells when the offer's next scheduled check is due; nil when
// none is.
func (db *DB) NextCheck(ctx context.Context, offerID int64) (*time.Time, error) {
	var next sql.NullInt64
	if err := db.sql.QueryRowContext(ctx, db.q(`SELECT next_check_at FROM offers WHERE id = ?`), offerID).Scan(&next); err != nil {
		return nil, fmt.Errorf("load the next check of offer %d: %w", offerID, err)
	}
	return fromNullMicros(next), nil
}

// collect reads every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
