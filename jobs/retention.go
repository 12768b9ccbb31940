package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/store"
)

// QueueMaintenance is the River queue of housekeeping jobs. It has its own
// single worker so that housekeeping never takes a slot from checks.
const QueueMaintenance = "maintenance"

// retentionInterval is how often the retention job runs. River's periodic
// jobs run on the elected leader only, so a fleet prunes once, not per
// instance.
const retentionInterval = 15 * time.Minute

// retentionTimeout bounds one run; an unfinished run is continued by the
// next, since every batch it deleted is committed.
const retentionTimeout = 10 * time.Minute

// RetentionArgs asks for one pass of the retention policy.
type RetentionArgs struct{}

// Kind names the job in River's tables.
func (RetentionArgs) Kind() string { return "retention" }

func retentionJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(retentionInterval),
		func() (river.JobArgs, *river.InsertOpts) {
			return RetentionArgs{}, &river.InsertOpts{
				Queue:       QueueMaintenance,
				MaxAttempts: 3,
				UniqueOpts:  river.UniqueOpts{ByPeriod: retentionInterval},
			}
		},
		&river.PeriodicJobOpts{ID: "retention", RunOnStart: true})
}

type retentionWorker struct {
	river.WorkerDefaults[RetentionArgs]
	db      *store.DB
	policy  store.RetentionPolicy
	metrics *metrics.Metrics
	logger  *slog.Logger
}

func (w *retentionWorker) Timeout(*river.Job[RetentionArgs]) time.Duration { return retentionTimeout }

func (w *retentionWorker) Work(ctx context.Context, _ *river.Job[RetentionArgs]) error {
	deleted, err := w.db.Prune(ctx, w.policy)
	w.metrics.ObserveRetention(deleted)
	attrs := []any{"max_age", w.policy.MaxAge.String(), "keep_per_offer", w.policy.KeepPerOffer}
	for table, n := range deleted {
		attrs = append(attrs, "deleted_"+table, n)
	}
	if err != nil {
		w.logger.Warn("retention incomplete; the next run continues", append(attrs, "err", err)...)
		return err
	}
	w.logger.Info("retention done", attrs...)
	return nil
}
