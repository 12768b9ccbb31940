package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"sort"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// pgSchema creates a fresh schema and returns a database URL that uses it.
func pgSchema(base, schema string) (string, func(), error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		db.Close()
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	}, nil
}

// pgCommitLatency measures the fsync bound of ingest: the median time of an
// autocommitted single-row insert on one connection, in a table of a fresh
// schema, for d. Each commit waits for PostgreSQL's WAL flush, so its time
// is the flush plus one round trip.
func pgCommitLatency(base string, d time.Duration) (time.Duration, error) {
	schema := fmt.Sprintf("bench_fsync_%d", os.Getpid())
	url, cleanup, err := pgSchema(base, schema)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	db, err := sql.Open("pgx", url)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE TABLE flush (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v TEXT NOT NULL)"); err != nil {
		return 0, err
	}
	var times []time.Duration
	for end := time.Now().Add(d); time.Now().Before(end); {
		start := time.Now()
		if _, err := db.ExecContext(ctx, "INSERT INTO flush (v) VALUES ($1)", "x"); err != nil {
			return 0, err
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], nil
}
