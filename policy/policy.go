// Package policy decides what urltracker does about an offer after each
// check: it keeps the health streaks, holds the Trackier campaign of a broken
// link and resumes it once the link is healthy again, proposes a new campaign
// URL when the offer link moved permanently, asks for a confirming re-check
// of a failure, and says when to alert.
//
// Its core, Decide, is a pure function from the offer's state, the offer and
// one check to the next state and the plans to carry out. It reads no clock,
// no database and no network: package jobs loads the state, calls Decide
// inside the transaction that records the check, stores the new state and
// executes the plans. That keeps every rule here, in one place, testable by
// tables.
package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
)

// State is what the policy remembers about an offer between checks.
type State struct {
	// Held is true while urltracker holds the offer's campaign (or, when
	// Observed, would hold it).
	Held bool
	// Observed marks a hold that observe mode only recorded: nothing was
	// sent, so the campaign is as it was.
	Observed bool
	// HoldStatus is the status the hold set; a resume is sent only while
	// the campaign still shows it.
	HoldStatus urltracker.HoldStatus
	// Failures and Successes are the streaks of counted checks.
	Failures  int
	Successes int
	// LastVerdict is the verdict of the last counted check; empty before
	// the first.
	LastVerdict urltracker.Verdict
	// Redirect is where the offer link's first hop pointed on the last
	// counted check when it answered a permanent redirect (301/308).
	Redirect string
	// Proposed is the redirect target of the last destination proposal, so
	// that one move is proposed once.
	Proposed string
	// CertificatesWarned lists, one a line, the certificates an alert
	// already warned of (the evidence of certificate_expires_soon: host and
	// date), so that each certificate alerts once. A string keeps State
	// comparable.
	CertificatesWarned string
}

// Input is one check as the policy sees it.
type Input struct {
	Check urltracker.Check
	// Confirms is the id of the failing check this check re-checks; 0 for
	// a check of its own.
	Confirms int64
	// KillSwitchOff is true when automation was switched off while the
	// check ran: such a check counts for nothing.
	KillSwitchOff bool
}

// Kind names what a plan does.
type Kind string

// The kinds of plan. The first four are actions, named as the actions log
// names them.
const (
	KindPause          Kind = Kind(urltracker.ActionPause)
	KindResume         Kind = Kind(urltracker.ActionResume)
	KindSetDestination Kind = Kind(urltracker.ActionSetDestination)
	KindAlert          Kind = Kind(urltracker.ActionAlert)
	// KindConfirm asks for a re-check of the offer after Plan.After; the
	// failure counts only if the re-check fails too.
	KindConfirm Kind = "confirm"
)

// Plan is one thing to do because of a check.
type Plan struct {
	Kind Kind
	// Observe: record the decision with outcome observed and send nothing.
	Observe bool
	// AwaitApproval: a destination proposal that waits for an admin.
	AwaitApproval bool
	// Status is the campaign status a pause sets (the policy's hold
	// status), or the one a resume expects to find (the status the hold
	// set): a campaign in any other status was changed by someone else.
	Status urltracker.HoldStatus
	// Redirect is the target of the permanent redirect a set_destination
	// follows. The new campaign URL is computed when it is sent, from the
	// campaign URL Trackier answers then (see CampaignURL).
	Redirect string
	// After is how long a confirm plan waits.
	After time.Duration
	// Event and Text describe an alert.
	Event, Text string
	// Reason tells a person why the plan was made, e.g. "after 2 failed
	// checks in a row (last: broken)".
	Reason string
}

// Decide returns the offer's state after check and the plans it calls for.
func Decide(s State, o urltracker.Offer, in Input) (State, []Plan) {
	s, plans := decideHealth(s, o, in)
	if in.KillSwitchOff {
		return s, plans
	}
	return warnCertificates(s, o, in.Check, plans)
}

// maxCertificatesWarned bounds the certificates remembered per offer; the
// oldest are forgotten first.
const maxCertificatesWarned = 20

// warnCertificates adds an alert for each certificate of the check that
// expires soon and was not warned of before, whatever the verdict: a
// certificate that expires stops every visitor.
func warnCertificates(s State, o urltracker.Offer, c urltracker.Check, plans []Plan) (State, []Plan) {
	if o.Policy.AlertURL == "" {
		return s, plans
	}
	warned := strings.Split(s.CertificatesWarned, "\n")
	for _, sig := range c.Signals {
		if sig.Name != urltracker.SignalCertificateExpiresSoon || slices.Contains(warned, sig.Evidence) {
			continue
		}
		plans = append(plans, Plan{Kind: KindAlert, Event: urltracker.SignalCertificateExpiresSoon,
			Text: fmt.Sprintf("Offer %q (#%d): %s", o.Name, o.ID, sig.Evidence)})
		warned = append(warned, sig.Evidence)
	}
	if len(warned) > maxCertificatesWarned {
		warned = warned[len(warned)-maxCertificatesWarned:]
	}
	s.CertificatesWarned = strings.TrimPrefix(strings.Join(warned, "\n"), "\n")
	return s, plans
}

// decideHealth is Decide for the verdict: streaks, holds, resumes,
// destination proposals and health alerts.
func decideHealth(s State, o urltracker.Offer, in Input) (State, []Plan) {
	c := in.Check
	health := c.Verdict.Health()
	// A run cut by the kill switch, or one that could not judge the link,
	// says nothing about its health.
	if in.KillSwitchOff || health == urltracker.HealthNeutral {
		return s, nil
	}
	p := o.Policy
	if health == urltracker.HealthFailing && in.Confirms == 0 && p.ConfirmAfterSeconds > 0 {
		return s, []Plan{{Kind: KindConfirm, After: time.Duration(p.ConfirmAfterSeconds) * time.Second,
			Reason: fmt.Sprintf("check %d found %s; a second check confirms it before it counts", c.ID, c.Verdict)}}
	}
	observe := p.Mode != urltracker.ModeAct
	if !observe && s.Held && s.Observed {
		// The hold was only observed: the campaign was never held, and
		// acting starts from what is true.
		s.Held, s.Observed, s.HoldStatus = false, false, ""
	}
	bound := o.Trackier.CampaignID != "" && (o.Trackier.APIKey != "" || o.Trackier.APIKeySet)
	previous := s.LastVerdict
	var plans []Plan
	redirect, redirectStatus := PermanentRedirect(c.Chain)
	if health == urltracker.HealthHealthy {
		s.Successes++
		s.Failures = 0
		if bound && p.ResumeAfterSuccesses > 0 && s.Held {
			// A real hold in observe mode stays held: observe mode sends
			// nothing, not even a resume, and says once what it would do.
			realHoldObserved := observe && !s.Observed
			if !realHoldObserved && s.Successes >= p.ResumeAfterSuccesses || realHoldObserved && s.Successes == p.ResumeAfterSuccesses {
				plans = append(plans, Plan{Kind: KindResume, Observe: observe || s.Observed, Status: s.HoldStatus,
					Reason: "after " + checks(s.Successes, "healthy") + " in a row"})
				if !realHoldObserved {
					s.Held, s.Observed, s.HoldStatus = false, false, ""
				}
			}
		}
		held := s.Held && !s.Observed
		if bound && p.UpdateDestination && !held && redirect != "" && redirect == s.Redirect && redirect != s.Proposed {
			plans = append(plans, Plan{Kind: KindSetDestination, Observe: observe, AwaitApproval: !p.AutoUpdateDestination,
				Redirect: redirect,
				Reason:   fmt.Sprintf("the offer link's first hop answered %d to %s on two checks in a row", redirectStatus, redirect)})
			s.Proposed = redirect
		}
	} else {
		s.Failures++
		s.Successes = 0
		if bound && p.PauseAfterFailures > 0 && !s.Held && s.Failures >= p.PauseAfterFailures {
			status := p.HoldStatus
			if status == "" {
				status = urltracker.HoldDisabled
			}
			plans = append(plans, Plan{Kind: KindPause, Observe: observe, Status: status,
				Reason: fmt.Sprintf("after %s in a row (last: %s)", checks(s.Failures, "failed"), c.Verdict)})
			s.Held, s.Observed, s.HoldStatus = true, observe, status
		}
	}
	s.Redirect = redirect
	s.LastVerdict = c.Verdict
	if p.AlertURL != "" {
		if event, text := healthAlert(o, c, previous); event != "" {
			plans = append(plans, Plan{Kind: KindAlert, Event: event, Text: text})
		}
	}
	return s, plans
}

// checks says "1 failed check" or "2 failed checks".
func checks(n int, kind string) string {
	if n == 1 {
		return "1 " + kind + " check"
	}
	return fmt.Sprintf("%d %s checks", n, kind)
}

// PermanentRedirect returns where the first hop of chain points when it
// answered a permanent HTTP redirect (301 or 308), with that status; ""
// otherwise.
func PermanentRedirect(chain []urltracker.Hop) (target string, status int) {
	if len(chain) < 2 || chain[0].RedirectType != urltracker.RedirectHTTP {
		return "", 0
	}
	switch chain[0].Status {
	case 301, 308:
		return chain[1].URL, chain[0].Status
	}
	return "", 0
}

// healthAlert says whether check changed the offer's health in a way worth an
// alert, and how to tell it.
func healthAlert(offer urltracker.Offer, check urltracker.Check, previous urltracker.Verdict) (event, text string) {
	name := fmt.Sprintf("Offer %q (#%d)", offer.Name, offer.ID)
	healthy := check.Verdict == urltracker.VerdictHealthy
	switch {
	case !healthy && (previous == "" || previous == urltracker.VerdictHealthy):
		text = fmt.Sprintf("%s is failing: %s", name, check.Verdict)
		if check.Error != "" {
			text += " (" + check.Error + ")"
		}
		if check.FinalURL != "" {
			text += ". Last URL: " + check.FinalURL
		}
		return "health_changed", text
	case healthy && previous != "" && previous != urltracker.VerdictHealthy:
		text = fmt.Sprintf("%s is healthy again (was %s). Landing: %s", name, previous, check.FinalURL)
		if check.LandingChanged {
			text += " (moved from " + check.PreviousLanding + ")"
		}
		return "health_changed", text
	case healthy && check.LandingChanged:
		return "landing_moved", fmt.Sprintf("%s landing page moved: %s → %s", name, check.PreviousLanding, check.FinalURL)
	}
	return "", ""
}
