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
	// sqliteBatchWait is how long the writer waits for more webhooks before
	// committing a batch on SQLite, when its previous batch held more than
	// one (the service is under load). A commit's WAL page writes cost about
	// the same for one webhook as for fifty; waiting a fraction of that makes
	// batches several times larger and leaves the CPU to the HTTP server.
	// On PostgreSQL the batch's round trip and WAL flush already give the
	// next batch time to gather, and waiting longer only slowed it down.
	// docs/PERFORMANCE.md has the figures.
	sqliteBatchWait = 300 * time.Microsecond
)

// ErrClosed answers webhooks that arrive after shutdown began.
var ErrClosed = errors.New("intake is shutting down")

// Intake stores webhook events with group commit: one writer goroutine takes
// every webhook waiting and commits them, with the check jobs they schedule,
// in one transaction (on PostgreSQL, usually one statement); each webhook is
// answered only after that commit. One commit per batch instead of one per
// webhook is what lets durable ingest keep up with the HTTP server. (Two
// writers on PostgreSQL were measured slower than one: smaller batches cost
// the database more per webhook.)
type Intake struct {
	db     *store.DB
	queue  *jobs.Queue
	logger *slog.Logger
	now    func() time.Time

	reqs      chan *ingestRequest
	batchWait time.Duration
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
	if db.Dialect() == store.SQLite {
		in.batchWait = sqliteBatchWait
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
		if r.err == nil && r.res.Duplicate && r.res.EventID == 0 {
			// On PostgreSQL a redelivery is answered with the stored event
			// looked up here, on the webhook's goroutine, so that the writer
			// never waits for it (about +20 % webhooks/s in the 1,000-offer
			// mix). On SQLite the writer looks it up: the lookups would
			// queue for the one connection between its batches.
			return in.db.EventByClick(ctx, offer.ID, e.ClickID)
		}
		return r.res, r.err
	case <-ctx.Done():
		return store.IngestResult{}, ctx.Err()
	}
}

func (in *Intake) run() {
	defer close(in.done)
	batch := make([]*ingestRequest, 0, intakeMaxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	last := 0
	for {
		last = len(batch)
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
		if in.batchWait > 0 && last > 1 && len(batch) < intakeMaxBatch {
			// Under load, wait a moment for more webhooks: one commit then
			// serves more of them. A lone webhook never waits.
			timer.Reset(in.batchWait)
		wait:
			for len(batch) < intakeMaxBatch {
				select {
				case r := <-in.reqs:
					batch = append(batch, r)
				case <-timer.C:
					break wait
				case <-in.closing:
					break wait
				}
			}
			timer.Stop()
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
		if res.Duplicate && in.db.Dialect() == store.SQLite {
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
	// Rows are written in (offer, click id) order: on PostgreSQL, instances
	// commit batches concurrently, and taking row locks (events' unique keys,
	// check jobs, counters) in one order means two batches never wait for
	// each other in a cycle, which PostgreSQL would break by failing one
	// after a second's deadlock timeout. The click ids matter when Trackier
	// redelivers the same clicks to two instances.
	order := make([]int, len(batch))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := batch[order[a]], batch[order[b]]
		if ra.offer.ID != rb.offer.ID {
			return ra.offer.ID < rb.offer.ID
		}
		return ra.event.ClickID < rb.event.ClickID
	})
	// An offer's check is scheduled by its first event that is not a
	// redelivery. Each event is written with the outcome it will most likely
	// have (the offer's first candidate schedules, the others are
	// debounced); the rare event whose outcome River or a redelivery changes
	// is corrected in the same transaction.
	type candidates struct {
		offer  urltracker.Offer
		period time.Time
		pos    []int // positions in events, in order
	}
	var pending []*candidates
	byOffer := map[int64]*candidates{}
	events := make([]store.NewEvent, len(batch))
	for k, i := range order {
		r := batch[i]
		e := r.event
		period := now.Truncate(r.offer.UpdateInterval())
		switch {
		case !r.offer.Enabled:
			e.Outcome = urltracker.OutcomeOfferDisabled
		case mismatched(r.offer, e):
			e.Outcome = urltracker.OutcomeCampaignMismatch
		case !enabled:
			e.Outcome = urltracker.OutcomeKillSwitchOff
		case in.debounced(r.offer.ID, period):
			e.Outcome = urltracker.OutcomeDebounced
		default:
			c := byOffer[r.offer.ID]
			if c == nil {
				c = &candidates{offer: r.offer, period: period}
				byOffer[r.offer.ID] = c
				pending = append(pending, c)
				e.Outcome = urltracker.OutcomeCheckScheduled
			} else {
				e.Outcome = urltracker.OutcomeDebounced
			}
			c.pos = append(c.pos, k)
		}
		events[k] = store.NewEvent{Event: e, Payload: r.payload}
	}
	scheduled := map[int64]time.Time{}
	var ids []int64
	if len(pending) == 0 {
		// The common case under load: every check of the period is known
		// to exist, and the batch commits in one statement.
		ids, err = in.db.WriteEvents(ctx, nil, events)
	} else {
		err = in.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if ids, err = in.db.WriteEvents(ctx, tx, events); err != nil {
				return err
			}
			var checks []jobs.CheckRequest
			var first []int // per check, the event that schedules it
			for _, c := range pending {
				for _, k := range c.pos {
					if ids[k] != 0 {
						checks = append(checks, jobs.CheckRequest{OfferID: c.offer.ID, Interval: c.offer.UpdateInterval()})
						first = append(first, k)
						scheduled[c.offer.ID] = c.period
						break
					}
				}
			}
			// River derives the unique period from its own clock, a moment
			// after now; at a boundary this memory is one period behind,
			// which costs one insert that River skips, never a missed check.
			duplicate, err := in.queue.EnqueueChecksTx(ctx, tx, checks)
			if err != nil {
				return err
			}
			for j, k := range first {
				want := urltracker.OutcomeCheckScheduled
				if duplicate[j] {
					want = urltracker.OutcomeDebounced
				}
				if events[k].Event.Outcome != want {
					if err := in.db.SetEventOutcomeTx(ctx, tx, ids[k], want); err != nil {
						return err
					}
					events[k].Event.Outcome = want
				}
			}
			return nil
		})
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store %d webhook events: %w", len(batch), err)
	}
	results := make([]store.IngestResult, len(batch))
	for k, i := range order {
		if ids[k] == 0 {
			results[i] = store.IngestResult{Duplicate: true}
			continue
		}
		results[i] = store.IngestResult{EventID: ids[k], Outcome: events[k].Event.Outcome}
	}
	return results, scheduled, nil
}

// debounced reports whether the offer's check job of period is known to
// exist from an earlier committed batch. River's uniqueness (by args and
// period, in the shared database) is what guarantees one check per period
// fleet-wide; this memory only saves inserts that River would skip.
func (in *Intake) debounced(offerID int64, period time.Time) bool {
	p, ok := in.scheduled[offerID]
	return ok && p.Equal(period)
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
