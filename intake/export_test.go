package intake

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// OpenTestIntake opens databaseURL as one instance would: its own pool, job
// queue (not started: the tests look at what intake schedules) and intake,
// all closed when the test ends.
func OpenTestIntake(t *testing.T, databaseURL string) (*Intake, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, databaseURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	runner := &jobs.Runner{DB: db, Tracer: tracer.New(tracer.Config{})}
	q, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1, JobTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	in := New(db, q, slog.New(slog.DiscardHandler), time.Now)
	t.Cleanup(in.Close)
	return in, db
}
