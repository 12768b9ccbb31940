package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// User is a person who signs in. The secrets (password hash, second factor)
// never leave the server: they are not in the JSON form.
type User struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Role      urltracker.Role `json:"role"`
	Disabled  bool            `json:"disabled"`
	TOTP      bool            `json:"totp"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`

	PasswordHash string `json:"-"`
	TOTPSecret   string `json:"-"`
	TOTPPending  string `json:"-"`
	// RecoveryCodes are the SHA-256 (hex) of the unused recovery codes.
	RecoveryCodes []string `json:"-"`
}

const userColumns = `id, name, role, disabled, created_at, updated_at, password_hash, totp_secret, totp_pending, recovery_codes`

func scanUser(s scanner) (User, error) {
	var u User
	var created, updated int64
	var codes string
	if err := s.Scan(&u.ID, &u.Name, &u.Role, &u.Disabled, &created, &updated, &u.PasswordHash, &u.TOTPSecret, &u.TOTPPending, &codes); err != nil {
		return u, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	u.TOTP = u.TOTPSecret != ""
	if err := json.Unmarshal([]byte(codes), &u.RecoveryCodes); err != nil {
		return u, fmt.Errorf("user %s: recovery codes: %w", u.Name, err)
	}
	return u, nil
}

// CreateUser stores a new user; a taken name is ErrConflict.
func (db *DB) CreateUser(ctx context.Context, name string, role urltracker.Role, passwordHash string) (User, error) {
	now := micros(db.now())
	var id int64
	err := db.sql.QueryRowContext(ctx, db.q(`INSERT INTO users (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		name, role, passwordHash, now, now).Scan(&id)
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", name, db.mapConstraint(err))
	}
	return db.User(ctx, id)
}

// Users lists every user by name.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return collect(rows, scanUser)
}

// User loads a user by id.
func (db *DB) User(ctx context.Context, id int64) (User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %d: %w", id, urltracker.ErrNotFound)
	}
	return u, err
}

// UserByName loads a user by name.
func (db *DB) UserByName(ctx context.Context, name string) (User, error) {
	u, err := scanUser(db.sql.QueryRowContext(ctx, db.q(`SELECT `+userColumns+` FROM users WHERE name = ?`), name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", name, urltracker.ErrNotFound)
	}
	return u, err
}

// UserChange is a change to a user; nil fields stay as they are.
type UserChange struct {
	Role         *urltracker.Role
	Disabled     *bool
	PasswordHash *string
	TOTPSecret   *string
	TOTPPending  *string
	// RecoveryCodes are SHA-256 (hex) of the codes.
	RecoveryCodes *[]string
}

// endsSessions tells whether the change must sign the user out everywhere:
// a new password, role or second factor, or disabling.
func (c UserChange) endsSessions() bool {
	return c.Role != nil || c.PasswordHash != nil || c.TOTPSecret != nil || (c.Disabled != nil && *c.Disabled)
}

// UpdateUser applies ch. A change of password, role or second factor, or
// disabling the user, also ends every session of the user, in the same
// transaction: whoever held one signs in again under the new terms.
func (db *DB) UpdateUser(ctx context.Context, id int64, ch UserChange) (User, error) {
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		set := []struct {
			col string
			val any
			ok  bool
		}{
			{"role", ptrVal(ch.Role), ch.Role != nil},
			{"disabled", ptrVal(ch.Disabled), ch.Disabled != nil},
			{"password_hash", ptrVal(ch.PasswordHash), ch.PasswordHash != nil},
			{"totp_secret", ptrVal(ch.TOTPSecret), ch.TOTPSecret != nil},
			{"totp_pending", ptrVal(ch.TOTPPending), ch.TOTPPending != nil},
		}
		query := `UPDATE users SET updated_at = ?`
		args := []any{micros(db.now())}
		for _, s := range set {
			if s.ok {
				query += ", " + s.col + " = ?"
				args = append(args, s.val)
			}
		}
		if ch.RecoveryCodes != nil {
			codes, _ := jsonenc.Marshal(*ch.RecoveryCodes)
			query += ", recovery_codes = ?"
			args = append(args, string(codes))
		}
		res, err := tx.ExecContext(ctx, db.q(query+` WHERE id = ?`), append(args, id)...)
		if err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("user %d: %w", id, urltracker.ErrNotFound)
		}
		if ch.endsSessions() {
			if _, err := tx.ExecContext(ctx, db.q(`DELETE FROM sessions WHERE user_id = ?`), id); err != nil {
				return fmt.Errorf("end sessions of user %d: %w", id, err)
			}
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return db.User(ctx, id)
}

// UseRecoveryCode removes one unused recovery code (its SHA-256, hex) of a
// user and reports whether it was there: each code works once, even when
// two sign-ins race with it.
func (db *DB) UseRecoveryCode(ctx context.Context, userID int64, codeHash string) (bool, error) {
	used := false
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var raw string
		if err := tx.QueryRowContext(ctx, db.q(`SELECT recovery_codes FROM users WHERE id = ?`+lock), userID).Scan(&raw); err != nil {
			return fmt.Errorf("read recovery codes of user %d: %w", userID, err)
		}
		var codes []string
		if err := json.Unmarshal([]byte(raw), &codes); err != nil {
			return fmt.Errorf("read recovery codes of user %d: %w", userID, err)
		}
		left := codes[:0]
		for _, c := range codes {
			if c == codeHash && !used {
				used = true
				continue
			}
			left = append(left, c)
		}
		if !used {
			return nil
		}
		body, _ := jsonenc.Marshal(left)
		_, err := tx.ExecContext(ctx, db.q(`UPDATE users SET recovery_codes = ? WHERE id = ?`), string(body), userID)
		return err
	})
	return used, err
}

func ptrVal[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
