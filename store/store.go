// Package store is urltracker's storage: one database/sql layer over SQLite
// (embedded, the default) and PostgreSQL (a fleet sharing one database). SQL
// is written once with ? placeholders and rewritten per dialect where needed.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/urltracker/urltracker"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riversqlite"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the SQL database behind a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is the storage of urltracker. It is safe for concurrent use.
type DB struct {
	sql         *sql.DB
	dialect     Dialect
	now         func() time.Time
	synchronous string

	killMu      sync.Mutex
	killEnabled bool
	killReadAt  time.Time

	stmtsMu sync.Mutex
	stmts   *stmts

	tokens tokenCache
}

// Option changes how Open builds a DB.
type Option func(*DB)

// WithClock replaces the wall clock, for tests.
func WithClock(now func() time.Time) Option { return func(db *DB) { db.now = now } }

// WithSQLiteSynchronous sets SQLite's synchronous setting: "NORMAL" (the
// default) or "FULL". In WAL mode NORMAL loses nothing when the process
// crashes, but an OS crash or power loss may roll back the last commits;
// FULL syncs the WAL on every commit, so that neither does.
func WithSQLiteSynchronous(mode string) Option {
	return func(db *DB) { db.synchronous = mode }
}

// Open connects to databaseURL ("sqlite:PATH" or "postgres://…"). It does not
// apply migrations; call Migrate.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*DB, error) {
	db := &DB{now: time.Now, synchronous: "NORMAL"}
	for _, opt := range opts {
		opt(db)
	}
	switch {
	case strings.HasPrefix(databaseURL, "sqlite:"):
		path := strings.TrimPrefix(databaseURL, "sqlite:")
		if path == "" {
			return nil, errors.New("open sqlite: empty path in URLTRACKER_DATABASE_URL")
		}
		if dir := filepath.Dir(path); dir != "" {
			if _, err := os.Stat(dir); err != nil {
				return nil, fmt.Errorf("open sqlite %s: directory %s: %w", path, dir, err)
			}
		}
		// WAL lets readers proceed while one writer commits; immediate
		// transactions take the write lock up front, so two writers queue
		// on busy_timeout instead of failing with SQLITE_BUSY mid-way.
		if db.synchronous != "NORMAL" && db.synchronous != "FULL" {
			return nil, fmt.Errorf("open sqlite %s: synchronous %q: want NORMAL or FULL", path, db.synchronous)
		}
		dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(" + db.synchronous + ")&_txlock=immediate"
		conn, err := sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// River's SQLite driver requires a single connection: SQLite allows
		// one writer, and more connections only add SQLITE_BUSY retries.
		conn.SetMaxOpenConns(1)
		conn.SetConnMaxIdleTime(0)
		conn.SetConnMaxLifetime(0)
		db.sql, db.dialect = conn, SQLite
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		conn, err := openPostgres(databaseURL)
		if err != nil {
			return nil, err
		}
		db.sql, db.dialect = conn, Postgres
	default:
		return nil, fmt.Errorf("open database: unsupported URL scheme in %q (use sqlite:PATH or postgres://…)", urltracker.RedactURL(databaseURL))
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.sql.PingContext(pingCtx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("connect to %s database: %w", db.dialect, err)
	}
	return db, nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Dialect tells which database is behind db.
func (db *DB) Dialect() Dialect { return db.dialect }

// SQL exposes the pool for the job queue, which shares it.
func (db *DB) SQL() *sql.DB { return db.sql }

// RiverDriver returns the River driver for this database.
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] {
	if db.dialect == Postgres {
		return postgresRiverDriver(db.sql)
	}
	return riversqlite.New(db.sql)
}

// ErrBusy says a SQLite database gave no connection in time: the pool's one
// connection is busy, most often with a write waiting on busy_timeout
// behind another process's write transaction.
var ErrBusy = errors.New("database busy: its one connection was not free in time (write lock held by another process?)")

// Ping checks that the database answers. A SQLite file cannot be
// unreachable once open: a ping that runs out of time there waited for the
// one connection, and says so with ErrBusy.
func (db *DB) Ping(ctx context.Context) error {
	err := db.sql.PingContext(ctx)
	if err != nil && db.dialect == SQLite && ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ErrBusy, err)
	}
	return err
}

// ProbeWrite proves that the database accepts a write, which a ping does
// not: a full disk or a read-only file still answers reads.
func (db *DB) ProbeWrite(ctx context.Context, instance string) error {
	if _, err := db.sql.ExecContext(ctx, db.q(`UPDATE write_probe SET at = ?, instance = ? WHERE id = 1`), micros(db.now()), instance); err != nil {
		return fmt.Errorf("write to the database: %w", err)
	}
	return nil
}

// ReadOnly tells a PostgreSQL session that refuses writes (a standby, or
// default_transaction_read_only). On SQLite it reports false: whether the
// file may be written is the file system's answer, which callers ask.
func (db *DB) ReadOnly(ctx context.Context) (bool, error) {
	if db.dialect != Postgres {
		return false, nil
	}
	var v string
	if err := db.sql.QueryRowContext(ctx, `SHOW transaction_read_only`).Scan(&v); err != nil {
		return false, fmt.Errorf("ask whether the database takes writes: %w", err)
	}
	return v == "on", nil
}

// InTx runs fn in a transaction, committing if it returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// q rewrites a query written with ? placeholders for the dialect.
func (db *DB) q(query string) string {
	if db.dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func fromNullMicros(us sql.NullInt64) *time.Time {
	if !us.Valid {
		return nil
	}
	t := fromMicros(us.Int64)
	return &t
}

func nullMicros(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(*t), Valid: true}
}
