// Package jobs runs urltracker's background work on River: the debounced
// link check per offer (from webhooks, through package intake, and from the
// scheduler), the plans package policy makes of each check, the Trackier
// actions and notifications they call for, and retention.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/notify"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/trackier"
)

// QueueChecks is the River queue of link checks.
const QueueChecks = "checks"

// DefaultKillSwitchSnooze is how often a check job that found the kill
// switch off looks again.
const DefaultKillSwitchSnooze = 30 * time.Second

// CheckArgs asks for one check of an offer's link.
type CheckArgs struct {
	OfferID int64 `json:"offer_id"`
	// Confirms is the failing check this one re-checks. It is left out of
	// an ordinary check's arguments, so that a webhook's check and a
	// scheduled one share the same unique job per period.
	Confirms int64 `json:"confirms,omitempty"`
}

// Kind names the job in River's tables.
func (CheckArgs) Kind() string { return "check_offer" }

// checkInsertOpts makes the check job unique per offer and update interval:
// this uniqueness, held in the shared database, is the fleet-wide debounce.
func checkInsertOpts(interval time.Duration) *river.InsertOpts {
	return &river.InsertOpts{
		Queue:       QueueChecks,
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByArgs: true, ByPeriod: interval},
	}
}

// EnqueueCheckTx inserts inside tx the offer's check job of the current
// update interval, unless River finds it there already (duplicate). Webhooks
// and the scheduler both enqueue through it: one job per offer per
// interval, held in the shared database, is the fleet-wide debounce.
func (q *Queue) EnqueueCheckTx(ctx context.Context, tx *sql.Tx, offerID int64, interval time.Duration) (duplicate bool, err error) {
	// No ScheduledAt: River would insert the job as "scheduled", and only
	// the leader's scheduler (every 5 s) would make it available.
	res, err := q.client.InsertTx(ctx, tx, CheckArgs{OfferID: offerID}, checkInsertOpts(interval))
	if err != nil {
		return false, fmt.Errorf("enqueue check of offer %d: %w", offerID, err)
	}
	return res.UniqueSkippedAsDuplicate, nil
}

// CheckRequest names an offer whose check EnqueueChecksTx inserts, and the
// update interval that makes the job unique.
type CheckRequest struct {
	OfferID  int64
	Interval time.Duration
}

// EnqueueChecksTx inserts inside tx, in one round trip, the check jobs of
// several offers, each as EnqueueCheckTx would; duplicate[i] tells that the
// job of checks[i] was there already. Give the offers in ascending id order,
// so that concurrent batches take River's unique-key locks in one order.
func (q *Queue) EnqueueChecksTx(ctx context.Context, tx *sql.Tx, checks []CheckRequest) (duplicate []bool, err error) {
	if len(checks) == 0 {
		return nil, nil
	}
	params := make([]river.InsertManyParams, len(checks))
	for i, c := range checks {
		params[i] = river.InsertManyParams{Args: CheckArgs{OfferID: c.OfferID}, InsertOpts: checkInsertOpts(c.Interval)}
	}
	res, err := q.client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("enqueue checks of %d offers: %w", len(checks), err)
	}
	if len(res) != len(checks) {
		return nil, fmt.Errorf("enqueue checks of %d offers: River answered for %d", len(checks), len(res))
	}
	duplicate = make([]bool, len(res))
	for i, r := range res {
		duplicate[i] = r.UniqueSkippedAsDuplicate
	}
	return duplicate, nil
}

// Options configure the job queue.
type Options struct {
	CheckConcurrency int
	// JobTimeout bounds one check job; set it a little above the trace budget.
	JobTimeout   time.Duration
	PollInterval time.Duration
	Logger       *slog.Logger
	// KillSwitchSnooze overrides DefaultKillSwitchSnooze (tests).
	KillSwitchSnooze time.Duration

	// Trackier makes the calls of action jobs, Notifier delivers
	// notifications; APITimeout is their deadline and ActionConcurrency
	// bounds how many of each run at once.
	Trackier          *trackier.Client
	Notifier          *notify.Sender
	APITimeout        time.Duration
	ActionConcurrency int
	// PublicURL is the base of the offer links in notifications.
	PublicURL string
	// VerifyTimeout and VerifyFirstPoll bound how long a Trackier write is
	// read back until it shows (defaults DefaultVerifyTimeout and
	// DefaultVerifyFirstPoll; tests shorten them).
	VerifyTimeout   time.Duration
	VerifyFirstPoll time.Duration

	// ScheduleEvery is how often the scheduler looks for offers due for a
	// check (default DefaultScheduleEvery).
	ScheduleEvery time.Duration

	// Retention is what the periodic retention job keeps; a zero MaxAge
	// turns the job off.
	Retention store.RetentionPolicy
	Metrics   *metrics.Metrics
}

// Queue owns the River client: it inserts jobs and, once started, works them.
type Queue struct {
	client    *river.Client[*sql.Tx]
	db        *store.DB
	notifier  *notify.Sender
	publicURL string
	metrics   *metrics.Metrics
}

// NewQueue builds the River client over db with the check and action
// workers.
func NewQueue(db *store.DB, runner *Runner, opts Options) (*Queue, error) {
	q := &Queue{db: db, notifier: opts.Notifier, publicURL: opts.PublicURL, metrics: opts.Metrics}
	runner.queue = q
	workers := river.NewWorkers()
	snooze := opts.KillSwitchSnooze
	if snooze <= 0 {
		snooze = DefaultKillSwitchSnooze
	}
	river.AddWorker(workers, &checkWorker{runner: runner, snooze: snooze})
	verifyTimeout, verifyFirstPoll := opts.VerifyTimeout, opts.VerifyFirstPoll
	if verifyTimeout <= 0 {
		verifyTimeout = DefaultVerifyTimeout
	}
	if verifyFirstPoll <= 0 {
		verifyFirstPoll = DefaultVerifyFirstPoll
	}
	river.AddWorker(workers, &actionWorker{q: q, trackier: opts.Trackier,
		timeout: opts.APITimeout, verifyTimeout: verifyTimeout, verifyFirstPoll: verifyFirstPoll,
		logger: runner.Logger, metrics: opts.Metrics})
	river.AddWorker(workers, &notifyWorker{q: q, timeout: opts.APITimeout, logger: runner.Logger, metrics: opts.Metrics})
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	queues := map[string]river.QueueConfig{
		QueueChecks:      {MaxWorkers: opts.CheckConcurrency},
		QueueActions:     {MaxWorkers: max(opts.ActionConcurrency, 1)},
		QueueNotify:      {MaxWorkers: max(opts.ActionConcurrency, 1)},
		QueueMaintenance: {MaxWorkers: 1},
	}
	every := opts.ScheduleEvery
	if every <= 0 {
		every = DefaultScheduleEvery
	}
	river.AddWorker(workers, &scheduleWorker{q: q, logger: logger})
	periodic := []*river.PeriodicJob{scheduleJob(every)}
	if opts.Retention.MaxAge > 0 {
		// Its summary line is urltracker's own, like "check done", not one
		// of the job queue's routine lines (component river, DEBUG).
		rlog := runner.Logger
		if rlog == nil {
			rlog = logger
		}
		river.AddWorker(workers, &retentionWorker{db: db, policy: opts.Retention, metrics: opts.Metrics, logger: rlog})
		periodic = append(periodic, retentionJob())
	}
	client, err := river.NewClient(db.RiverDriver(), &river.Config{
		Queues:            queues,
		PeriodicJobs:      periodic,
		Workers:           workers,
		JobTimeout:        opts.JobTimeout,
		FetchPollInterval: opts.PollInterval,
		Logger:            slog.New(quieter{logger.Handler()}),
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	q.client = client
	return q, nil
}

// Start begins working jobs until Stop.
func (q *Queue) Start(ctx context.Context) error { return q.client.Start(ctx) }

// Stop stops fetching new jobs and waits for running ones until ctx is done;
// then it cancels them. Cancelled jobs are retried later by any instance.
func (q *Queue) Stop(ctx context.Context) error {
	err := q.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		cancelCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return q.client.StopAndCancel(cancelCtx)
	}
	return err
}

// DeleteOffer deletes an offer and, in the same transaction, cancels its
// jobs that have not run yet: its next check, and any pause, resume,
// destination change or alert still waiting or retrying. A deleted offer's
// action must never reach Trackier.
func (q *Queue) DeleteOffer(ctx context.Context, id int64, by store.Actor) error {
	err := q.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := q.db.DeleteOfferTx(ctx, tx, id, by); err != nil {
			return err
		}
		return q.cancelOfferJobsTx(ctx, tx, id)
	})
	q.db.ForgetTokens()
	return err
}

func (q *Queue) cancelOfferJobsTx(ctx context.Context, tx *sql.Tx, offerID int64) error {
	const page = 500
	params := river.NewJobListParams().
		Kinds(CheckArgs{}.Kind(), ActionArgs{}.Kind()).
		States(rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
			rivertype.JobStateScheduled, rivertype.JobStateRunning).
		// The same SQL reads a JSON number on PostgreSQL (jsonb) and SQLite.
		Where("CAST(args->>'offer_id' AS BIGINT) = @offer_id", river.NamedArgs{"offer_id": offerID}).
		First(page)
	for {
		res, err := q.client.JobListTx(ctx, tx, params)
		if err != nil {
			return fmt.Errorf("list jobs of offer %d: %w", offerID, err)
		}
		for _, job := range res.Jobs {
			if _, err := q.client.JobCancelTx(ctx, tx, job.ID); err != nil {
				return fmt.Errorf("cancel job %d of offer %d: %w", job.ID, offerID, err)
			}
		}
		if len(res.Jobs) < page {
			return nil
		}
		params = params.After(res.LastCursor)
	}
}

type checkWorker struct {
	river.WorkerDefaults[CheckArgs]
	runner *Runner
	snooze time.Duration
}

func (w *checkWorker) Work(ctx context.Context, job *river.Job[CheckArgs]) error {
	_, err := w.runner.run(ctx, job.Args.OfferID, job.Args.Confirms)
	switch {
	case errors.Is(err, ErrKillSwitchOff):
		// The job holds its period's debounce slot: finishing it now would
		// leave the offer unchecked until the next period once automation is
		// back on. Wait instead; a snooze is not counted as an attempt.
		return river.JobSnooze(w.snooze)
	case errors.Is(err, urltracker.ErrNotFound), errors.Is(err, ErrOfferDisabled):
		return nil
	case err != nil:
		return err
	}
	return nil
}
