package jobs

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/policy"
	"github.com/urltracker/urltracker/trackier"
)

// QueueActions is the River queue of Trackier calls. It is apart
// from the checks so that a slow Trackier API never delays a check.
const QueueActions = "actions"

// Retry schedule of an action: the first retry comes actionRetryBase after
// the failed attempt, each next one twice as late. With 8 attempts the last
// one runs about 10.5 minutes after the first (5+10+…+320 s); then the
// action is recorded as failed.
const (
	actionRetryBase   = 5 * time.Second
	actionMaxAttempts = 8
)

// ActionArgs asks for one action on an offer. It never holds the Trackier
// API key (River stores job arguments in plain text): the worker reads the
// key from the offer when it runs.
type ActionArgs struct {
	OfferID int64 `json:"offer_id"`
	// OfferCreatedAt, CampaignID and APIBaseURL are the offer and its
	// Trackier binding when the action was decided. The worker sends nothing
	// unless the offer still is that offer, bound to that campaign at that
	// API (see target).
	OfferCreatedAt time.Time             `json:"offer_created_at"`
	CampaignID     string                `json:"campaign_id"`
	APIBaseURL     string                `json:"api_base_url"`
	CheckID        int64                 `json:"check_id"`
	Action         urltracker.ActionKind `json:"action"`
	// Status is the campaign status a pause sets (the policy's hold
	// status).
	Status urltracker.HoldStatus `json:"status,omitempty"`
	// Redirect is the permanent redirect target a set_destination follows.
	Redirect string `json:"redirect,omitempty"`
	// Reason says why the action was decided.
	Reason string `json:"reason,omitempty"`
}

// Kind names the job in River's tables.
func (ActionArgs) Kind() string { return "offer_action" }

func actionInsertOpts() *river.InsertOpts {
	return &river.InsertOpts{Queue: QueueActions, MaxAttempts: actionMaxAttempts}
}

// retryDelay is the wait after failed attempt n (1-based).
func retryDelay(attempt int) time.Duration {
	if attempt < 1 {
		attempt = 1
	}
	return actionRetryBase << min(attempt-1, 10)
}

// actionWorker performs action jobs: one Trackier call per attempt, each
// attempt written to the actions log.
type actionWorker struct {
	river.WorkerDefaults[ActionArgs]
	q        *Queue
	trackier *trackier.Client
	timeout  time.Duration
	// verifyTimeout and verifyFirstPoll bound the read-back after a write.
	verifyTimeout, verifyFirstPoll time.Duration
	logger                         *slog.Logger
	metrics                        *metrics.Metrics
}

// NextRetry backs off exponentially from actionRetryBase.
func (w *actionWorker) NextRetry(job *river.Job[ActionArgs]) time.Time {
	return time.Now().Add(retryDelay(job.Attempt))
}

// Timeout leaves the calls (a read, a write that may fall back to a second
// endpoint, a last read) their own deadlines, the verification its time,
// and time to record the attempt.
func (w *actionWorker) Timeout(*river.Job[ActionArgs]) time.Duration {
	return w.verifyTimeout + 4*w.timeout + 15*time.Second
}

// callResult is one attempt's outcome, ready for the actions log.
type callResult struct {
	request    any
	statusCode int
	duration   time.Duration
	err        error
	// skipped says why nothing was sent: the campaign's status was not one
	// urltracker may change.
	skipped string
	// verified is how long after the write Trackier's read showed it.
	verified *time.Duration
}

// retryable is implemented by the errors of the trackier client.
type retryable interface{ Retryable() bool }

func (w *actionWorker) Work(ctx context.Context, job *river.Job[ActionArgs]) error {
	args := job.Args
	db := w.q.db
	offer, err := db.Offer(ctx, args.OfferID)
	if errors.Is(err, urltracker.ErrNotFound) {
		w.logger.Info("action dropped: the offer was deleted", "offer_id", args.OfferID, "kind", args.Action)
		return nil
	}
	if err != nil {
		return err
	}
	if !offer.CreatedAt.Equal(args.OfferCreatedAt) {
		// Not the offer this action was decided for: nothing of it may be
		// sent, nor logged on an offer it does not belong to.
		w.logger.Warn("action dropped: decided for another offer than the one now under this id", "offer_id", args.OfferID,
			"kind", args.Action, "decided_for_created_at", args.OfferCreatedAt, "offer_created_at", offer.CreatedAt)
		return nil
	}
	entry := urltracker.Action{OfferID: args.OfferID, CheckID: args.CheckID, JobID: job.ID, Kind: args.Action,
		Attempt: job.Attempt, At: time.Now().UTC(), Reason: args.Reason, Destination: args.Redirect}

	enabled, err := db.KillSwitch(ctx)
	if err != nil {
		return err
	}
	stale := target(offer.Offer, args)
	if stale == "" {
		if stale, err = w.stale(ctx, args); err != nil {
			return err
		}
	}
	held := ""
	if args.Action == urltracker.ActionSetDestination {
		if held, err = w.holds(ctx, args.OfferID); err != nil {
			return err
		}
	}
	var res callResult
	switch {
	case !enabled:
		// Stale actions after an emergency are worse than none: drop it.
		entry.Outcome, entry.Error = urltracker.ActionSuppressed, "the kill switch was off when this action came due; it will not be sent"
	case stale != "":
		entry.Outcome, entry.Error = urltracker.ActionFailed, stale
	case held != "":
		entry.Outcome, entry.Error = urltracker.ActionSkipped, held
	default:
		res = w.perform(ctx, offer.Offer, args, job.Attempt)
		entry.StatusCode, entry.DurationMS = res.statusCode, res.duration.Milliseconds()
		if res.verified != nil {
			ms := res.verified.Milliseconds()
			entry.VerifiedAfterMS = &ms
		}
		var r retryable
		switch {
		case res.skipped != "":
			entry.Outcome, entry.Error = urltracker.ActionSkipped, res.skipped
		case res.err == nil:
			entry.Outcome, entry.Success = urltracker.ActionSucceeded, true
		case errors.As(res.err, &r) && r.Retryable() && job.Attempt < job.MaxAttempts:
			entry.Outcome, entry.Error = urltracker.ActionRetrying, res.err.Error()
			next := time.Now().Add(retryDelay(job.Attempt)).UTC()
			entry.NextAttemptAt = &next
		default:
			entry.Outcome, entry.Error = urltracker.ActionFailed, res.err.Error()
			if errors.As(res.err, &r) && r.Retryable() {
				entry.Error += fmt.Sprintf("; gave up after %d attempts", job.Attempt)
			}
		}
	}
	request, _ := jsonenc.Marshal(res.request)
	if res.request == nil {
		request = []byte("{}")
	}
	// The key is never put in a request or error on purpose; this makes
	// sure an API that echoes it back cannot smuggle it into the log.
	entry.Request = json.RawMessage(redact(string(request), offer.Trackier.APIKey))
	entry.Error = redact(entry.Error, offer.Trackier.APIKey)

	// The attempt is logged even when the job's own deadline or a shutdown
	// cut the call short.
	logCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	report := enabled && stale == "" && held == ""
	err = db.InTx(logCtx, func(tx *sql.Tx) error {
		if err := db.RecordActionTx(logCtx, tx, &entry); err != nil {
			return err
		}
		return w.settle(logCtx, tx, offer.Offer, args, entry, report)
	})
	if err != nil {
		return fmt.Errorf("record %s of offer %d: %w", args.Action, args.OfferID, err)
	}
	w.logger.Info("action attempt", "offer_id", args.OfferID, "kind", args.Action, "attempt", job.Attempt,
		"outcome", entry.Outcome, "status_code", entry.StatusCode, "duration_ms", entry.DurationMS, "error", entry.Error)
	w.metrics.ObserveAction(string(args.Action), string(entry.Outcome))
	if entry.Outcome == urltracker.ActionRetrying {
		return errors.New(entry.Error) // River schedules the retry with NextRetry
	}
	return nil
}

// target tells why the offer's Trackier binding is no longer the one the
// action was decided for, or "" when it still is. Pausing, resuming or
// redirecting campaign B on a decision about campaign A is never right.
func target(offer urltracker.Offer, args ActionArgs) string {
	switch {
	case offer.Trackier.CampaignID != args.CampaignID:
		return fmt.Sprintf("not sent: the offer's campaign changed from %q to %q after this action was decided", args.CampaignID, offer.Trackier.CampaignID)
	case offer.Trackier.APIBaseURL != args.APIBaseURL:
		return fmt.Sprintf("not sent: the offer's Trackier API changed from %q to %q after this action was decided", args.APIBaseURL, offer.Trackier.APIBaseURL)
	}
	return ""
}

// stale tells why a pause or resume was made pointless by a later check,
// such as a pause still retrying when the offer has already recovered; it
// returns "" when the action is still wanted.
func (w *actionWorker) stale(ctx context.Context, args ActionArgs) (string, error) {
	var want urltracker.HealthState
	switch args.Action {
	case urltracker.ActionPause:
		want = urltracker.StateHeld
	case urltracker.ActionResume:
		want = urltracker.StateActive
	default:
		return "", nil
	}
	h, err := w.q.db.Health(ctx, args.OfferID)
	if err != nil {
		return "", err
	}
	if h.State != want {
		return fmt.Sprintf("not sent: superseded by a later check (the offer is now %s)", h.State), nil
	}
	return "", nil
}

// holds says why urltracker must not edit the offer's campaign now, or "":
// it never edits a campaign it holds.
func (w *actionWorker) holds(ctx context.Context, offerID int64) (string, error) {
	h, err := w.q.db.Health(ctx, offerID)
	if err != nil {
		return "", err
	}
	if h.State == urltracker.StateHeld && !h.HoldObserved {
		return fmt.Sprintf("urltracker holds the campaign (%s): not edited while held", h.HoldStatus), nil
	}
	return "", nil
}

func (w *actionWorker) perform(ctx context.Context, offer urltracker.Offer, args ActionArgs, attempt int) callResult {
	switch args.Action {
	case urltracker.ActionPause, urltracker.ActionResume, urltracker.ActionSetDestination:
		return w.campaignAction(ctx, offer, args, attempt)
	case urltracker.ActionAlert:
		// An alert job queued before notifications went through channels:
		// the offer's alert_url is its implicit channel now.
		return callResult{err: errors.New("alerts are notifications now: this one, queued before the upgrade, is not sent")}
	}
	return callResult{err: fmt.Errorf("unknown action %q", args.Action)}
}

// settle applies what a final attempt means for the offer, inside the
// transaction that logs it: a hold that did not happen, or found the
// campaign changed by someone else, is forgotten, so that urltracker never
// resumes a campaign it did not hold; a resume that failed gives the hold
// back so that a later check tries again, while one that found the campaign
// changed by someone else leaves it forgotten. A Trackier call that ended
// is told to the offer's channels when report is true.
func (w *actionWorker) settle(ctx context.Context, tx *sql.Tx, offer urltracker.Offer, args ActionArgs, entry urltracker.Action, report bool) error {
	if entry.Outcome == urltracker.ActionRetrying || args.Action == urltracker.ActionAlert {
		return nil
	}
	if !entry.Success {
		switch args.Action {
		case urltracker.ActionPause:
			if _, err := w.q.db.SwapHealthStateTx(ctx, tx, offer.ID, urltracker.StateHeld, urltracker.StateActive); err != nil {
				return err
			}
		case urltracker.ActionResume:
			if entry.Outcome == urltracker.ActionSkipped {
				break
			}
			if _, err := w.q.db.SwapHealthStateTx(ctx, tx, offer.ID, urltracker.StateActive, urltracker.StateHeld); err != nil {
				return err
			}
		}
	}
	if !report {
		return nil
	}
	h, err := w.q.db.HealthForUpdateTx(ctx, tx, offer.ID)
	if err != nil {
		return err
	}
	var outage time.Time
	if h.OutageStartedAt != nil {
		outage = *h.OutageStartedAt
	}
	n, ok := policy.ActionNotice(offer, entry, outage)
	if !ok {
		return nil
	}
	return w.q.notifyOfferTx(ctx, tx, offer, n, "")
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
