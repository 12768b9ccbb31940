package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const hour = time.Hour

// killSwitchMaxAge bounds how stale an instance's view of the kill switch may
// be. The contract is that a toggle on any instance is seen by every instance
// within a second; a quarter of that leaves room for a slow query, and costs
// at most four reads a second per instance.
const killSwitchMaxAge = 250 * time.Millisecond

// killSwitchReadTimeout bounds one read of the kill switch.
const killSwitchReadTimeout = 3 * time.Second

// KillSwitch reports whether outbound automation is enabled, from a cache
// at most killSwitchMaxAge old, so that webhooks do not each query it.
func (db *DB) KillSwitch(ctx context.Context) (bool, error) {
	db.killMu.Lock()
	defer db.killMu.Unlock()
	now := db.now()
	if !db.killReadAt.IsZero() && now.Sub(db.killReadAt) < killSwitchMaxAge {
		return db.killEnabled, nil
	}
	// Callers queue on killMu meanwhile, so the read gets a short deadline
	// of its own whatever the caller's is.
	ctx, cancel := context.WithTimeout(ctx, killSwitchReadTimeout)
	defer cancel()
	var enabled bool
	if err := db.sql.QueryRowContext(ctx, killSwitchSQL).Scan(&enabled); err != nil {
		return false, fmt.Errorf("read kill switch: %w", err)
	}
	db.killEnabled, db.killReadAt = enabled, now
	return enabled, nil
}

// SetKillSwitch stores the kill switch state and audits the change with who
// made it and why. It returns the state before the change.
func (db *DB) SetKillSwitch(ctx context.Context, enabled bool, by Actor, reason string) (previous bool, err error) {
	return db.SetKillSwitchAnd(ctx, enabled, by, reason, nil)
}

// SetKillSwitchAnd is SetKillSwitch that also runs then, when not nil,
// inside the same transaction, with the previous state: what the toggle
// causes (its notices) commits with it or not at all.
func (db *DB) SetKillSwitchAnd(ctx context.Context, enabled bool, by Actor, reason string, then func(tx *sql.Tx, previous bool) error) (previous bool, err error) {
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		// FOR UPDATE on PostgreSQL so that two concurrent toggles report and
		// audit the true previous state; SQLite's write transaction already
		// excludes the other writer.
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		if err := tx.QueryRowContext(ctx, `SELECT enabled FROM kill_switch WHERE id = 1`+lock).Scan(&previous); err != nil {
			return fmt.Errorf("read kill switch: %w", err)
		}
		if _, err := tx.ExecContext(ctx, db.q(`UPDATE kill_switch SET enabled = ?, updated_at = ?, updated_by = ? WHERE id = 1`),
			enabled, micros(db.now()), by.Instance); err != nil {
			return fmt.Errorf("set kill switch: %w", err)
		}
		detail := map[string]any{"previous": previous, "enabled": enabled}
		if reason != "" {
			detail["reason"] = reason
		}
		if err := db.auditTx(ctx, tx, by, "kill_switch", detail); err != nil {
			return err
		}
		if then != nil {
			return then(tx, previous)
		}
		return nil
	})
	if err != nil {
		return previous, err
	}
	db.killMu.Lock()
	db.killEnabled, db.killReadAt = enabled, db.now()
	db.killMu.Unlock()
	return previous, nil
}
