package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/riverqueue/river/rivermigrate"
)

//go:embed migrations/*.sql migrations/checksums.txt
var migrationFS embed.FS

// Migration is one embedded, versioned schema change.
type Migration struct {
	Version  int
	Name     string
	SQL      string
	Checksum string
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, path := range names {
		name := strings.TrimPrefix(path, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		body, err := migrationFS.ReadFile(path)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(body)
		ms = append(ms, Migration{Version: version, Name: name, SQL: string(body), Checksum: hex.EncodeToString(sum[:])})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// ReleasedChecksums reads migrations/checksums.txt: file name → SHA-256.
func ReleasedChecksums() (map[string]string, error) {
	body, err := migrationFS.ReadFile("migrations/checksums.txt")
	if err != nil {
		return nil, err
	}
	sums := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			return nil, fmt.Errorf("checksums.txt: malformed line %q", line)
		}
		sums[name] = sum
	}
	return sums, nil
}

// MigrationStatus says which migrations are applied and which are pending.
type MigrationStatus struct {
	Applied []int `json:"applied"`
	Pending []int `json:"pending"`
	// RiverPending is true when the job queue's own tables need migrating.
	RiverPending bool `json:"river_pending"`
}

// Status reports applied and pending migrations without changing anything.
func (db *DB) Status(ctx context.Context) (MigrationStatus, error) {
	var st MigrationStatus
	ms, err := Migrations()
	if err != nil {
		return st, err
	}
	applied, err := db.appliedVersions(ctx, db.sql)
	if err != nil {
		return st, err
	}
	for _, m := range ms {
		if _, ok := applied[m.Version]; ok {
			st.Applied = append(st.Applied, m.Version)
		} else {
			st.Pending = append(st.Pending, m.Version)
		}
	}
	migrator, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return st, fmt.Errorf("river migrator: %w", err)
	}
	existing, err := migrator.ExistingVersions(ctx)
	if err != nil {
		// No river_migration table yet: everything is pending.
		st.RiverPending = true
		return st, nil //nolint:nilerr // a missing table is the pending state
	}
	st.RiverPending = len(existing) < len(migrator.AllVersions())
	return st, nil
}

// Migrate applies pending migrations of urltracker and of the job queue. It
// is safe to call from several instances at once: on PostgreSQL an advisory
// lock lets one apply them while the others wait.
func (db *DB) Migrate(ctx context.Context) (applied []string, err error) {
	conn, release, err := db.migrationConn(ctx)
	if err != nil {
		return nil, err
	}
	defer release()

	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		checksum TEXT NOT NULL,
		applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	done, err := db.appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if sum, ok := done[m.Version]; ok {
			if sum != m.Checksum {
				return applied, fmt.Errorf("migration %s was changed after it was applied (checksum %s, applied %s): migrations are append-only", m.Name, m.Checksum[:12], sum[:12])
			}
			continue
		}
		if err := db.applyMigration(ctx, conn, m); err != nil {
			return applied, err
		}
		applied = append(applied, m.Name)
	}
	if db.dialect == SQLite {
		// River's migrator needs the one connection this holds.
		release()
	}

	migrator, err := rivermigrate.New(db.RiverDriver(), nil)
	if err != nil {
		return applied, fmt.Errorf("river migrator: %w", err)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return applied, fmt.Errorf("migrate job queue tables: %w", err)
	}
	for _, v := range res.Versions {
		applied = append(applied, fmt.Sprintf("river %03d_%s", v.Version, v.Name))
	}
	return applied, db.prepareHot(ctx)
}

// applyMigration runs one migration and records it, in one transaction.
func (db *DB) applyMigration(ctx context.Context, conn *sql.Conn, m Migration) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("apply migration %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if body := db.dialectSQL(m.SQL); hasStatements(body) {
		if _, err := tx.ExecContext(ctx, body); err != nil {
			return fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
	}
	if db.dialect == SQLite {
		// Foreign keys are off while SQLite migrates (see migrationConn):
		// check that the migration left every reference intact.
		var table string
		err := tx.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_check LIMIT 1`).Scan(&table)
		if err == nil {
			return fmt.Errorf("apply migration %s: it leaves rows of table %s pointing at missing rows", m.Name, table)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("apply migration %s: foreign key check: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`),
		m.Version, m.Name, m.Checksum, micros(db.now())); err != nil {
		return fmt.Errorf("record migration %s: %w", m.Name, err)
	}
	return tx.Commit()
}

// querier is a *sql.DB or a *sql.Conn.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (db *DB) appliedVersions(ctx context.Context, q querier) (map[int]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT version, checksum FROM schema_migrations`)
	if err != nil {
		if db.isMissingTable(err) {
			return map[int]string{}, nil
		}
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[int]string{}
	for rows.Next() {
		var v int
		var sum string
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		done[v] = sum
	}
	return done, rows.Err()
}

func (db *DB) isMissingTable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist")
}

// dialectSQL keeps the parts of a migration meant for this database and
// fills its dialect-specific tokens. A line "-- dialect: sqlite" or
// "-- dialect: postgres" starts a part for that database alone, up to the
// next such line; what comes before the first one is for both.
func (db *DB) dialectSQL(s string) string {
	var b strings.Builder
	keep := true
	for _, line := range strings.SplitAfter(s, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), dialectMarker); ok {
			keep = Dialect(strings.TrimSpace(name)) == db.dialect
			continue
		}
		if keep {
			b.WriteString(line)
		}
	}
	// SQLite's AUTOINCREMENT never hands out an id again once its row is
	// deleted; PostgreSQL's identity columns never do anyway.
	pk := "INTEGER PRIMARY KEY AUTOINCREMENT"
	if db.dialect == Postgres {
		pk = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
	}
	return strings.ReplaceAll(b.String(), "{{pk}}", pk)
}

const dialectMarker = "-- dialect:"

// hasStatements tells whether sql holds more than comments and blanks.
func hasStatements(sql string) bool {
	for _, line := range strings.Split(sql, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "--") {
			return true
		}
	}
	return false
}

// migrationConn takes the connection migrations run on. On PostgreSQL it
// holds an advisory lock, so that instances starting together apply each
// migration once. On SQLite (whose single connection and file lock already
// serialise writers) it turns foreign keys off, as SQLite's documented way
// to rebuild a table requires: dropping a table with foreign keys on would
// delete every row referring to it. applyMigration checks the references
// before each commit. release is safe to call twice.
func (db *DB) migrationConn(ctx context.Context) (conn *sql.Conn, release func(), err error) {
	conn, err = db.sql.Conn(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("migration connection: %w", err)
	}
	var undo string
	switch db.dialect {
	case Postgres:
		// An arbitrary constant shared by every urltracker instance.
		const lockID = 7_261_932_004
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockID); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("migration lock: %w", err)
		}
		undo = fmt.Sprintf(`SELECT pg_advisory_unlock(%d)`, lockID)
	case SQLite:
		if _, err := conn.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("migration connection: %w", err)
		}
		undo = `PRAGMA foreign_keys = ON`
	}
	var once sync.Once
	return conn, func() {
		once.Do(func() {
			if _, err := conn.ExecContext(context.Background(), undo); err != nil {
				// Never hand the pool a connection left without its lock
				// released or its foreign keys on.
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			conn.Close()
		})
	}, nil
}
