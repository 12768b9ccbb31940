package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
)

// Session is one dashboard sign-in. Only the SHA-256 of its cookie is
// stored.
type Session struct {
	ID int64 `json:"id"`
	// UserID is nil for a break-glass sign-in with the admin token.
	UserID *int64 `json:"user_id"`
	// User is the user's name, or "admin-token".
	User       string    `json:"user"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Address    string    `json:"address"`
	UserAgent  string    `json:"user_agent"`

	// AdminTokenHash is the SHA-256 (hex) of the admin token a break-glass
	// session was opened with.
	AdminTokenHash string `json:"-"`
	// Role and Disabled are the user's, read with the session.
	Role     urltracker.Role `json:"-"`
	Disabled bool            `json:"-"`
}

// NewSession is what CreateSession stores.
type NewSession struct {
	TokenHash string
	// At is when the session starts.
	At             time.Time
	UserID         *int64
	AdminTokenHash string
	ExpiresAt      time.Time
	Address        string
	UserAgent      string
}

// AdminTokenUser is the name sessions and audit entries give the
// break-glass admin token.
const AdminTokenUser = urltracker.AdminTokenName

const sessionSelect = `SELECT s.id, s.user_id, COALESCE(u.name, '` + AdminTokenUser + `'), s.created_at, s.last_seen_at, s.expires_at,
    s.address, s.user_agent, s.admin_token_hash, COALESCE(u.role, 'admin'), COALESCE(u.disabled, FALSE)
    FROM sessions s LEFT JOIN users u ON u.id = s.user_id`

func scanSession(s scanner) (Session, error) {
	var x Session
	var userID sql.NullInt64
	var created, seen, expires int64
	err := s.Scan(&x.ID, &userID, &x.User, &created, &seen, &expires, &x.Address, &x.UserAgent, &x.AdminTokenHash, &x.Role, &x.Disabled)
	if userID.Valid {
		x.UserID = &userID.Int64
	}
	x.CreatedAt, x.LastSeenAt, x.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return x, err
}

// CreateSession stores a session and deletes sessions past their absolute
// end, so that the table holds only live ones and the recently idle.
func (db *DB) CreateSession(ctx context.Context, s NewSession) (Session, error) {
	now := micros(s.At)
	var id int64
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE expires_at <= ?`), now); err != nil {
			return fmt.Errorf("delete ended sessions: %w", err)
		}
		return tx.QueryRowContext(ctx, db.q(`INSERT INTO sessions (token_hash, user_id, admin_token_hash, created_at, last_seen_at, expires_at, address, user_agent)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			s.TokenHash, s.UserID, s.AdminTokenHash, now, now, micros(s.ExpiresAt), s.Address, s.UserAgent).Scan(&id)
	})
	if err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	return scanSession(db.sql.QueryRowContext(ctx, db.q(sessionSelect+` WHERE s.id = ?`), id))
}

// SessionByToken loads the session whose cookie hashes to tokenHash.
func (db *DB) SessionByToken(ctx context.Context, tokenHash string) (Session, error) {
	s, err := scanSession(db.sql.QueryRowContext(ctx, db.q(sessionSelect+` WHERE s.token_hash = ?`), tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("session: %w", urltracker.ErrNotFound)
	}
	return s, err
}

// TouchSession records that a session was used at.
func (db *DB) TouchSession(ctx context.Context, id int64, at time.Time) error {
	_, err := db.sql.ExecContext(ctx, db.q(`UPDATE sessions SET last_seen_at = ? WHERE id = ?`), micros(at), id)
	if err != nil {
		return fmt.Errorf("touch session %d: %w", id, err)
	}
	return nil
}

// Sessions lists sessions, newest first: a user's (userID > 0), the admin
// token's (userID == 0 and adminToken), or everyone's (userID == 0).
func (db *DB) Sessions(ctx context.Context, userID int64, adminToken bool) ([]Session, error) {
	query, args := sessionSelect, []any{}
	switch {
	case userID > 0:
		query += ` WHERE s.user_id = ?`
		args = append(args, userID)
	case adminToken:
		query += ` WHERE s.user_id IS NULL`
	}
	rows, err := db.sql.QueryContext(ctx, db.q(query+` ORDER BY s.id DESC`), args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return collect(rows, scanSession)
}

// Session loads a session by id.
func (db *DB) Session(ctx context.Context, id int64) (Session, error) {
	s, err := scanSession(db.sql.QueryRowContext(ctx, db.q(sessionSelect+` WHERE s.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("session %d: %w", id, urltracker.ErrNotFound)
	}
	return s, err
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, id int64) error {
	res, err := db.sql.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete session %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("session %d: %w", id, urltracker.ErrNotFound)
	}
	return nil
}

// DeleteAdminTokenSessions ends the break-glass sessions opened with any
// admin token but the one whose SHA-256 (hex) is current, and returns how
// many it ended.
func (db *DB) DeleteAdminTokenSessions(ctx context.Context, current string) (int64, error) {
	res, err := db.sql.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE user_id IS NULL AND admin_token_hash <> ?`), current)
	if err != nil {
		return 0, fmt.Errorf("end sessions of a former admin token: %w", err)
	}
	return res.RowsAffected()
}
