package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/urltracker/urltracker"
)

// The health history is kept as rollups, one row per offer and hour, so
// that retention, which prunes checks by count, never erases it. Each
// check adds itself to its hour inside the transaction that records it.

// RollupRetention is how long the hourly rollups are kept: the longest
// history window and a day of slack.
const RollupRetention = 31 * 24 * time.Hour

// verdictRanks orders verdicts from best to worst, for the worst verdict
// of an hour. Migration 0009 writes the same in SQL.
var verdictRanks = []urltracker.Verdict{
	urltracker.VerdictHealthy, urltracker.VerdictBlocked, urltracker.VerdictRefused, urltracker.VerdictSlow,
	urltracker.VerdictTooManyHops, urltracker.VerdictContentMismatch, urltracker.VerdictUnexpectedLanding,
	urltracker.VerdictSoft404, urltracker.VerdictOfferExpired, urltracker.VerdictParkedDomain,
	urltracker.VerdictTimeout, urltracker.VerdictLoop, urltracker.VerdictBroken,
}

// VerdictRank is how bad v is: 0 for healthy, higher for worse, and the
// rank of broken for a verdict this build does not know.
func VerdictRank(v urltracker.Verdict) int {
	if i := slices.Index(verdictRanks, v); i >= 0 {
		return i
	}
	return len(verdictRanks) - 1
}

// durationBuckets are the upper bounds (ms) of the chain-time histogram;
// a time past the last is its own bucket. Migration 0009 writes the same
// in SQL.
var durationBuckets = []int64{10, 20, 30, 50, 75, 100, 150, 200, 250, 300, 400, 500, 600, 750, 1000, 1250, 1500,
	2000, 2500, 3000, 4000, 5000, 6000, 7500, 10000, 12500, 15000, 20000, 25000, 30000, 45000, 60000}

// DurationBucket is the upper bound of the histogram bucket that holds a
// chain time of ms.
func DurationBucket(ms int64) int64 {
	if i, _ := slices.BinarySearch(durationBuckets, ms); i < len(durationBuckets) {
		return durationBuckets[i]
	}
	return ms
}

// rollUpTx adds check c to its offer's hour inside tx.
func (db *DB) rollUpTx(ctx context.Context, tx *sql.Tx, c *urltracker.Check) error {
	hour := micros(c.StartedAt.Truncate(time.Hour))
	healthy, counted := 0, 1
	switch c.Verdict.Health() {
	case urltracker.HealthHealthy:
		healthy = 1
	case urltracker.HealthNeutral:
		counted = 0
	}
	_, err := tx.ExecContext(ctx, db.q(`INSERT INTO check_rollups (offer_id, hour, checks, healthy, counted, worst_rank, worst_verdict)
		VALUES (?, ?, 1, ?, ?, ?, ?)
		ON CONFLICT (offer_id, hour) DO UPDATE SET checks = check_rollups.checks + 1,
			healthy = check_rollups.healthy + excluded.healthy, counted = check_rollups.counted + excluded.counted,
			worst_verdict = CASE WHEN excluded.worst_rank > check_rollups.worst_rank THEN excluded.worst_verdict ELSE check_rollups.worst_verdict END,
			worst_rank = CASE WHEN excluded.worst_rank > check_rollups.worst_rank THEN excluded.worst_rank ELSE check_rollups.worst_rank END`),
		c.OfferID, hour, healthy, counted, VerdictRank(c.Verdict), string(c.Verdict))
	if err != nil {
		return fmt.Errorf("roll up check of offer %d: %w", c.OfferID, err)
	}
	_, err = tx.ExecContext(ctx, db.q(`INSERT INTO check_durations (offer_id, hour, le_ms, n) VALUES (?, ?, ?, 1)
		ON CONFLICT (offer_id, hour, le_ms) DO UPDATE SET n = check_durations.n + 1`),
		c.OfferID, hour, DurationBucket(c.DurationMS))
	if err != nil {
		return fmt.Errorf("roll up chain time of offer %d: %w", c.OfferID, err)
	}
	return nil
}

// HistoryWindows are the windows History answers, with the width of their
// buckets.
var HistoryWindows = map[string]struct{ Span, Bucket time.Duration }{
	"24h": {24 * time.Hour, time.Hour},
	"7d":  {7 * 24 * time.Hour, 24 * time.Hour},
	"30d": {30 * 24 * time.Hour, 24 * time.Hour},
}

// History answers an offer's health over a window ("24h", "7d" or "30d")
// ending now: the healthy ratio of the checks that count, the chain time's
// median and 95th percentile (as the upper bound of their histogram
// bucket), and one bucket per hour (24h) or UTC day, oldest first, with
// the worst verdict in each.
func (db *DB) History(ctx context.Context, offerID int64, window string) (urltracker.History, error) {
	w, ok := HistoryWindows[window]
	if !ok {
		return urltracker.History{}, fmt.Errorf("window %q: want 24h, 7d or 30d", window)
	}
	now := db.now()
	// The buckets end with the current one, so the window reaches back
	// whole buckets.
	last := now.UTC().Truncate(w.Bucket)
	n := int(w.Span / w.Bucket)
	first := last.Add(-time.Duration(n-1) * w.Bucket)
	h := urltracker.History{Window: window, Buckets: make([]urltracker.HistoryBucket, n)}
	for i := range h.Buckets {
		h.Buckets[i] = urltracker.HistoryBucket{Start: first.Add(time.Duration(i) * w.Bucket)}
	}
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT hour, checks, healthy, counted, worst_rank, worst_verdict
		FROM check_rollups WHERE offer_id = ? AND hour >= ? ORDER BY hour`), offerID, micros(first))
	if err != nil {
		return h, fmt.Errorf("history of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	var counted, healthy int64
	worst := make([]int, n)
	for rows.Next() {
		var hour, checks, good, cnt int64
		var rank int
		var verdict string
		if err := rows.Scan(&hour, &checks, &good, &cnt, &rank, &verdict); err != nil {
			return h, err
		}
		i := int(fromMicros(hour).Sub(first) / w.Bucket)
		if i < 0 || i >= n {
			continue
		}
		b := &h.Buckets[i]
		if b.Checks == 0 || rank > worst[i] {
			b.WorstVerdict, worst[i] = urltracker.Verdict(verdict), rank
		}
		b.Checks += checks
		b.Healthy += good
		h.Checks += checks
		counted += cnt
		healthy += good
	}
	if err := rows.Err(); err != nil {
		return h, err
	}
	if counted > 0 {
		ratio := float64(healthy) / float64(counted)
		h.HealthyRatio = &ratio
	}
	h.P50MS, h.P95MS, err = db.percentiles(ctx, offerID, micros(first))
	return h, err
}

// percentiles reads the chain-time histogram since from and returns the
// median and the 95th percentile; nil without checks.
func (db *DB) percentiles(ctx context.Context, offerID, from int64) (p50, p95 *int64, err error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT le_ms, SUM(n) FROM check_durations
		WHERE offer_id = ? AND hour >= ? GROUP BY le_ms ORDER BY le_ms`), offerID, from)
	if err != nil {
		return nil, nil, fmt.Errorf("chain times of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	type bucket struct{ le, n int64 }
	var buckets []bucket
	var total int64
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.le, &b.n); err != nil {
			return nil, nil, err
		}
		buckets = append(buckets, b)
		total += b.n
	}
	if err := rows.Err(); err != nil || total == 0 {
		return nil, nil, err
	}
	at := func(q float64) *int64 {
		// The rank of the q-quantile, 1-based, rounded up.
		rank := int64(q*float64(total) + 0.999999)
		var seen int64
		for _, b := range buckets {
			if seen += b.n; seen >= rank {
				return &b.le
			}
		}
		return &buckets[len(buckets)-1].le
	}
	return at(0.5), at(0.95), nil
}

// pruneRollups deletes rollups older than RollupRetention.
func (db *DB) pruneRollups(ctx context.Context, deleted map[string]int64) error {
	cutoff := micros(db.now().Add(-RollupRetention))
	for _, table := range []string{"check_rollups", "check_durations"} {
		// One statement: the job runs often, so each run finds an hour or
		// so per offer to delete, a handful of rows.
		res, err := db.sql.ExecContext(ctx, db.q(`DELETE FROM `+table+` WHERE hour < ?`), cutoff)
		if err != nil {
			return fmt.Errorf("prune %s: %w", table, err)
		}
		n, _ := res.RowsAffected()
		deleted[table] += n
	}
	return nil
}

// Tick is one check as the overview's strip shows it.
type Tick struct {
	At         time.Time
	Verdict    urltracker.Verdict
	DurationMS int64
}

// Ticks answers an offer's last n checks, oldest first.
func (db *DB) Ticks(ctx context.Context, offerID int64, n int) ([]Tick, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT started_at, verdict, duration_ms FROM checks
		WHERE offer_id = ? ORDER BY id DESC LIMIT ?`), offerID, n)
	if err != nil {
		return nil, fmt.Errorf("last checks of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	var ticks []Tick
	for rows.Next() {
		var t Tick
		var at int64
		var verdict string
		if err := rows.Scan(&at, &verdict, &t.DurationMS); err != nil {
			return nil, err
		}
		t.At, t.Verdict = fromMicros(at), urltracker.Verdict(verdict)
		ticks = append(ticks, t)
	}
	slices.Reverse(ticks)
	return ticks, rows.Err()
}

// OfferUptime is an enabled offer's health as the metrics show it.
type OfferUptime struct {
	OfferID     int64
	LastVerdict urltracker.Verdict
	// Healthy and Counted are the checks since the cut-off that were
	// healthy, and that count toward health.
	Healthy, Counted int64
}

// OfferUptimes answers every enabled offer's last verdict and its checks
// since since, from the rollups (whole hours: the hour holding since
// counts whole).
func (db *DB) OfferUptimes(ctx context.Context, since time.Time) ([]OfferUptime, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT o.id, COALESCE(c.last_verdict, ''),
		COALESCE(SUM(r.healthy), 0), COALESCE(SUM(r.counted), 0)
		FROM offers o LEFT JOIN offer_counters c ON c.offer_id = o.id
		LEFT JOIN check_rollups r ON r.offer_id = o.id AND r.hour >= ?
		WHERE o.enabled GROUP BY o.id, c.last_verdict ORDER BY o.id`), micros(since.Truncate(time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("offer uptimes: %w", err)
	}
	defer rows.Close()
	var out []OfferUptime
	for rows.Next() {
		var u OfferUptime
		var verdict string
		if err := rows.Scan(&u.OfferID, &verdict, &u.Healthy, &u.Counted); err != nil {
			return nil, err
		}
		u.LastVerdict = urltracker.Verdict(verdict)
		out = append(out, u)
	}
	return out, rows.Err()
}

// OffersWithExpiringCertificates counts the enabled offers whose latest
// check warned that a certificate on its chain expires soon
// (URLTRACKER_CERT_WARN_DAYS). One index lookup per offer.
func (db *DB) OffersWithExpiringCertificates(ctx context.Context) (int64, error) {
	var n int64
	err := db.sql.QueryRowContext(ctx, db.q(`SELECT COUNT(*) FROM offers o WHERE o.enabled AND
		(SELECT ch.signals FROM checks ch WHERE ch.offer_id = o.id ORDER BY ch.id DESC LIMIT 1) LIKE ?`),
		`%"`+urltracker.SignalCertificateExpiresSoon+`"%`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("offers with expiring certificates: %w", err)
	}
	return n, nil
}
