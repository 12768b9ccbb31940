package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
)

// EnsureSetting returns the stored value of the setting name, storing value
// first if the setting does not exist yet. When several instances race, the
// first to store wins and all of them return its value.
func (db *DB) EnsureSetting(ctx context.Context, name, value string) (string, error) {
	_, err := db.sql.ExecContext(ctx, db.q(`INSERT INTO settings (name, value, created_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO NOTHING`), name, value, micros(db.now()))
	if err != nil {
		return "", fmt.Errorf("store setting %s: %w", name, err)
	}
	var stored string
	if err := db.sql.QueryRowContext(ctx, db.q(`SELECT value FROM settings WHERE name = ?`), name).Scan(&stored); err != nil {
		return "", fmt.Errorf("read setting %s: %w", name, err)
	}
	return stored, nil
}

// scanFunc adapts a function to the scanner interface.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// OfferCheck is a check with the name of its offer, for fleet-wide lists.
type OfferCheck struct {
	urltracker.Check
	OfferName string
}

// RecentChecks lists the newest checks of all offers, newest first.
func (db *DB) RecentChecks(ctx context.Context, limit int) ([]OfferCheck, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+prefixed("k.", checkColumns)+`, o.name
		FROM checks k JOIN offers o ON o.id = k.offer_id ORDER BY k.id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("list recent checks: %w", err)
	}
	defer rows.Close()
	checks := []OfferCheck{}
	for rows.Next() {
		var oc OfferCheck
		c, err := scanCheck(scanFunc(func(dest ...any) error {
			return rows.Scan(append(dest, &oc.OfferName)...)
		}))
		if err != nil {
			return nil, err
		}
		oc.Check = c
		checks = append(checks, oc)
	}
	return checks, rows.Err()
}

// OfferAction is an action attempt with the name of its offer.
type OfferAction struct {
	urltracker.Action
	OfferName string
}

// RecentActions lists the newest action attempts of all offers, newest
// first.
func (db *DB) RecentActions(ctx context.Context, limit int) ([]OfferAction, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+prefixed("a.", actionColumns)+`, o.name
		FROM actions a JOIN offers o ON o.id = a.offer_id ORDER BY a.id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("list recent actions: %w", err)
	}
	defer rows.Close()
	actions := []OfferAction{}
	for rows.Next() {
		var oa OfferAction
		a, err := scanAction(scanFunc(func(dest ...any) error {
			return rows.Scan(append(dest, &oa.OfferName)...)
		}))
		if err != nil {
			return nil, fmt.Errorf("list recent actions: %w", err)
		}
		oa.Action = a
		actions = append(actions, oa)
	}
	return actions, rows.Err()
}

// WebhooksSinceByOffer counts each offer's webhooks received at or after
// since; offers without any are absent from the map.
func (db *DB) WebhooksSinceByOffer(ctx context.Context, since time.Time) (map[int64]int64, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT offer_id, COUNT(*) FROM events WHERE received_at >= ? GROUP BY offer_id`), micros(since))
	if err != nil {
		return nil, fmt.Errorf("count webhooks per offer: %w", err)
	}
	defer rows.Close()
	counts := map[int64]int64{}
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		counts[id] = n
	}
	return counts, rows.Err()
}
