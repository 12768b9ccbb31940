package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// throttleForget is how long an unused sign-in throttle row is kept;
// throttleFresh is how long after its last failure a row starts counting
// from one again, so that a typo a day never adds up to a block.
const (
	throttleForget = 24 * time.Hour
	throttleFresh  = time.Hour
)

// LoginBlockedUntil returns the latest time until which any of keys is
// blocked from signing in (the zero time when none is).
func (db *DB) LoginBlockedUntil(ctx context.Context, keys ...string) (time.Time, error) {
	var until time.Time
	for _, k := range keys {
		var at int64
		err := db.sql.QueryRowContext(ctx, db.q(`SELECT blocked_until FROM login_throttle WHERE key = ?`), k).Scan(&at)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return until, fmt.Errorf("read sign-in throttle: %w", err)
		}
		if t := fromMicros(at); t.After(until) {
			until = t
		}
	}
	return until, nil
}

// LoginFailed counts a failed sign-in at now against key and blocks it for
// delay(failures so far) from now. It returns the count.
func (db *DB) LoginFailed(ctx context.Context, key string, now time.Time, delay func(failures int) time.Duration) (int, error) {
	var failures int
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM login_throttle WHERE updated_at < ?`), micros(now.Add(-throttleForget))); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, db.q(`INSERT INTO login_throttle (key, failures, blocked_until, updated_at) VALUES (?, 1, 0, ?)
            ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at,
                failures = CASE WHEN login_throttle.updated_at < ? THEN 1 ELSE login_throttle.failures + 1 END
            RETURNING failures`), key, micros(now), micros(now.Add(-throttleFresh))).Scan(&failures)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, db.q(`UPDATE login_throttle SET blocked_until = ? WHERE key = ?`), micros(now.Add(delay(failures))), key)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count failed sign-in: %w", err)
	}
	return failures, nil
}

// LoginSucceeded clears the failures counted against keys.
func (db *DB) LoginSucceeded(ctx context.Context, keys ...string) error {
	for _, k := range keys {
		if _, err := db.sql.ExecContext(ctx, db.q(`DELETE FROM login_throttle WHERE key = ?`), k); err != nil {
			return fmt.Errorf("clear sign-in throttle: %w", err)
		}
	}
	return nil
}
