package intake

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// TestBatchLedByARedelivery writes one batch whose first webhook for an
// offer redelivers a click stored before (by another instance, or in an
// earlier period) and whose second is a new click: the new click schedules
// the offer's check, exactly one job is enqueued, and the redelivery is
// answered as a duplicate.
func TestBatchLedByARedelivery(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db, err := store.Open(ctx, testutil.DatabaseURL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			if _, err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			q, err := jobs.NewQueue(db, &jobs.Runner{DB: db, Tracer: tracer.New(tracer.Config{})}, jobs.Options{CheckConcurrency: 1, JobTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			in := New(db, q, slog.New(slog.DiscardHandler), time.Now)
			t.Cleanup(in.Close)
			rec, err := db.CreateOffer(ctx, urltracker.Offer{Name: "led", URL: "https://offers.example.com/l", UpdateIntervalSeconds: 30 * 24 * 3600, Enabled: true})
			if err != nil {
				t.Fatal(err)
			}
			old := urltracker.Event{OfferID: rec.ID, ReceivedAt: time.Now(), ClickID: "old", Payload: map[string]string{}, Outcome: urltracker.OutcomeDebounced}
			if _, err := db.WriteEvents(ctx, nil, []store.NewEvent{{Event: old}}); err != nil {
				t.Fatal(err)
			}
			req := func(click string) *ingestRequest {
				e := urltracker.Event{OfferID: rec.ID, ReceivedAt: time.Now(), ClickID: click, Payload: map[string]string{}}
				return &ingestRequest{ctx: ctx, offer: rec.Offer, event: e, payload: []byte(`{}`), reply: make(chan ingestReply, 1)}
			}
			results, _, err := in.write(ctx, []*ingestRequest{req("old"), req("new")})
			if err != nil {
				t.Fatal(err)
			}
			if !results[0].Duplicate {
				t.Errorf("redelivered click: %+v, want a duplicate", results[0])
			}
			if results[1].Duplicate || results[1].Outcome != urltracker.OutcomeCheckScheduled {
				t.Errorf("new click: %+v, want stored with check_scheduled", results[1])
			}
			var n int
			if err := db.SQL().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'check_offer'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%d check jobs enqueued, want 1", n)
			}
			events, err := db.Events(ctx, rec.ID, 10)
			if err != nil || len(events) != 2 || events[0].ClickID != "new" || events[0].Outcome != urltracker.OutcomeCheckScheduled {
				t.Errorf("stored events %+v, %v; want the new click stored with check_scheduled", events, err)
			}
		})
	}
}
