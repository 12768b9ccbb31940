package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/urltracker/urltracker/internal/jsonenc"
)

// Actor is who made a change and from where, for the audit log.
type Actor struct {
	// Name is a user's name, "USER/TOKEN" for a user's API token,
	// "admin-token" for the break-glass admin token, or "cli:…" for the
	// command line.
	Name string
	// Address is the client address of the request ("" from the command
	// line).
	Address string
	// Instance is the urltracker instance that made the change.
	Instance string
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID       int64           `json:"id"`
	At       time.Time       `json:"at"`
	Actor    string          `json:"actor"`
	Address  string          `json:"address"`
	Instance string          `json:"instance"`
	Action   string          `json:"action"`
	Detail   json.RawMessage `json:"detail"`
}

// AuditFilter chooses audit entries; zero fields choose everything.
type AuditFilter struct {
	// Limit is the most entries returned (required, at least 1).
	Limit int
	// Before pages backwards: only entries with a smaller id.
	Before int64
	Actor  string
	Action string
	Since  time.Time
	Until  time.Time
}

// Audit records a change made outside a store method that audits itself.
// detail is encoded as JSON.
func (db *DB) Audit(ctx context.Context, by Actor, action string, detail any) error {
	return db.InTx(ctx, func(tx *sql.Tx) error { return db.auditTx(ctx, tx, by, action, detail) })
}

// AuditLog lists audit entries, newest first.
func (db *DB) AuditLog(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.Before > 0 {
		add("id < ?", f.Before)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		add("action = ?", f.Action)
	}
	if !f.Since.IsZero() {
		add("at >= ?", micros(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", micros(f.Until))
	}
	query := `SELECT id, at, actor, address, instance, action, detail FROM audit_log`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, f.Limit)
	rows, err := db.sql.QueryContext(ctx, db.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return collect(rows, func(s scanner) (AuditEntry, error) {
		var e AuditEntry
		var at int64
		var detail string
		err := s.Scan(&e.ID, &at, &e.Actor, &e.Address, &e.Instance, &e.Action, &detail)
		e.At, e.Detail = fromMicros(at), json.RawMessage(detail)
		return e, err
	})
}

func (db *DB) auditTx(ctx context.Context, tx *sql.Tx, by Actor, action string, detail any) error {
	body, err := jsonenc.Marshal(detail)
	if err != nil {
		return fmt.Errorf("write audit log: encode detail: %w", err)
	}
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO audit_log (at, actor, address, instance, action, detail) VALUES (?, ?, ?, ?, ?, ?)`),
		micros(db.now()), by.Name, by.Address, by.Instance, action, string(body))
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}
