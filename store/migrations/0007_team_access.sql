-- 0007_team_access: users with roles, their API tokens, server-side
-- sessions, sign-in throttling, and who did what in the audit log.

-- users: people who sign in. role is viewer, operator or admin;
-- password_hash is an argon2id PHC string; totp_secret (base32) is set once
-- a second factor is confirmed, '' otherwise; totp_pending holds a secret
-- offered for enrollment until a code from it confirms it; recovery_codes
-- is a JSON array
-- of the SHA-256 (hex) of the unused recovery codes. A disabled user can
-- neither sign in nor use a token.
CREATE TABLE users (
    id {{pk}},
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret TEXT NOT NULL DEFAULT '',
    totp_pending TEXT NOT NULL DEFAULT '',
    recovery_codes TEXT NOT NULL DEFAULT '[]',
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- sessions: dashboard sign-ins. The cookie holds a random secret; only its
-- SHA-256 (token_hash) is stored. user_id is NULL for a break-glass sign-in
-- with the admin token, whose SHA-256 is then kept in admin_token_hash so
-- that changing the token ends those sessions. A session ends when it is
-- deleted (sign-out, revocation, password or role change), after
-- idle_timeout without use, or at expires_at.
CREATE TABLE sessions (
    id {{pk}},
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    admin_token_hash TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- api_tokens: bearer tokens for the API, one user's each. Only the SHA-256
-- of the token is stored; role is the token's scope (never above the
-- user's role, which is checked again on every use).
CREATE TABLE api_tokens (
    id {{pk}},
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    last_used_at BIGINT,
    revoked_at BIGINT,
    UNIQUE (user_id, name)
);

-- login_throttle: failed sign-ins per account ("user:NAME") and per client
-- address ("addr:IP"), shared by every instance. blocked_until is when the
-- next attempt is heard; rows unused for a day are deleted.
CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    blocked_until BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);

-- audit_log: who made the change (a user's name, "NAME/TOKEN" for an API
-- token, or "admin-token") and from which client address.
ALTER TABLE audit_log ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
