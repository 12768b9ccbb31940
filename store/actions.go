package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
)

// Health is an offer's health state: the streaks of counted checks and
// whether urltracker holds its campaign.
type Health struct {
	OfferID int64                  `json:"offer_id"`
	State   urltracker.HealthState `json:"state"`
	// HoldObserved marks a hold that observe mode only recorded.
	HoldObserved bool `json:"hold_observed"`
	// HoldStatus is the campaign status the hold set.
	HoldStatus urltracker.HoldStatus `json:"hold_status,omitempty"`
	// HeldAt is when the hold was decided.
	HeldAt               *time.Time `json:"held_at,omitempty"`
	ConsecutiveFailures  int        `json:"consecutive_failures"`
	ConsecutiveSuccesses int        `json:"consecutive_successes"`
	// LastVerdict is the verdict of the last counted check; empty before
	// the first.
	LastVerdict urltracker.Verdict `json:"last_verdict"`
	// Redirect is where the offer link's first hop pointed with a
	// permanent redirect on the last counted check.
	Redirect string `json:"redirect,omitempty"`
	// ProposedDestination is the redirect target last proposed.
	ProposedDestination string `json:"proposed_destination,omitempty"`
	// CertificatesWarned lists, one a line, the certificates an alert
	// already warned of.
	CertificatesWarned string `json:"-"`
}

const healthColumns = `state, hold_observed, hold_status, held_at, consecutive_failures, consecutive_successes, last_verdict,
	redirect, proposed_destination, certificates_warned`

func scanHealth(s scanner, h *Health) error {
	var heldAt sql.NullInt64
	if err := s.Scan(&h.State, &h.HoldObserved, &h.HoldStatus, &heldAt, &h.ConsecutiveFailures, &h.ConsecutiveSuccesses,
		&h.LastVerdict, &h.Redirect, &h.ProposedDestination, &h.CertificatesWarned); err != nil {
		return err
	}
	h.HeldAt = fromNullMicros(heldAt)
	return nil
}

// HealthForUpdateTx loads the offer's health state inside tx, creating it if
// needed, and locks it until tx ends so that two checks of the same offer
// cannot both count from the same streak.
func (db *DB) HealthForUpdateTx(ctx context.Context, tx *sql.Tx, offerID int64) (Health, error) {
	if _, err := tx.ExecContext(ctx, db.q(`INSERT INTO offer_health (offer_id, state, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (offer_id) DO NOTHING`), offerID, string(urltracker.StateActive), micros(db.now())); err != nil {
		return Health{}, fmt.Errorf("create health of offer %d: %w", offerID, err)
	}
	query := `SELECT ` + healthColumns + ` FROM offer_health WHERE offer_id = ?`
	if db.dialect == Postgres {
		query += ` FOR UPDATE`
	}
	h := Health{OfferID: offerID}
	if err := scanHealth(tx.QueryRowContext(ctx, db.q(query), offerID), &h); err != nil {
		return h, fmt.Errorf("load health of offer %d: %w", offerID, err)
	}
	return h, nil
}

// SaveHealthTx stores h inside tx.
func (db *DB) SaveHealthTx(ctx context.Context, tx *sql.Tx, h Health) error {
	var heldAt sql.NullInt64
	if h.HeldAt != nil {
		heldAt = sql.NullInt64{Int64: micros(*h.HeldAt), Valid: true}
	}
	_, err := tx.ExecContext(ctx, db.q(`UPDATE offer_health SET state = ?, hold_observed = ?, hold_status = ?, held_at = ?,
		consecutive_failures = ?, consecutive_successes = ?, last_verdict = ?, redirect = ?, proposed_destination = ?,
		certificates_warned = ?, updated_at = ? WHERE offer_id = ?`),
		string(h.State), h.HoldObserved, string(h.HoldStatus), heldAt, h.ConsecutiveFailures, h.ConsecutiveSuccesses,
		string(h.LastVerdict), h.Redirect, h.ProposedDestination, h.CertificatesWarned, micros(db.now()), h.OfferID)
	if err != nil {
		return fmt.Errorf("save health of offer %d: %w", h.OfferID, err)
	}
	return nil
}

// SwapHealthStateTx sets the offer's state to to if it is from, and reports
// whether it did.
func (db *DB) SwapHealthStateTx(ctx context.Context, tx *sql.Tx, offerID int64, from, to urltracker.HealthState) (bool, error) {
	res, err := tx.ExecContext(ctx, db.q(`UPDATE offer_health SET state = ?, updated_at = ? WHERE offer_id = ? AND state = ?`),
		string(to), micros(db.now()), offerID, string(from))
	if err != nil {
		return false, fmt.Errorf("set health state of offer %d: %w", offerID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Health loads the offer's health state; an offer never counted is active
// with empty streaks.
func (db *DB) Health(ctx context.Context, offerID int64) (Health, error) {
	h := Health{OfferID: offerID, State: urltracker.StateActive}
	err := scanHealth(db.sql.QueryRowContext(ctx, db.q(`SELECT `+healthColumns+` FROM offer_health WHERE offer_id = ?`), offerID), &h)
	if errors.Is(err, sql.ErrNoRows) {
		return h, nil
	}
	if err != nil {
		return h, fmt.Errorf("load health of offer %d: %w", offerID, err)
	}
	return h, nil
}

// KillSwitchTx reads the kill switch inside tx, bypassing the cache: a
// decision taken in a transaction must see the switch as it is now. (On
// SQLite it must also not wait for the pool's only connection, which tx
// holds.)
func (db *DB) KillSwitchTx(ctx context.Context, tx *sql.Tx) (bool, error) {
	var enabled bool
	if err := tx.QueryRowContext(ctx, `SELECT enabled FROM kill_switch WHERE id = 1`).Scan(&enabled); err != nil {
		return false, fmt.Errorf("read kill switch: %w", err)
	}
	return enabled, nil
}

// RecordActionTx appends one action attempt to the actions log inside tx and
// sets a.ID. Callers redact secrets from a before.
func (db *DB) RecordActionTx(ctx context.Context, tx *sql.Tx, a *urltracker.Action) error {
	request := string(a.Request)
	if request == "" {
		request = "{}"
	}
	var checkID, next, verified sql.NullInt64
	if a.CheckID != 0 {
		checkID = sql.NullInt64{Int64: a.CheckID, Valid: true}
	}
	if a.NextAttemptAt != nil {
		next = sql.NullInt64{Int64: micros(*a.NextAttemptAt), Valid: true}
	}
	if a.VerifiedAfterMS != nil {
		verified = sql.NullInt64{Int64: *a.VerifiedAfterMS, Valid: true}
	}
	err := tx.QueryRowContext(ctx, db.q(`INSERT INTO actions (offer_id, check_id, job_id, kind, attempt, at, outcome, success,
		status_code, error, duration_ms, request, next_attempt_at, verified_after_ms, reason, destination)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.OfferID, checkID, a.JobID, string(a.Kind), a.Attempt, micros(a.At), string(a.Outcome), a.Success,
		a.StatusCode, a.Error, a.DurationMS, request, next, verified, a.Reason, a.Destination).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("record %s action of offer %d: %w", a.Kind, a.OfferID, err)
	}
	return nil
}

// actionColumns are the columns scanAction reads, in its order.
const actionColumns = `id, offer_id, check_id, job_id, kind, attempt, at, outcome, success,
	status_code, error, duration_ms, request, next_attempt_at, verified_after_ms, reason, destination, approved_at`

func scanAction(s scanner) (urltracker.Action, error) {
	var a urltracker.Action
	var checkID, next, verified, approved sql.NullInt64
	var at int64
	var kind, outcome, request string
	if err := s.Scan(&a.ID, &a.OfferID, &checkID, &a.JobID, &kind, &a.Attempt, &at, &outcome, &a.Success,
		&a.StatusCode, &a.Error, &a.DurationMS, &request, &next, &verified, &a.Reason, &a.Destination, &approved); err != nil {
		return a, err
	}
	a.CheckID, a.Kind, a.Outcome = checkID.Int64, urltracker.ActionKind(kind), urltracker.ActionOutcome(outcome)
	a.At, a.NextAttemptAt, a.Request = fromMicros(at), fromNullMicros(next), []byte(request)
	a.ApprovedAt = fromNullMicros(approved)
	if verified.Valid {
		a.VerifiedAfterMS = &verified.Int64
	}
	return a, nil
}

// Actions lists an offer's action attempts, newest first.
func (db *DB) Actions(ctx context.Context, offerID int64, limit int) ([]urltracker.Action, error) {
	rows, err := db.sql.QueryContext(ctx, db.q(`SELECT `+actionColumns+` FROM actions WHERE offer_id = ? ORDER BY id DESC LIMIT ?`), offerID, limit)
	if err != nil {
		return nil, fmt.Errorf("list actions of offer %d: %w", offerID, err)
	}
	defer rows.Close()
	actions := []urltracker.Action{}
	for rows.Next() {
		a, err := scanAction(rows)
		if err != nil {
			return nil, fmt.Errorf("list actions of offer %d: %w", offerID, err)
		}
		actions = append(actions, a)
	}
	return actions, rows.Err()
}

// ApproveActionTx marks inside tx the offer's proposal actionID approved at
// at and returns it. A proposal is approved once: one that is not awaiting
// approval, or was approved already, is ErrConflict; an unknown one
// ErrNotFound.
func (db *DB) ApproveActionTx(ctx context.Context, tx *sql.Tx, offerID, actionID int64, at time.Time) (urltracker.Action, error) {
	a, err := scanAction(tx.QueryRowContext(ctx, db.q(`UPDATE actions SET approved_at = ?
		WHERE id = ? AND offer_id = ? AND outcome = ? AND approved_at IS NULL RETURNING `+actionColumns),
		micros(at), actionID, offerID, string(urltracker.ActionAwaitingApproval)))
	if err == nil {
		return a, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("approve action %d of offer %d: %w", actionID, offerID, err)
	}
	var outcome string
	var approved sql.NullInt64
	err = tx.QueryRowContext(ctx, db.q(`SELECT outcome, approved_at FROM actions WHERE id = ? AND offer_id = ?`), actionID, offerID).Scan(&outcome, &approved)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return a, fmt.Errorf("action %d of offer %d: %w", actionID, offerID, urltracker.ErrNotFound)
	case err != nil:
		return a, fmt.Errorf("approve action %d of offer %d: %w", actionID, offerID, err)
	case approved.Valid:
		return a, fmt.Errorf("%w: action %d was approved already, at %s", urltracker.ErrConflict, actionID, fromMicros(approved.Int64).Format(time.RFC3339))
	}
	return a, fmt.Errorf("%w: action %d is %s, not awaiting approval", urltracker.ErrConflict, actionID, outcome)
}
