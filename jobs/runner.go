package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/judge"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// Errors for checks that were not run.
var (
	ErrKillSwitchOff = errors.New("automation is switched off by the kill switch")
	ErrOfferDisabled = errors.New("offer is disabled")
)

// Runner runs one check of an offer, records it and what the policy decides
// about it. Both the check job and the admin trigger endpoint use it.
type Runner struct {
	DB     *store.DB
	Tracer *tracer.Tracer
	// Judge reads the landing page and applies the offer's rules; nil
	// leaves the tracer's verdict as it is.
	Judge  *judge.Judge
	Logger *slog.Logger
	// Metrics counts checks by verdict; nil counts nothing.
	Metrics *metrics.Metrics

	// queue, set by NewQueue, takes the jobs the policy's plans call for.
	queue *Queue
}

// Run checks the offer's link now, records the check with its chain and
// what the policy decides about it, and returns it. It refuses while the
// kill switch is off.
func (r *Runner) Run(ctx context.Context, offerID int64) (urltracker.Check, error) {
	return r.run(ctx, offerID, 0)
}

// run is Run for a check that, when confirms is not 0, re-checks that
// failing check.
func (r *Runner) run(ctx context.Context, offerID, confirms int64) (urltracker.Check, error) {
	enabled, err := r.DB.KillSwitch(ctx)
	if err != nil {
		return urltracker.Check{}, err
	}
	if !enabled {
		return urltracker.Check{}, ErrKillSwitchOff
	}
	offer, err := r.DB.Offer(ctx, offerID)
	if err != nil {
		return urltracker.Check{}, err
	}
	if !offer.Enabled {
		return urltracker.Check{}, ErrOfferDisabled
	}
	done := r.Metrics.CheckStarted()
	check := r.Tracer.Trace(ctx, tracer.Request{URL: offer.URL, ExpectedHost: offer.ExpectedHost})
	done()
	check.OfferID = offer.ID
	if ctx.Err() != nil {
		// Cut short by shutdown or the job timeout: River retries the job,
		// and a half-run check must not count as the link's failure.
		return check, fmt.Errorf("check of offer %d interrupted: %w", offer.ID, ctx.Err())
	}
	if check.Verdict == urltracker.VerdictHealthy {
		prev, err := r.DB.LastHealthyCheck(ctx, offer.ID)
		switch {
		case err == nil:
			if landing(prev.FinalURL) != landing(check.FinalURL) {
				check.LandingChanged, check.PreviousLanding = true, prev.FinalURL
			}
		case !errors.Is(err, urltracker.ErrNotFound):
			return check, err
		}
	}
	if r.Judge != nil {
		r.Judge.Assess(ctx, offer.Offer, &check)
	}
	err = r.DB.InTx(ctx, func(tx *sql.Tx) error {
		if err := r.DB.SaveCheckTx(ctx, tx, &check); err != nil {
			return err
		}
		if r.queue == nil {
			return errors.New("runner has no job queue: build it with NewQueue")
		}
		return r.queue.decideTx(ctx, tx, offer.Offer, check, confirms)
	})
	if err != nil {
		return check, fmt.Errorf("record check of offer %d: %w", offer.ID, err)
	}
	r.Metrics.ObserveCheck(check.Verdict, time.Duration(check.DurationMS)*time.Millisecond)
	r.Logger.Info("check done", "offer_id", offer.ID, "check_id", check.ID, "verdict", check.Verdict,
		"hops", len(check.Chain), "duration_ms", check.DurationMS)
	return check, nil
}

// landing is the part of a URL that identifies a landing page: scheme, host
// and path, without the query, which carries per-click parameters.
func landing(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host) + u.EscapedPath()
}
