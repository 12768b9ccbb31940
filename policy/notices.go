package policy

import (
	"fmt"
	"time"

	"github.com/urltracker/urltracker"
)

// Notices: what is worth telling people, and when. One outage (from its
// first counted failing check until the offer is healthy again) is one
// thread: a failing notice once alert.failure_threshold failed checks in a
// row, a reminder every alert.remind_every_seconds while it lasts, and a
// resolved notice after alert.success_threshold healthy checks; each names
// the outage's start and duration. A flapping link whose failures never
// reach the threshold says nothing, and one whose healthy checks never reach
// the success threshold stays one outage.

// Silence says why offer o's notices and actions are held back at t (a
// snooze, or a maintenance window covering it), or "" when they are not.
func Silence(o urltracker.Offer, windows []urltracker.MaintenanceWindow, t time.Time) string {
	if s := o.Snooze; s != nil && t.Before(s.Until) {
		why := "snoozed until " + stamp(s.Until)
		if s.Reason != "" {
			why += " (" + s.Reason + ")"
		}
		return why
	}
	for _, w := range windows {
		if !w.Covers(o.ID) {
			continue
		}
		if until, ok := w.ActiveAt(t); ok {
			return fmt.Sprintf("maintenance window %q until %s", w.Name, stamp(until))
		}
	}
	return ""
}

// notices adds to plans the notices a counted check calls for and keeps the
// outage in s.
func notices(s State, o urltracker.Offer, in Input, plans []Plan) (State, []Plan) {
	c := in.Check
	at := c.StartedAt
	failureThreshold, successThreshold := o.Alert.FailureThreshold, o.Alert.SuccessThreshold
	if failureThreshold <= 0 {
		failureThreshold = urltracker.DefaultFailureThreshold
	}
	if successThreshold <= 0 {
		successThreshold = urltracker.DefaultSuccessThreshold
	}
	remind := time.Duration(o.Alert.RemindEverySeconds) * time.Second
	var out []urltracker.Notice
	if c.Verdict.Health() == urltracker.HealthFailing {
		if s.OutageStart.IsZero() {
			s.OutageStart = at
		}
		switch {
		case s.NotifiedAt.IsZero() && s.Failures >= failureThreshold:
			n := outageNotice(o, c, s, urltracker.NoticeFailing)
			n.Title = fmt.Sprintf("Offer %q is failing: %s", o.Name, c.Verdict)
			n.Text = fmt.Sprintf("%s in a row, failing since %s. %s", checks(s.Failures, "failed"), stamp(s.OutageStart), doing(o, s, plans))
			out = append(out, n)
			s.NotifiedAt = at
		case !s.NotifiedAt.IsZero() && remind > 0 && at.Sub(s.NotifiedAt) >= remind:
			n := outageNotice(o, c, s, urltracker.NoticeReminder)
			n.Title = fmt.Sprintf("Offer %q is still failing: %s", o.Name, c.Verdict)
			n.Text = fmt.Sprintf("Failing since %s (%s). %s", stamp(s.OutageStart), urltracker.HumanDuration(at.Sub(s.OutageStart)), doing(o, s, plans))
			out = append(out, n)
			s.NotifiedAt = at
		}
	} else if !s.OutageStart.IsZero() && s.Successes >= successThreshold {
		if !s.NotifiedAt.IsZero() {
			n := outageNotice(o, c, s, urltracker.NoticeResolved)
			n.Title = fmt.Sprintf("Offer %q is healthy again", o.Name)
			n.Text = fmt.Sprintf("The outage that started %s lasted %s. Landing: %s. %s", stamp(s.OutageStart),
				urltracker.HumanDuration(at.Sub(s.OutageStart)), c.FinalURL, doing(o, s, plans))
			out = append(out, n)
		}
		s.OutageStart, s.NotifiedAt = time.Time{}, time.Time{}
	}
	for _, p := range plans {
		if p.Kind == KindSetDestination && p.AwaitApproval && !p.Observe {
			n := outageNotice(o, c, s, urltracker.NoticeAction)
			n.Action, n.Outcome = urltracker.ActionSetDestination, urltracker.ActionAwaitingApproval
			n.Title = fmt.Sprintf("Offer %q: new campaign destination proposed", o.Name)
			n.Text = fmt.Sprintf("Trackier campaign %s could follow %s: %s. Approve it on the offer page.",
				o.Trackier.CampaignID, p.Redirect, p.Reason)
			out = append(out, n)
		}
	}
	for _, n := range out {
		plans = append(plans, Plan{Kind: KindNotify, Notice: n, Silence: in.Silence})
	}
	return s, plans
}

// outageNotice is a notice about check c of offer o, in the outage s keeps.
func outageNotice(o urltracker.Offer, c urltracker.Check, s State, event urltracker.NoticeEvent) urltracker.Notice {
	n := urltracker.Notice{Event: event, OfferID: o.ID, OfferName: o.Name, Verdict: c.Verdict, CheckID: c.ID,
		FinalURL: c.FinalURL, Error: c.Error, At: c.StartedAt}
	if !s.OutageStart.IsZero() {
		start := s.OutageStart
		n.OutageStartedAt = &start
	}
	return n
}

// doing says what urltracker does about the offer's campaign after this
// check's plans.
func doing(o urltracker.Offer, s State, plans []Plan) string {
	campaign := "Trackier campaign " + o.Trackier.CampaignID
	for _, p := range plans {
		switch {
		case p.Kind == KindPause && p.Observe:
			return "Not sent: urltracker would hold " + campaign + " (" + string(p.Status) + ") " + why(p)
		case p.Kind == KindPause:
			return "urltracker is holding " + campaign + " (" + string(p.Status) + "); a message follows when Trackier shows it."
		case p.Kind == KindResume && p.Observe:
			return "Not sent: urltracker would resume " + campaign + " " + why(p)
		case p.Kind == KindResume:
			return "urltracker is resuming " + campaign + "; a message follows when Trackier shows it."
		}
	}
	switch {
	case o.Trackier.CampaignID == "":
		return "No Trackier campaign is bound: urltracker changes nothing."
	case s.Held && !s.Observed:
		return "urltracker holds " + campaign + " (" + string(s.HoldStatus) + ")."
	case s.Held:
		return "In observe mode urltracker would hold " + campaign + "."
	}
	return "urltracker has not changed " + campaign + "."
}

// why says why a plan was only observed.
func why(p Plan) string {
	if p.Silence != "" {
		return "(" + p.Silence + ")."
	}
	return "(observe mode)."
}

// ActionNotice tells what an action attempt did to the offer's campaign,
// and whether that is worth a message: a hold, resume or destination change
// that succeeded, failed for good or was skipped. Retries, observed and
// suppressed attempts say nothing (the kill switch has its own notice).
// outageStart is the outage the offer is in, zero when none.
func ActionNotice(o urltracker.Offer, a urltracker.Action, outageStart time.Time) (urltracker.Notice, bool) {
	switch a.Outcome {
	case urltracker.ActionSucceeded, urltracker.ActionFailed, urltracker.ActionSkipped:
	default:
		return urltracker.Notice{}, false
	}
	verb, past := "hold", "Held"
	switch a.Kind {
	case urltracker.ActionResume:
		verb, past = "resume", "Resumed"
	case urltracker.ActionSetDestination:
		verb, past = "set the URL of", "Set the URL of"
	}
	what := fmt.Sprintf("Trackier campaign %s of offer %q", o.Trackier.CampaignID, o.Name)
	n := urltracker.Notice{Event: urltracker.NoticeAction, OfferID: o.ID, OfferName: o.Name, CheckID: a.CheckID,
		Action: a.Kind, Outcome: a.Outcome, Error: a.Error, At: a.At}
	if !outageStart.IsZero() {
		n.OutageStartedAt = &outageStart
	}
	switch a.Outcome {
	case urltracker.ActionSucceeded:
		n.Title = past + " " + what
		n.Text = "urltracker " + lower(past) + " it " + a.Reason + "."
		if a.Kind == urltracker.ActionSetDestination {
			n.Text = "It now follows " + a.Destination + ": " + a.Reason + "."
		}
		if a.VerifiedAfterMS != nil {
			n.Text += fmt.Sprintf(" Trackier showed the change after %s.", urltracker.HumanDuration(time.Duration(*a.VerifiedAfterMS)*time.Millisecond))
		}
	case urltracker.ActionSkipped:
		n.Title = "Did not " + verb + " " + what
		n.Text = a.Error + "."
	default:
		n.Title = "Could not " + verb + " " + what
		n.Text = a.Error + ". See the offer's actions log."
	}
	return n, true
}

// KillSwitchNotice tells that automation was switched off (enabled false)
// or back on at at, by whom (e.g. "alice on host-a:1") and why.
func KillSwitchNotice(enabled bool, at time.Time, by, reason string) urltracker.Notice {
	n := urltracker.Notice{Event: urltracker.NoticeKillSwitch, At: at}
	if enabled {
		n.Title = "Automation is back on"
		n.Text = "The kill switch was turned back on by " + by + ": checks resume and actions are sent again."
	} else {
		n.Title = "Automation is OFF: the kill switch was turned off"
		n.Text = "Turned off by " + by + ". Checks stop and no Trackier action is sent on any instance until it is turned back on; pending actions are dropped."
	}
	if reason != "" {
		n.Text += " Reason: " + reason
	}
	return n
}

// stamp is t as people read it in a message.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") }

func lower(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
