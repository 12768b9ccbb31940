package jobs

import (
	"context"
	"database/sql"
	"log/slog"
	"sort"
	"time"

	"github.com/riverqueue/river"
)

// DefaultScheduleEvery is how often the scheduler looks for offers due for a
// check. It bounds how late a scheduled check starts, and so, since each
// check sets the next from when it ran, how much each period stretches: at
// 5 s an hourly offer was checked every 3,605 s and a minutely one every
// 65 s. A pass with nothing due is a River job and two indexed reads.
const DefaultScheduleEvery = time.Second

// Scheduler bounds: how many due offers one transaction takes, and how many
// batches one run takes before leaving the rest to the next run. 100,000
// offers checked hourly make about 28 due offers per run.
const (
	scheduleBatch      = 500
	scheduleMaxBatches = 20
	scheduleTimeout    = time.Minute
)

// ScheduleArgs asks for one pass of the scheduler.
type ScheduleArgs struct{}

// Kind names the job in River's tables.
func (ScheduleArgs) Kind() string { return "schedule_checks" }

// scheduleJob runs the scheduler every interval. River's periodic jobs are
// inserted by the elected leader only, and the job is unique per interval,
// so a fleet runs one pass at a time.
func scheduleJob(every time.Duration) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(every),
		func() (river.JobArgs, *river.InsertOpts) {
			return ScheduleArgs{}, &river.InsertOpts{
				Queue:       QueueMaintenance,
				MaxAttempts: 1,
				// River refuses a unique period under a second.
				UniqueOpts: river.UniqueOpts{ByPeriod: max(every, time.Second)},
			}
		},
		&river.PeriodicJobOpts{ID: "schedule_checks", RunOnStart: true})
}

// scheduleWorker enqueues the check of every offer whose scheduled check is
// due, through the same unique-per-interval job as a webhook's check: an
// offer a click already had checked in this interval is not checked again,
// and a fleet checks each offer once.
type scheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	q      *Queue
	logger *slog.Logger
}

func (w *scheduleWorker) Timeout(*river.Job[ScheduleArgs]) time.Duration { return scheduleTimeout }

func (w *scheduleWorker) Work(ctx context.Context, _ *river.Job[ScheduleArgs]) error {
	enabled, err := w.q.db.KillSwitch(ctx)
	if err != nil {
		return err
	}
	if !enabled {
		// Due checks stay due and are enqueued once automation is back on.
		return nil
	}
	total := 0
	for range scheduleMaxBatches {
		n, err := w.q.ScheduleDue(ctx, time.Now())
		total += n
		if err != nil {
			return err
		}
		if n < scheduleBatch {
			break
		}
	}
	if total > 0 {
		// Debug: at one pass a second, a busy fleet would log a line a second.
		w.logger.Debug("scheduled checks", "offers", total)
	}
	return nil
}

// ScheduleDue enqueues the checks of at most one batch of offers due at now
// and returns how many it took: one River insert for the batch and one
// update of the offers, whatever the batch's size. Each offer's next
// scheduled check moves one period on; the check itself sets it again from
// when it ran.
func (q *Queue) ScheduleDue(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := q.db.InTx(ctx, func(tx *sql.Tx) error {
		due, err := q.db.DueOffersTx(ctx, tx, now, scheduleBatch)
		if err != nil || len(due) == 0 {
			return err
		}
		n = len(due)
		// Ascending ids, as EnqueueChecksTx asks: the webhook path's
		// batches take River's unique-key locks in the same order.
		sort.Slice(due, func(i, j int) bool { return due[i].ID < due[j].ID })
		checks := make([]CheckRequest, len(due))
		ids := make([]int64, len(due))
		for i, d := range due {
			checks[i] = CheckRequest{OfferID: d.ID, Interval: time.Duration(d.UpdateIntervalSeconds) * time.Second}
			ids[i] = d.ID
		}
		// An offer whose check of this interval is already queued (a click
		// came first) is skipped as a duplicate.
		if _, err := q.EnqueueChecksTx(ctx, tx, checks); err != nil {
			return err
		}
		return q.db.PostponeChecksTx(ctx, tx, ids, now)
	})
	return n, err
}
