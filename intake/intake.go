// Package intake is the webhook write path: it stores Trackier's S2S push
// events with group commit and, in the same transaction, enqueues the check
// each one schedules, so that a webhook is acknowledged only once its event
// and its check are durable.
package intake

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/store"
)

// Intake bounds: the queue of webhooks waiting for the writer, and how many
// the writer commits in one transaction.
const (
	intakeQueueSize = 4096
	intakeMaxBatch  = 256
	// commitTimeout bounds one batch's transaction, so a database that hangs
	// fails the waiting webhooks instead of holding them forever.
	commitTimeout = 10 * time.Second
)

// ErrClosed answers webhooks that arrive after shutdown began.
var ErrClosed = errors.New("intake is shutting down")

// Intake stores webhook events with group commit: one writer goroutine takes
// every webhook waiting and commits them, with the check jobs they schedule,
// in one transaction; each webhook is answered only after that commit. On
// SQLite, one commit per batch instead of one per webhook is what lets
// durable ingest keep up with the HTTP server.
type Intake struct {
	db     *store.DB
	queue  *jobs.Queue
	logger *slog.Logger
	now    func() time.Time

	reqs      chan *ingestRequest
	closing   chan struct{}
	closeOnce sync.Once
	done      chan struct{}

	// scheduled remembers, per offer, the debounce period in which its check
	// job is known to exist, so later webhooks of the period skip the insert
	// River would refuse anyway. Only the writer goroutine touches it.
	scheduled map[int64]time.Time
}

type ingestRequest struct {
	ctx     context.Context // the webhook's; a request given up on is not written
	offer   urltracker.Offer
	event   urltracker.Event
	payload []byte // event.Payload as JSON, encoded by the caller's goroutine
	reply   chan ingestReply
}

type ingestReply struct {
	res store.IngestResult
	err error
}

// New starts the writer goroutine; Close stops it.
func New(db *store.DB, queue *jobs.Queue, logger *slog.Logger, now func() time.Time) *Intake {
	in := &Intake{
		db: db, queue: queue, logger: logger, now: now,
		reqs:      make(chan *ingestRequest, intakeQueueSize),
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		scheduled: map[int64]time.Time{},
	}
	go in.run()
	return in
}

// Close stops accepting webhooks, commits those already queued, and waits for
// the writer to finish. Call it after the HTTP server has shut down.
func (in *Intake) Close() {
	in.closeOnce.Do(func() { close(in.closing) })
	<-in.done
}

// Ingest stores e for offer and, when the offer is enabled and the kill
// switch allows it, enqueues its check in the same transaction. It returns
// once both are committed. A cancelled ctx returns early; the event may then
// still be stored, and a redelivery is recognised by its click id.
func (in *Intake) Ingest(ctx context.Context, offer urltracker.Offer, e urltracker.Event) (store.IngestResult, error) {
	e.OfferID = offer.ID
	// Encoding here, on the request's goroutine, keeps the single writer
	// busy with nothing but SQL.
	payload, err := jsonenc.Marshal(e.Payload)
	if err != nil {
		return store.IngestResult{}, fmt.Errorf("encode payload: %w", err)
	}
	req := &ingestRequest{ctx: ctx, offer: offer, event: e, payload: payload, reply: make(chan ingestReply, 1)}
	select {
	case <-in.closing:
		return store.IngestResult{}, ErrClosed
	default:
	}
	select {
	case in.reqs <- req:
	case <-in.closing:
		return store.IngestResult{}, ErrClosed
	case <-ctx.Done():
		return store.IngestResult{}, ctx.Err()
	}
	select {
	case r := <-req.reply:
		return r.res, r.err
	case <-ctx.Done():
		return store.IngestResult{}, ctx.Err()
	}
}

func (in *Intake) run() {
	defer close(in.done)
	batch := make([]*ingestRequest, 0, intakeMaxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-in.reqs:
			batch = append(batch, r)
		case <-in.closing:
			// Drain what was queued before closing; nothing new arrives.
			for {
				select {
				case r := <-in.reqs:
					in.commit([]*ingestRequest{r})
				default:
					return
				}
			}
		}
	fill:
		for len(batch) < intakeMaxBatch {
			select {
			case r := <-in.reqs:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		in.commit(batch)
	}
}

// commit writes a batch in one transaction. If that fails, it retries each
// webhook in a transaction of its own, so that one bad event cannot fail the
// others.
func (in *Intake) commit(batch []*ingestRequest) {
	// A webhook whose handler stopped waiting has been answered 503 (or its
	// client is gone): storing it now would store what was refused.
	live := batch[:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.reply <- ingestReply{err: err}
			continue
		}
		live = append(live, r)
	}
	batch = live
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	results, scheduled, err := in.write(ctx, batch)
	if err != nil && len(batch) > 1 && in.reachable() {
		for _, r := range batch {
			in.commit([]*ingestRequest{r})
		}
		return
	}
	if err == nil {
		for offerID, period := range scheduled {
			in.scheduled[offerID] = period
		}
	}
	for i, r := range batch {
		if err != nil {
			r.reply <- ingestReply{err: err}
			continue
		}
		res := results[i]
		if res.Duplicate {
			res, err := in.db.EventByClick(ctx, r.event.OfferID, r.event.ClickID)
			r.reply <- ingestReply{res: res, err: err}
			continue
		}
		r.reply <- ingestReply{res: res}
	}
}

// reachable tells a failed batch caused by one bad event (retry the others
// alone) from a database that is away (fail them all at once, so that the
// webhooks are answered 503 now and Trackier retries them later).
func (in *Intake) reachable() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return in.db.Ping(ctx) == nil
}

func (in *Intake) write(ctx context.Context, batch []*ingestRequest) ([]store.IngestResult, map[int64]time.Time, error) {
	enabled, err := in.db.KillSwitch(ctx)
	if err != nil {
		return nil, nil, err
	}
	now := in.now().UTC()
	results := make([]store.IngestResult, len(batch))
	scheduled := map[int64]time.Time{}
	type count struct {
		n    int
		last time.Time
	}
	counts := map[int64]*count{}
	// On PostgreSQL, instances commit batches concurrently; taking row locks
	// (check jobs, counters) in offer order means two batches never wait for
	// each other in a cycle, which PostgreSQL would break by failing one
	// after a second's deadlock timeout.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return batch[order[a]].offer.ID < batch[order[b]].offer.ID })
	err = in.db.InTx(ctx, func(tx *sql.Tx) error {
		events := in.db.EventWriter(ctx, tx)
		for _, i := range order {
			r := batch[i]
			e := r.event
			// The check is scheduled only for an event that is not a
			// redelivery: insert the event first, with the outcome it will
			// most likely have, and correct it in the rare case River finds
			// the period's job already there.
			toSchedule := false
			switch {
			case !r.offer.Enabled:
				e.Outcome = urltracker.OutcomeOfferDisabled
			case mismatched(r.offer, e):
				e.Outcome = urltracker.OutcomeCampaignMismatch
			case !enabled:
				e.Outcome = urltracker.OutcomeKillSwitchOff
			case in.debounced(r.offer.ID, now.Truncate(r.offer.UpdateInterval()), scheduled):
				e.Outcome = urltracker.OutcomeDebounced
			default:
				e.Outcome, toSchedule = urltracker.OutcomeCheckScheduled, true
			}
			id, dup, err := events.Insert(ctx, e, r.payload)
			if err != nil {
				return err
			}
			if dup {
				results[i] = store.IngestResult{Duplicate: true}
				continue
			}
			if toSchedule {
				outcome, err := in.schedule(ctx, tx, r.offer, now, scheduled)
				if err != nil {
					return err
				}
				if outcome != e.Outcome {
					if err := events.SetOutcome(ctx, id, outcome); err != nil {
						return err
					}
					e.Outcome = outcome
				}
			}
			results[i] = store.IngestResult{EventID: id, Outcome: e.Outcome}
			c := counts[e.OfferID]
			if c == nil {
				c = &count{}
				counts[e.OfferID] = c
			}
			c.n++
			if e.ReceivedAt.After(c.last) {
				c.last = e.ReceivedAt
			}
		}
		offerIDs := make([]int64, 0, len(counts))
		for offerID := range counts {
			offerIDs = append(offerIDs, offerID)
		}
		slices.Sort(offerIDs)
		for _, offerID := range offerIDs {
			c := counts[offerID]
			if err := events.CountWebhooks(ctx, offerID, c.n, c.last); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("store %d webhook events: %w", len(batch), err)
	}
	return results, scheduled, nil
}

// schedule enqueues the offer's check unless one is known to exist in the
// current debounce period. River's uniqueness (by args and period, in the
// shared database) is what guarantees one check per period fleet-wide; the
// memory only saves inserts that River would skip.
// debounced reports whether the offer's check job of period is known to
// exist, from this batch or an earlier committed one.
func (in *Intake) debounced(offerID int64, period time.Time, batch map[int64]time.Time) bool {
	if p, ok := batch[offerID]; ok && p.Equal(period) {
		return true
	}
	p, ok := in.scheduled[offerID]
	return ok && p.Equal(period)
}

func (in *Intake) schedule(ctx context.Context, tx *sql.Tx, offer urltracker.Offer, now time.Time, batch map[int64]time.Time) (urltracker.EventOutcome, error) {
	period := now.Truncate(offer.UpdateInterval())
	if in.debounced(offer.ID, period, batch) {
		return urltracker.OutcomeDebounced, nil
	}
	// River derives the unique period from its own clock, a moment after
	// now; at a boundary this memory is one period behind, which costs one
	// insert that River skips, never a missed check.
	duplicate, err := in.queue.EnqueueCheckTx(ctx, tx, offer.ID, offer.UpdateInterval())
	if err != nil {
		return "", err
	}
	batch[offer.ID] = period
	if duplicate {
		return urltracker.OutcomeDebounced, nil
	}
	return urltracker.OutcomeCheckScheduled, nil
}

// mismatched tells a push whose camp_id names another campaign than the one
// the offer is bound to: its push URL was pasted into the wrong campaign,
// and the click says nothing about this offer's campaign. A push without
// camp_id (a push URL from before it was added) is not a mismatch.
func mismatched(offer urltracker.Offer, e urltracker.Event) bool {
	campID := strings.TrimSpace(e.Payload["camp_id"])
	if offer.Trackier.CampaignID == "" || campID == "" || campID == "{camp_id}" {
		return false
	}
	return campID != offer.Trackier.CampaignID
}
