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

func scanWindow(s scanner) (urltracker.MaintenanceWindow, error) {
	var w urltracker.MaintenanceWindow
	var id, created, updated int64
	var name, spec string
	if err := s.Scan(&id, &name, &spec, &created, &updated); err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(spec), &w); err != nil {
		return w, fmt.Errorf("maintenance window %d: %w", id, err)
	}
	w.ID, w.Name, w.CreatedAt, w.UpdatedAt = id, name, fromMicros(created), fromMicros(updated)
	return w.Normalize(), nil
}

const windowColumns = `id, name, spec, created_at, updated_at`

// SaveMaintenanceWindow creates w (ID 0) or replaces it.
func (db *DB) SaveMaintenanceWindow(ctx context.Context, w urltracker.MaintenanceWindow) (urltracker.MaintenanceWindow, error) {
	spec, err := jsonenc.Marshal(w)
	if err != nil {
		return w, err
	}
	now := micros(db.now())
	if w.ID == 0 {
		err = db.sql.QueryRowContext(ctx, db.q(`INSERT INTO maintenance_windows (name, spec, created_at, updated_at) VALUES (?, ?, ?, ?)
			RETURNING id`), w.Name, string(spec), now, now).Scan(&w.ID)
		if err != nil {
			return w, fmt.Errorf("create maintenance window %q: %w", w.Name, err)
		}
		return db.MaintenanceWindow(ctx, w.ID)
	}
	res, err := db.sql.ExecContext(ctx, db.q(`UPDATE maintenance_windows SET name = ?, spec = ?, updated_at = ? WHERE id = ?`),
		w.Name, string(spec), now, w.ID)
	if err != nil {
		return w, fmt.Errorf("update maintenance window %d: %w", w.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return w, fmt.Errorf("maintenance window %d: %w", w.ID, urltracker.ErrNotFound)
	}
	return db.MaintenanceWindow(ctx, w.ID)
}

// MaintenanceWindow loads one window.
func (db *DB) MaintenanceWindow(ctx context.Context, id int64) (urltracker.MaintenanceWindow, error) {
	w, err := scanWindow(db.sql.QueryRowContext(ctx, db.q(`SELECT `+windowColumns+` FROM maintenance_windows WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return w, fmt.Errorf("maintenance window %d: %w", id, urltracker.ErrNotFound)
	}
	if err != nil {
		return w, fmt.Errorf("load maintenance window %d: %w", id, err)
	}
	return w, nil
}

// MaintenanceWindows lists every window, oldest first.
func (db *DB) MaintenanceWindows(ctx context.Context) ([]urltracker.MaintenanceWindow, error) {
	return db.maintenanceWindows(ctx, db.sql)
}

// MaintenanceWindowsTx is MaintenanceWindows inside tx.
func (db *DB) MaintenanceWindowsTx(ctx context.Context, tx *sql.Tx) ([]urltracker.MaintenanceWindow, error) {
	return db.maintenanceWindows(ctx, tx)
}

func (db *DB) maintenanceWindows(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]urltracker.MaintenanceWindow, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+windowColumns+` FROM maintenance_windows ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list maintenance windows: %w", err)
	}
	return collect(rows, scanWindow)
}

// DeleteMaintenanceWindow removes a window.
func (db *DB) DeleteMaintenanceWindow(ctx context.Context, id int64) error {
	res, err := db.sql.ExecContext(ctx, db.q(`DELETE FROM maintenance_windows WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete maintenance window %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("maintenance window %d: %w", id, urltracker.ErrNotFound)
	}
	return nil
}
