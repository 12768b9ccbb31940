package jobs

import (
	"context"
	"database/sql"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// Ingest stores a webhook event for offer and, when the offer is enabled and
// the kill switch allows it, enqueues its check in the same transaction. It
// returns only once both are committed.
func (q *Queue) Ingest(ctx context.Context, offer urltracker.Offer, e urltracker.Event) (store.IngestResult, error) {
	e.OfferID = offer.ID
	if !offer.Enabled {
		e.Outcome = urltracker.OutcomeOfferDisabled
		return q.db.IngestEvent(ctx, e, nil)
	}
	enabled, err := q.db.KillSwitch(ctx)
	if err != nil {
		return store.IngestResult{}, err
	}
	if !enabled {
		e.Outcome = urltracker.OutcomeKillSwitchOff
		return q.db.IngestEvent(ctx, e, nil)
	}
	return q.db.IngestEvent(ctx, e, func(tx *sql.Tx) (urltracker.EventOutcome, error) {
		return q.ScheduleCheckTx(ctx, tx, offer)
	})
}
