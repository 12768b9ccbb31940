package store

import (
	"database/sql"
	"fmt"
	"github.com/urltracker/urltracker"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
)

// postgresConnectTimeout bounds a new connection when the URL sets no
// connect_timeout: an unreachable server then fails requests quickly (503)
// instead of holding them until the operating system gives up.
const postgresConnectTimeout = 5 * time.Second

func openPostgres(databaseURL string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("open postgres %s: %w", urltracker.RedactURL(databaseURL), err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = postgresConnectTimeout
	}
	conn := stdlib.OpenDB(*cfg)
	conn.SetMaxOpenConns(20)
	// As many idle as open: a burst past the idle limit would close the
	// extra connections when it ends and fork new PostgreSQL backends at the
	// next one, which costs the database more than keeping them.
	conn.SetMaxIdleConns(20)
	// Connections are renewed now and then, so that a fleet rebalances over
	// PostgreSQL replicas or poolers and never keeps a half-dead socket long.
	conn.SetConnMaxLifetime(30 * time.Minute)
	return conn, nil
}

// postgresRiverDriver runs River over the same pool. River's database/sql
// driver has no LISTEN/NOTIFY listener, so River polls for jobs (every
// second by default); a check starts at most about a second after its
// webhook, which is far inside any update interval.
func postgresRiverDriver(db *sql.DB) riverdriver.Driver[*sql.Tx] {
	return riverdatabasesql.New(db)
}
