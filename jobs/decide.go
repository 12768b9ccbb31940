package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/alert"
	"github.com/urltracker/urltracker/policy"
	"github.com/urltracker/urltracker/store"
)

// decideTx runs the policy on a recorded check inside the transaction that
// records it and carries out its plans there: the new health state, the
// confirmation of the check it re-checked, the offer's next scheduled check,
// the decisions observe mode only records, and the jobs of everything that
// calls out. A check and all it causes are committed together or not at
// all.
func (q *Queue) decideTx(ctx context.Context, tx *sql.Tx, offer urltracker.Offer, check urltracker.Check, confirms int64) error {
	enabled, err := q.db.KillSwitchTx(ctx, tx)
	if err != nil {
		return err
	}
	h, err := q.db.HealthForUpdateTx(ctx, tx, offer.ID)
	if err != nil {
		return err
	}
	before := stateOf(h)
	next, plans := policy.Decide(before, offer, policy.Input{Check: check, Confirms: confirms, KillSwitchOff: !enabled})
	if confirms != 0 && enabled && check.Verdict.Health() == urltracker.HealthFailing {
		if err := q.db.ConfirmCheckTx(ctx, tx, confirms, check.ID); err != nil {
			return err
		}
	}
	if next != before {
		h = healthOf(h, next, check.StartedAt)
		if err := q.db.SaveHealthTx(ctx, tx, h); err != nil {
			return err
		}
	}
	var due time.Time
	if period, ok := urltracker.CheckPeriod(offer, next.Held); ok {
		due = check.StartedAt.Add(period)
	}
	if err := q.db.SetNextCheckTx(ctx, tx, offer.ID, due); err != nil {
		return err
	}
	for _, p := range plans {
		if err := q.carryOutTx(ctx, tx, offer, check, before.LastVerdict, p); err != nil {
			return err
		}
	}
	return nil
}

// carryOutTx carries out one plan inside the check's transaction: a
// confirmation is a check job for later; a decision observe mode only
// records, or a proposal waiting for approval, goes to the actions log; an
// action to send is a job on the actions queue.
func (q *Queue) carryOutTx(ctx context.Context, tx *sql.Tx, offer urltracker.Offer, check urltracker.Check, previous urltracker.Verdict, p policy.Plan) error {
	if p.Kind == policy.KindConfirm {
		opts := &river.InsertOpts{Queue: QueueChecks, MaxAttempts: 3, ScheduledAt: time.Now().Add(p.After)}
		if _, err := q.client.InsertTx(ctx, tx, CheckArgs{OfferID: offer.ID, Confirms: check.ID}, opts); err != nil {
			return fmt.Errorf("enqueue the confirmation of check %d: %w", check.ID, err)
		}
		return nil
	}
	kind := urltracker.ActionKind(p.Kind)
	if p.Observe || p.AwaitApproval {
		entry := urltracker.Action{OfferID: offer.ID, CheckID: check.ID, Kind: kind, At: check.StartedAt.UTC(),
			Reason: p.Reason, Destination: p.Redirect, Outcome: urltracker.ActionObserved}
		if !p.Observe {
			entry.Outcome = urltracker.ActionAwaitingApproval
		}
		return q.db.RecordActionTx(ctx, tx, &entry)
	}
	args := ActionArgs{OfferID: offer.ID, OfferCreatedAt: offer.CreatedAt, CampaignID: offer.Trackier.CampaignID,
		APIBaseURL: offer.Trackier.APIBaseURL, CheckID: check.ID, Action: kind, Status: p.Status, Reason: p.Reason,
		Redirect: p.Redirect, Alert: alert.Alert{
			OfferID: offer.ID, OfferName: offer.Name, Verdict: string(check.Verdict), PreviousVerdict: string(previous),
			CheckID: check.ID, FinalURL: check.FinalURL, Error: check.Error, Timestamp: check.StartedAt.UTC(),
			Event: p.Event, Text: p.Text,
		}}
	if _, err := q.client.InsertTx(ctx, tx, args, actionInsertOpts()); err != nil {
		return fmt.Errorf("enqueue %s of offer %d: %w", kind, offer.ID, err)
	}
	return nil
}

// stateOf is the policy's view of a stored health state.
func stateOf(h store.Health) policy.State {
	return policy.State{
		Held: h.State == urltracker.StateHeld, Observed: h.HoldObserved, HoldStatus: h.HoldStatus,
		Failures: h.ConsecutiveFailures, Successes: h.ConsecutiveSuccesses, LastVerdict: h.LastVerdict,
		Redirect: h.Redirect, Proposed: h.ProposedDestination, CertificatesWarned: h.CertificatesWarned,
	}
}

// healthOf is h with the policy's new state s, decided by a check at at.
func healthOf(h store.Health, s policy.State, at time.Time) store.Health {
	wasHeld := h.State == urltracker.StateHeld
	h.State = urltracker.StateActive
	if s.Held {
		h.State = urltracker.StateHeld
	}
	switch {
	case s.Held && (!wasHeld || h.HoldObserved != s.Observed):
		at := at.UTC()
		h.HeldAt = &at
	case !s.Held:
		h.HeldAt = nil
	}
	h.HoldObserved, h.HoldStatus = s.Observed, s.HoldStatus
	h.ConsecutiveFailures, h.ConsecutiveSuccesses, h.LastVerdict = s.Failures, s.Successes, s.LastVerdict
	h.Redirect, h.ProposedDestination, h.CertificatesWarned = s.Redirect, s.Proposed, s.CertificatesWarned
	return h
}

// Approve sends a destination proposal that awaits approval: in one
// transaction it marks the proposal approved and enqueues its
// set_destination, which reads the campaign again when it runs. It returns
// the proposal; ErrNotFound or ErrConflict say why not.
func (q *Queue) Approve(ctx context.Context, offerID, actionID int64) (urltracker.Action, error) {
	offer, err := q.db.Offer(ctx, offerID)
	if err != nil {
		return urltracker.Action{}, err
	}
	var a urltracker.Action
	err = q.db.InTx(ctx, func(tx *sql.Tx) error {
		a, err = q.db.ApproveActionTx(ctx, tx, offerID, actionID, time.Now())
		if err != nil {
			return err
		}
		args := ActionArgs{OfferID: offer.ID, OfferCreatedAt: offer.CreatedAt, CampaignID: offer.Trackier.CampaignID,
			APIBaseURL: offer.Trackier.APIBaseURL, CheckID: a.CheckID, Action: urltracker.ActionSetDestination,
			Redirect: a.Destination, Reason: a.Reason + "; approved by an admin",
			Alert: alert.Alert{OfferID: offer.ID, OfferName: offer.Name, CheckID: a.CheckID, Timestamp: time.Now().UTC()}}
		if _, err := q.client.InsertTx(ctx, tx, args, actionInsertOpts()); err != nil {
			return fmt.Errorf("enqueue the approved set_destination of offer %d: %w", offer.ID, err)
		}
		return nil
	})
	return a, err
}
