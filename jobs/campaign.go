package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/policy"
	"github.com/urltracker/urltracker/trackier"
)

// Verification of a write: Trackier's own reads show a change 20–60 s
// later, once more than 2 minutes. The worker reads the campaign back, the
// first time after DefaultVerifyFirstPoll and then twice as late each time
// (at most verifyMaxPoll apart), until it shows the change or
// DefaultVerifyTimeout has passed.
const (
	DefaultVerifyTimeout   = 3 * time.Minute
	DefaultVerifyFirstPoll = 2 * time.Second
	verifyMaxPoll          = 30 * time.Second
)

// errNotShown is the failure of a write Trackier's reads never showed.
var errNotShown = errors.New("Trackier's reads never showed the change")

// campaignAction carries out a pause, resume or set_destination the safe
// way: read the campaign first and change it only from the status
// urltracker expects; write; read it back until it shows the change.
func (w *actionWorker) campaignAction(ctx context.Context, offer urltracker.Offer, args ActionArgs, attempt int) callResult {
	b := trackier.Binding{APIBaseURL: offer.Trackier.APIBaseURL, APIKey: offer.Trackier.APIKey, CampaignID: offer.Trackier.CampaignID}
	camp, res, err := w.trackier.GetCampaign(ctx, b)
	if err != nil {
		return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration, err: err}
	}
	switch args.Action {
	case urltracker.ActionPause:
		hold := trackier.Status(args.Status)
		if hold == "" {
			hold = trackier.StatusDisabled
		}
		if camp.Status == hold && attempt > 1 {
			// An earlier attempt's write went through before its log did.
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration, verified: new(time.Duration)}
		}
		if camp.Status != trackier.StatusActive {
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration,
				skipped: fmt.Sprintf("campaign is %s, not active: changed outside urltracker; not held", camp.Status)}
		}
		return w.writeAndVerify(ctx, b, func() (trackier.Result, error) { return w.trackier.SetStatus(ctx, b, hold) },
			func(c trackier.Campaign) bool { return c.Status == hold }, "status "+string(hold))
	case urltracker.ActionResume:
		held := trackier.Status(args.Status)
		if held == "" {
			held = trackier.StatusDisabled
		}
		if camp.Status == trackier.StatusActive && attempt > 1 {
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration, verified: new(time.Duration)}
		}
		if camp.Status != held {
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration,
				skipped: fmt.Sprintf("campaign is %s, not %s: changed outside urltracker; not resumed", camp.Status, held)}
		}
		return w.writeAndVerify(ctx, b, func() (trackier.Result, error) { return w.trackier.SetStatus(ctx, b, trackier.StatusActive) },
			func(c trackier.Campaign) bool { return c.Status == trackier.StatusActive }, "status active")
	case urltracker.ActionSetDestination:
		if camp.Status == trackier.StatusPaused {
			// Trackier re-activates a paused campaign on any edit.
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration,
				skipped: "campaign is paused: any edit would re-activate it; not edited"}
		}
		to, err := policy.CampaignURL(camp.URL, args.Redirect)
		if err != nil {
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration, err: err}
		}
		if camp.URL == to {
			return callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration, verified: new(time.Duration)}
		}
		return w.writeAndVerify(ctx, b, func() (trackier.Result, error) { return w.trackier.SetURL(ctx, b, to) },
			func(c trackier.Campaign) bool { return c.URL == to }, "URL "+to)
	}
	return callResult{err: fmt.Errorf("unknown campaign action %q", args.Action)}
}

// writeAndVerify sends write, then reads the campaign back with backoff
// until shown says it shows the change.
func (w *actionWorker) writeAndVerify(ctx context.Context, b trackier.Binding, write func() (trackier.Result, error),
	shown func(trackier.Campaign) bool, what string) callResult {
	res, err := write()
	out := callResult{request: res.Request, statusCode: res.StatusCode, duration: res.Duration, err: err}
	if err != nil {
		return out
	}
	written := time.Now()
	deadline := written.Add(w.verifyTimeout)
	wait := w.verifyFirstPoll
	var last trackier.Campaign
	for {
		timer := time.NewTimer(min(wait, time.Until(deadline)))
		select {
		case <-ctx.Done():
			timer.Stop()
			// Cut short by shutdown or the job deadline: a retry reads
			// the campaign and finds the change made.
			out.err = &retryableError{fmt.Sprintf("stopped waiting for Trackier to show %s: %v", what, ctx.Err())}
			return out
		case <-timer.C:
		}
		camp, _, err := w.trackier.GetCampaign(ctx, b)
		if err == nil && shown(camp) {
			took := time.Since(written)
			out.verified = &took
			return out
		}
		if err == nil {
			last = camp
		}
		if !time.Now().Before(deadline) {
			out.err = fmt.Errorf("%w: %s still not shown %s after the write (it shows status %s, URL %s)",
				errNotShown, what, w.verifyTimeout, last.Status, last.URL)
			return out
		}
		wait = min(wait*2, verifyMaxPoll)
	}
}

// retryableError is a failure worth another attempt.
type retryableError struct{ msg string }

func (e *retryableError) Error() string   { return e.msg }
func (e *retryableError) Retryable() bool { return true }
