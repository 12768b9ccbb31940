package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
)

// APIToken is a user's bearer token for the API. Only the SHA-256 of the
// token is stored; the token itself is shown once, when it is created.
type APIToken struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"user_id"`
	User   string `json:"user"`
	Name   string `json:"name"`
	// Role is the token's scope; it acts with the lesser of it and its
	// user's role.
	Role       urltracker.Role `json:"role"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  *time.Time      `json:"expires_at"`
	LastUsedAt *time.Time      `json:"last_used_at"`
	RevokedAt  *time.Time      `json:"revoked_at"`

	// UserRole and UserDisabled are the user's, read with the token.
	UserRole     urltracker.Role `json:"-"`
	UserDisabled bool            `json:"-"`
}

const tokenSelect = `SELECT t.id, t.user_id, u.name, t.name, t.role, t.created_at, t.expires_at, t.last_used_at, t.revoked_at, u.role, u.disabled
    FROM api_tokens t JOIN users u ON u.id = t.user_id`

func scanToken(s scanner) (APIToken, error) {
	var t APIToken
	var created int64
	var expires, used, revoked sql.NullInt64
	err := s.Scan(&t.ID, &t.UserID, &t.User, &t.Name, &t.Role, &created, &expires, &used, &revoked, &t.UserRole, &t.UserDisabled)
	t.CreatedAt = fromMicros(created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromNullMicros(expires), fromNullMicros(used), fromNullMicros(revoked)
	return t, err
}

// CreateAPIToken stores a token of a user; a name the user already gave a
// token is ErrConflict.
func (db *DB) CreateAPIToken(ctx context.Context, userID int64, name string, role urltracker.Role, tokenHash string, expires *time.Time) (APIToken, error) {
	var exp sql.NullInt64
	if expires != nil {
		exp = sql.NullInt64{Int64: micros(*expires), Valid: true}
	}
	var id int64
	err := db.sql.QueryRowContext(ctx, db.q(`INSERT INTO api_tokens (user_id, name, role, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
		userID, name, string(role), tokenHash, micros(db.now()), exp).Scan(&id)
	if err != nil {
		return APIToken{}, fmt.Errorf("create API token %q: %w", name, db.mapConstraint(err))
	}
	return db.APIToken(ctx, id)
}

// APIToken loads a token by id.
func (db *DB) APIToken(ctx context.Context, id int64) (APIToken, error) {
	t, err := scanToken(db.sql.QueryRowContext(ctx, db.q(tokenSelect+` WHERE t.id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("API token %d: %w", id, urltracker.ErrNotFound)
	}
	return t, err
}

// APITokenByHash loads the token that hashes to tokenHash.
func (db *DB) APITokenByHash(ctx context.Context, tokenHash string) (APIToken, error) {
	t, err := scanToken(db.sql.QueryRowContext(ctx, db.q(tokenSelect+` WHERE t.token_hash = ?`), tokenHash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("API token: %w", urltracker.ErrNotFound)
	}
	return t, err
}

// APITokens lists tokens, newest first: one user's (userID > 0) or
// everyone's.
func (db *DB) APITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	query, args := tokenSelect, []any{}
	if userID > 0 {
		query += ` WHERE t.user_id = ?`
		args = append(args, userID)
	}
	rows, err := db.sql.QueryContext(ctx, db.q(query+` ORDER BY t.id DESC`), args...)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	return collect(rows, scanToken)
}

// TouchAPIToken records that a token was used at.
func (db *DB) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	_, err := db.sql.ExecContext(ctx, db.q(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), micros(at), id)
	if err != nil {
		return fmt.Errorf("touch API token %d: %w", id, err)
	}
	return nil
}

// RevokeAPIToken ends a token for good; revoking it again changes nothing.
func (db *DB) RevokeAPIToken(ctx context.Context, id int64) (APIToken, error) {
	res, err := db.sql.ExecContext(ctx, db.q(`UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`), micros(db.now()), id)
	if err != nil {
		return APIToken{}, fmt.Errorf("revoke API token %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return APIToken{}, fmt.Errorf("API token %d: %w", id, urltracker.ErrNotFound)
	}
	return db.APIToken(ctx, id)
}
