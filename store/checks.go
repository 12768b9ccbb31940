package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// SaveCheckTx records a check and updates the offer's counters inside tx, so
// that a caller can decide and enqueue actions in the same transaction.
func (db *DB) SaveCheckTx(ctx context.Context, tx *sql.Tx, c *urltracker.Check) error {
	chain, err := jsonenc.Marshal(c.Chain)
	if err != nil {
		return fmt.Errorf("encode chain: %w", err)
	}
	if c.Signals == nil {
		c.Signals = []urltracker.Signal{}
	}
	if c.Certificates == nil {
		c.Certificates = []urltracker.Certificate{}
	}
	signals, err := jsonenc.Marshal(c.Signals)
	if err != nil {
		return fmt.Errorf("encode signals: %w", err)
	}
	certs, err := jsonenc.Marshal(c.Certificates)
	if err != nil {
		return fmt.Errorf("encode certificates: %w", err)
	}
	err = tx.QueryRowContext(ctx, db.q(`INSERT INTO checks (offer_id, started_at, duration_ms, success, verdict, final_url, error, chain,
		landing_changed, previous_landing, signals, certificates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		c.OfferID, micros(c.StartedAt), c.DurationMS, c.Success, string(c.Verdict), c.FinalURL, c.Error, string(chain),
		c.LandingChanged, c.PreviousLanding, string(signals), string(certs)).Scan(&c.ID)
	if err != nil {
		return fmt.Errorf("insert check for offer %d: %w", c.OfferID, err)
	}
	if err := db.rollUpTx(ctx, tx, c); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, db.q(`UPDATE offer_counters SET check_count = check_count + 1, last_check_at = ?, last_verdict = ?
		WHERE offer_id = ?`), micros(c.StartedAt), string(c.Verdict), c.OfferID)
	if err != nil {
		return fmt.Errorf("count check for offer %d: %w", c.OfferID, err)
	}
	return nil
}

// ConfirmCheckTx records inside tx that check confirmedBy re-checked the
// failing check id and found it failing too.
func (db *DB) ConfirmCheckTx(ctx context.Context, tx *sql.Tx, id, confirmedBy int64) error {
	if _, err := tx.ExecContext(ctx, db.q(`UPDATE checks SET confirmed_by = ? WHERE id = ?`), confirmedBy, id); err != nil {
		return fmt.Errorf("mark check %d confirmed: %w", id, err)
	}
	return nil
}

// SaveCheck records a check on its own.
func (db *DB) SaveCheck(ctx context.Context, c *urltracker.Check) error {
	return db.InTx(ctx, func(tx *sql.Tx) error { return db.SaveCheckTx(ctx, tx, c) })
}

const checkColumns = `id, offer_id, started_at, duration_ms, success, verdict, final_url, error, chain, landing_changed, previous_landing,
	confirmed_by, signals, certificates`

func scanCheck(s scanner) (urltracker.Check, error) {
	var c urltracker.Check
	var started int64
	var verdict, chain, signals, certs string
	var confirmedBy sql.NullInt64
	err := s.Scan(&c.ID, &c.OfferID, &started, &c.DurationMS, &c.Success, &verdict, &c.FinalURL, &c.Error, &chain,
		&c.LandingChanged, &c.PreviousLanding, &confirmedBy, &signals, &certs)
	if err != nil {
		return c, err
	}
	if confirmedBy.Valid {
		c.ConfirmedBy = &confirmedBy.Int64
	}
	c.StartedAt, c.Verdict = fromMicros(started), urltracker.Verdict(verdict)
	c.Signals, c.Certificates = []urltracker.Signal{}, []urltracker.Certificate{}
	if err := json.Unmarshal([]byte(chain), &c.Chain); err != nil {
		return c, fmt.Errorf("check %d: decode chain: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(signals), &c.Signals); err != nil {
		return c, fmt.Errorf("check %d: decode signals: %w", c.ID, err)
	}
	if err := json.Unmarshal([]byte(certs), &c.Certificates); err != nil {
		return c, fmt.Errorf("check %d: decode certificates: %w", c.ID, err)
	}
	return c, nil
}

// Checks lists an offer's checks, newest first.
func (db *DB) Checks(ctx context.Context, offerID int64, limit int) ([]urltracker.Check, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+checkColumns+` FROM checks WHERE offer_id = ? ORDER BY id DESC LIMIT ?`), offerID, limit)
	if err != nil {
		return nil, fmt.Errorf("list checks of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	checks := []urltracker.Check{}
	for rows.Next() {
		c, err := scanCheck(rows)
		if err != nil {
			return nil, err
		}
		checks = append(checks, c)
	}
	return checks, rows.Err()
}

// LastHealthyCheck returns the offer's newest healthy check, or ErrNotFound.
func (db *DB) LastHealthyCheck(ctx context.Context, offerID int64) (urltracker.Check, error) {
	c, err := scanCheck(db.sql.QueryRowContext(ctx, db.q(`SELECT `+checkColumns+` FROM checks
		WHERE offer_id = ? AND verdict = ? ORDER BY id DESC LIMIT 1`), offerID, string(urltracker.VerdictHealthy)))
	if errors.Is(err, sql.ErrNoRows) {
		return c, urltracker.ErrNotFound
	}
	return c, err
}

// HourStats are the fleet-wide figures of the last hour.
type HourStats struct {
	Webhooks int64
	Checks   int64
	// Counted are the checks that judged the link (urltracker.Verdict.Counts),
	// Successes the healthy ones; SuccessRate is Successes/Counted, nil
	// when no check counted.
	Counted     int64
	Successes   int64
	SuccessRate *float64
}

// StatsSince counts webhooks and checks received since the given time.
func (db *DB) StatsSince(ctx context.Context, since int64) (HourStats, error) {
	var s HourStats
	if err := db.sql.QueryRowContext(ctx, db.q(webhooksSinceSQL), since).Scan(&s.Webhooks); err != nil {
		return s, fmt.Errorf("count webhooks: %w", err)
	}
	// Counted is urltracker.Verdict.Health in SQL: every verdict but the
	// neutral ones, blocked and refused.
	if err := db.sql.QueryRowContext(ctx, db.q(checksSinceSQL), string(urltracker.VerdictHealthy), string(urltracker.VerdictBlocked),
		string(urltracker.VerdictRefused), since).
		Scan(&s.Checks, &s.Successes, &s.Counted); err != nil {
		return s, fmt.Errorf("count checks: %w", err)
	}
	if s.Counted > 0 {
		rate := float64(s.Successes) / float64(s.Counted)
		s.SuccessRate = &rate
	}
	return s, nil
}

// LastHour counts webhooks and checks of the last hour.
func (db *DB) LastHour(ctx context.Context) (HourStats, error) {
	return db.StatsSince(ctx, micros(db.now().Add(-hour)))
}
