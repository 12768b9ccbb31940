package store

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// SQLite primary result codes and PostgreSQL SQLSTATEs that mean the
// database refuses to be written.
const (
	sqliteReadOnly  = 8  // SQLITE_READONLY
	sqliteCantOpen  = 14 // SQLITE_CANTOPEN: e.g. the WAL cannot be created
	sqlitePerm      = 3  // SQLITE_PERM
	pgReadOnlyTx    = "25006"
	pgInsufficientP = "42501"
)

// IsReadOnly tells an error of a database that cannot be written as
// configured (a read-only file, directory or mount; a PostgreSQL standby or
// a role without write rights): restarting will not help, fixing the setup
// will.
func IsReadOnly(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqliteReadOnly, sqliteCantOpen, sqlitePerm:
			return true
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgReadOnlyTx || pe.Code == pgInsufficientP
	}
	return false
}
