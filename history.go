package urltracker

import "time"

// History is an offer's health over a window, as the history endpoint
// answers it.
type History struct {
	// Window is "24h", "7d" or "30d".
	Window string `json:"window"`
	// HealthyRatio is the share of healthy checks among those that count
	// (all but blocked and refused); nil when none counted.
	HealthyRatio *float64 `json:"healthy_ratio"`
	Checks       int64    `json:"checks"`
	// P50MS and P95MS are the median and 95th percentile chain times, as
	// the upper bound of the histogram bucket they fall in; nil without
	// checks.
	P50MS   *int64          `json:"p50_ms"`
	P95MS   *int64          `json:"p95_ms"`
	Buckets []HistoryBucket `json:"buckets"`
}

// HistoryBucket is one hour (window 24h) or UTC day of a History.
type HistoryBucket struct {
	Start   time.Time `json:"start"`
	Checks  int64     `json:"checks"`
	Healthy int64     `json:"healthy"`
	// WorstVerdict is the worst verdict of the bucket's checks; empty
	// when it has none.
	WorstVerdict Verdict `json:"worst_verdict"`
}
