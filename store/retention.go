package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Retention bounds the tables that grow with traffic. Deletes run in small
// batches, each its own short statement, so that webhook intake (which needs
// the same SQLite writer) waits at most one batch, never the whole purge.

// agedTables are purged by age: rows older than the retention are deleted.
// Each entry is a table and its time column (Unix microseconds).
var agedTables = []struct{ table, timeColumn string }{
	{"events", "received_at"},
}

// perOfferTables are bounded by count: each offer keeps its newest rows.
// Every such table has an offer_id column and an increasing id.
var perOfferTables = []string{
	"checks",
	"actions",
}

// RetainedTables lists every table the retention job prunes.
func RetainedTables() []string {
	tables := make([]string, 0, len(agedTables)+len(perOfferTables))
	for _, t := range agedTables {
		tables = append(tables, t.table)
	}
	return append(tables, perOfferTables...)
}

// RetentionPolicy says what to keep.
type RetentionPolicy struct {
	// MaxAge: rows of aged tables older than this are deleted.
	MaxAge time.Duration
	// KeepPerOffer: rows of per-offer tables kept for each offer, newest first.
	KeepPerOffer int
	// BatchSize: rows deleted per statement; 500 when zero.
	BatchSize int
}

// Prune deletes what p does not keep and returns the number of rows deleted
// per table. It stops early, with what it deleted so far, when ctx ends; the
// next run carries on.
func (db *DB) Prune(ctx context.Context, p RetentionPolicy) (map[string]int64, error) {
	batch := p.BatchSize
	if batch <= 0 {
		batch = 500
	}
	deleted := map[string]int64{}
	cutoff := micros(db.now().Add(-p.MaxAge))
	for _, t := range agedTables {
		query := db.q(fmt.Sprintf(`DELETE FROM %[1]s WHERE id IN (SELECT id FROM %[1]s WHERE %[2]s < ? ORDER BY %[2]s LIMIT ?)`, t.table, t.timeColumn))
		n, err := db.deleteInBatches(ctx, batch, query, cutoff, batch)
		deleted[t.table] += n
		if err != nil {
			return deleted, fmt.Errorf("prune %s older than %s: %w", t.table, p.MaxAge, err)
		}
	}
	if err := db.pruneRollups(ctx, deleted); err != nil {
		return deleted, err
	}
	if p.KeepPerOffer <= 0 {
		return deleted, nil
	}
	offers, err := db.offerIDs(ctx)
	if err != nil {
		return deleted, err
	}
	for _, table := range perOfferTables {
		for _, offerID := range offers {
			n, err := db.keepNewest(ctx, table, offerID, p.KeepPerOffer, batch)
			deleted[table] += n
			if err != nil {
				return deleted, fmt.Errorf("prune %s of offer %d: %w", table, offerID, err)
			}
		}
	}
	return deleted, nil
}

// keepNewest deletes the rows of offerID in table older than its keep newest.
func (db *DB) keepNewest(ctx context.Context, table string, offerID int64, keep, batch int) (int64, error) {
	// The id of the oldest row to keep; everything below it goes.
	var oldestKept int64
	err := db.sql.QueryRowContext(ctx, db.q(fmt.Sprintf(`SELECT id FROM %s WHERE offer_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?`, table)),
		offerID, keep-1).Scan(&oldestKept)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // fewer rows than keep: nothing to delete
	}
	if err != nil {
		return 0, err
	}
	query := db.q(fmt.Sprintf(`DELETE FROM %[1]s WHERE id IN (SELECT id FROM %[1]s WHERE offer_id = ? AND id < ? ORDER BY id LIMIT ?)`, table))
	return db.deleteInBatches(ctx, batch, query, offerID, oldestKept, batch)
}

// deleteInBatches runs a DELETE limited to batch rows until it deletes fewer.
func (db *DB) deleteInBatches(ctx context.Context, batch int, query string, args ...any) (int64, error) {
	var total int64
	for {
		res, err := db.sql.ExecContext(ctx, query, args...)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}

func (db *DB) offerIDs(ctx context.Context) ([]int64, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id FROM offers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list offer ids: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// JobCount is the number of River jobs of one queue in one state.
type JobCount struct {
	Queue string
	State string
	Count int64
}

// JobCounts counts the job queue's jobs by queue and state, for metrics.
func (db *DB) JobCounts(ctx context.Context) ([]JobCount, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT queue, state, COUNT(*) FROM river_job GROUP BY queue, state`)
	if err != nil {
		return nil, fmt.Errorf("count jobs: %w", err)
	}
	defer rows.Close()
	var counts []JobCount
	for rows.Next() {
		var c JobCount
		if err := rows.Scan(&c.Queue, &c.State, &c.Count); err != nil {
			return nil, err
		}
		counts = append(counts, c)
	}
	return counts, rows.Err()
}
