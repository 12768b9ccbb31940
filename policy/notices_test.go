package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

var t0 = time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)

// at is a check of verdict v, started minutes after t0.
func at(minutes int, v urltracker.Verdict) Input {
	return Input{Check: urltracker.Check{ID: int64(minutes + 1), Verdict: v, StartedAt: t0.Add(time.Duration(minutes) * time.Minute),
		FinalURL: "https://old.example/landing"}}
}

// tell feeds the checks in order and returns, per check, the events of its
// notices ("" for none), with the notices themselves.
func tell(o urltracker.Offer, inputs ...Input) ([]string, []urltracker.Notice) {
	var s State
	var events []string
	var all []urltracker.Notice
	for _, in := range inputs {
		var plans []Plan
		s, plans = Decide(s, o, in)
		var es []string
		for _, p := range plans {
			if p.Kind == KindNotify {
				es = append(es, string(p.Notice.Event))
				all = append(all, p.Notice)
			}
		}
		events = append(events, strings.Join(es, ","))
	}
	return events, all
}

func alerting(failure, success, remindSeconds int) urltracker.Offer {
	o := offer(urltracker.Policy{Mode: urltracker.ModeAct})
	o.Trackier = urltracker.Trackier{}
	o.Alert = urltracker.AlertSettings{FailureThreshold: failure, SuccessThreshold: success, RemindEverySeconds: remindSeconds}
	return o
}

func TestNoticeStories(t *testing.T) {
	const (
		ok  = urltracker.VerdictHealthy
		bad = urltracker.VerdictBroken
		off = urltracker.VerdictBlocked
	)
	tests := []struct {
		name   string
		offer  urltracker.Offer
		checks []Input
		want   []string
	}{
		{"a failure below the threshold says nothing", alerting(2, 1, 0),
			[]Input{at(0, ok), at(10, bad), at(20, ok)}, []string{"", "", ""}},
		{"the threshold opens the outage, recovery resolves it", alerting(2, 1, 0),
			[]Input{at(0, bad), at(10, bad), at(20, bad), at(30, ok), at(40, ok)}, []string{"", "failing", "", "resolved", ""}},
		{"a flapping link never reaching the threshold says nothing", alerting(2, 1, 0),
			[]Input{at(0, bad), at(10, ok), at(20, bad), at(30, ok), at(40, bad), at(50, ok)}, []string{"", "", "", "", "", ""}},
		{"flapping after the threshold stays one outage until the success threshold", alerting(2, 2, 0),
			[]Input{at(0, bad), at(10, bad), at(20, ok), at(30, bad), at(40, ok), at(50, bad), at(60, bad), at(70, ok), at(80, ok)},
			[]string{"", "failing", "", "", "", "", "", "", "resolved"}},
		{"reminders while it lasts", alerting(1, 1, 3600),
			[]Input{at(0, bad), at(30, bad), at(60, bad), at(90, bad), at(120, bad), at(130, ok)},
			[]string{"failing", "", "reminder", "", "reminder", "resolved"}},
		{"no reminders when remind_every_seconds is 0", alerting(1, 1, 0),
			[]Input{at(0, bad), at(600, bad), at(1200, ok)}, []string{"failing", "", "resolved"}},
		{"neutral checks neither open nor close", alerting(1, 1, 0),
			[]Input{at(0, off), at(10, bad), at(20, off), at(30, ok)}, []string{"", "failing", "", "resolved"}},
		{"thresholds left at zero take the defaults", alerting(0, 0, 0),
			[]Input{at(0, bad), at(10, bad), at(20, ok)}, []string{"", "failing", "resolved"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := tell(tt.offer, tt.checks...)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("notices = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOneOutageOneThread(t *testing.T) {
	o := alerting(2, 1, 3600)
	_, ns := tell(o, at(0, urltracker.VerdictHealthy), at(10, urltracker.VerdictBroken), at(20, urltracker.VerdictBroken),
		at(80, urltracker.VerdictBroken), at(95, urltracker.VerdictHealthy))
	if len(ns) != 3 {
		t.Fatalf("notices = %+v", ns)
	}
	start := t0.Add(10 * time.Minute)
	for _, n := range ns {
		if n.OutageStartedAt == nil || !n.OutageStartedAt.Equal(start) || n.OutageKey() != ns[0].OutageKey() || n.OfferID != 7 {
			t.Errorf("%s notice names outage %v (%s), want the one that started %s", n.Event, n.OutageStartedAt, n.OutageKey(), start)
		}
	}
	for i, want := range []struct{ title, text string }{
		{`Offer "shoes" is failing: broken`, "2 failed checks in a row, failing since 2026-12-02 00:10 UTC. No Trackier campaign is bound"},
		{`Offer "shoes" is still failing: broken`, "Failing since 2026-12-02 00:10 UTC (1h 10m)."},
		{`Offer "shoes" is healthy again`, "The outage that started 2026-12-02 00:10 UTC lasted 1h 25m. Landing: https://old.example/landing."},
	} {
		if ns[i].Title != want.title || !strings.Contains(ns[i].Text, want.text) {
			t.Errorf("notice %d = %q / %q, want %q / …%q…", i, ns[i].Title, ns[i].Text, want.title, want.text)
		}
	}
}

func TestNoticesSayWhatUrltrackerDoes(t *testing.T) {
	bound := func(mode urltracker.Mode) urltracker.Offer {
		o := offer(urltracker.Policy{Mode: mode, PauseAfterFailures: 2, ResumeAfterSuccesses: 1})
		o.Alert = urltracker.AlertSettings{FailureThreshold: 2, SuccessThreshold: 1, RemindEverySeconds: 60}
		return o
	}
	silenced := func(in Input) Input { in.Silence = "snoozed until 2026-12-02 06:00 UTC (deploy)"; return in }
	tests := []struct {
		name   string
		offer  urltracker.Offer
		checks []Input
		text   string
	}{
		{"holding", bound(urltracker.ModeAct), []Input{at(0, "broken"), at(1, "broken")},
			"urltracker is holding Trackier campaign 101 (disabled); a message follows when Trackier shows it."},
		{"would hold", bound(urltracker.ModeObserve), []Input{at(0, "broken"), at(1, "broken")},
			"Not sent: urltracker would hold Trackier campaign 101 (disabled) (observe mode)."},
		{"held back by a snooze", bound(urltracker.ModeAct), []Input{silenced(at(0, "broken")), silenced(at(1, "broken"))},
			"Not sent: urltracker would hold Trackier campaign 101 (disabled) (snoozed until 2026-12-02 06:00 UTC (deploy))."},
		{"holds", bound(urltracker.ModeAct), []Input{at(0, "broken"), at(1, "broken"), at(2, "broken")},
			"urltracker holds Trackier campaign 101 (disabled)."},
		{"would still hold", bound(urltracker.ModeObserve), []Input{at(0, "broken"), at(1, "broken"), at(2, "broken")},
			"In observe mode urltracker would hold Trackier campaign 101."},
		{"resuming", bound(urltracker.ModeAct), []Input{at(0, "broken"), at(1, "broken"), at(2, "healthy")},
			"urltracker is resuming Trackier campaign 101; a message follows when Trackier shows it."},
		{"would resume", bound(urltracker.ModeObserve), []Input{at(0, "broken"), at(1, "broken"), at(2, "healthy")},
			"Not sent: urltracker would resume Trackier campaign 101 (observe mode)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ns := tell(tt.offer, tt.checks...)
			if len(ns) == 0 || !strings.HasSuffix(ns[len(ns)-1].Text, tt.text) {
				t.Errorf("notices = %+v, want the last ending %q", ns, tt.text)
			}
		})
	}
	noPause := offer(urltracker.Policy{Mode: urltracker.ModeAct})
	noPause.Alert = urltracker.AlertSettings{FailureThreshold: 1}
	if _, ns := tell(noPause, at(0, "broken")); len(ns) != 1 || !strings.HasSuffix(ns[0].Text, "urltracker has not changed Trackier campaign 101.") {
		t.Errorf("notices = %+v", ns)
	}
}

func TestSilencedNoticesAndActions(t *testing.T) {
	o := offer(urltracker.Policy{Mode: urltracker.ModeAct, PauseAfterFailures: 1})
	o.Alert = urltracker.AlertSettings{FailureThreshold: 1, SuccessThreshold: 1}
	in := at(0, urltracker.VerdictBroken)
	in.Silence = "maintenance window \"nightly\" until 2026-12-02 02:00 UTC"
	s, plans := Decide(State{}, o, in)
	if len(plans) != 2 || plans[0].Kind != KindPause || !plans[0].Observe || plans[0].Silence != in.Silence ||
		plans[1].Kind != KindNotify || plans[1].Silence != in.Silence {
		t.Fatalf("plans = %+v, want an observed pause and a listed notice, both silenced", plans)
	}
	// The outage was told (to the list): once the silence ends, the next
	// failing check acts, and the outage goes on without a second notice.
	s, plans = Decide(s, o, at(10, urltracker.VerdictBroken))
	if kinds(plans) != "pause" || len(plans) != 1 || s.NotifiedAt != t0 {
		t.Errorf("after the silence: plans %+v, state %+v", plans, s)
	}
}

func TestProposalNotice(t *testing.T) {
	o := offer(urltracker.Policy{Mode: urltracker.ModeAct, UpdateDestination: true})
	s, _ := Decide(State{}, o, check(1, urltracker.VerdictHealthy, permanent(301, moved)...))
	_, plans := Decide(s, o, check(2, urltracker.VerdictHealthy, permanent(301, moved)...))
	if len(plans) != 2 || plans[1].Kind != KindNotify {
		t.Fatalf("plans = %+v", plans)
	}
	n := plans[1].Notice
	if n.Event != urltracker.NoticeAction || n.Action != urltracker.ActionSetDestination || n.Outcome != urltracker.ActionAwaitingApproval ||
		!strings.Contains(n.Text, "Trackier campaign 101 could follow "+moved) || !strings.HasSuffix(n.Text, "Approve it on the offer page.") {
		t.Errorf("proposal notice = %+v", n)
	}
}

func TestSilence(t *testing.T) {
	o := urltracker.Offer{ID: 7}
	now := time.Date(2026, 12, 6, 23, 30, 0, 0, time.UTC) // a sunday
	if got := Silence(o, nil, now); got != "" {
		t.Errorf("no snooze, no window: %q", got)
	}
	o.Snooze = &urltracker.Snooze{Until: now.Add(time.Hour), Reason: "deploy"}
	if got := Silence(o, nil, now); got != "snoozed until 2026-12-07 00:30 UTC (deploy)" {
		t.Errorf("snoozed: %q", got)
	}
	o.Snooze.Reason = ""
	if got := Silence(o, nil, now); got != "snoozed until 2026-12-07 00:30 UTC" {
		t.Errorf("snoozed without reason: %q", got)
	}
	o.Snooze.Until = now
	if got := Silence(o, nil, now); got != "" {
		t.Errorf("snooze over: %q", got)
	}
	// Sunday 23:00 Berlin time for 2 hours: on at 23:30 UTC (00:30 Monday
	// in Berlin); not for another offer; not an hour later.
	weekly := urltracker.MaintenanceWindow{Name: "nightly", TimeZone: "Europe/Berlin",
		Weekly: &urltracker.WeeklyWindow{Days: []string{"sun"}, Start: "23:00", DurationMinutes: 120}}.Normalize()
	other := weekly
	other.Offers = []int64{8}
	windows := []urltracker.MaintenanceWindow{other, weekly}
	if got := Silence(o, windows, now); got != `maintenance window "nightly" until 2026-12-07 00:00 UTC` {
		t.Errorf("in the window: %q", got)
	}
	if got := Silence(o, windows, now.Add(time.Hour)); got != "" {
		t.Errorf("after the window: %q", got)
	}
}

func TestActionNotice(t *testing.T) {
	o := offer(urltracker.Policy{})
	ms := int64(42000)
	start := t0
	tests := []struct {
		name  string
		a     urltracker.Action
		start time.Time
		ok    bool
		title string
		text  string
	}{
		{"held", urltracker.Action{Kind: urltracker.ActionPause, Outcome: urltracker.ActionSucceeded, Reason: "after 2 failed checks in a row (last: broken)", VerifiedAfterMS: &ms},
			start, true, `Held Trackier campaign 101 of offer "shoes"`, "urltracker held it after 2 failed checks in a row (last: broken). Trackier showed the change after 42s."},
		{"resumed", urltracker.Action{Kind: urltracker.ActionResume, Outcome: urltracker.ActionSucceeded, Reason: "after 1 healthy check in a row"},
			time.Time{}, true, `Resumed Trackier campaign 101 of offer "shoes"`, "urltracker resumed it after 1 healthy check in a row."},
		{"destination", urltracker.Action{Kind: urltracker.ActionSetDestination, Outcome: urltracker.ActionSucceeded, Destination: moved, Reason: "approved"},
			time.Time{}, true, `Set the URL of Trackier campaign 101 of offer "shoes"`, "It now follows " + moved + ": approved."},
		{"skipped", urltracker.Action{Kind: urltracker.ActionResume, Outcome: urltracker.ActionSkipped, Error: "the campaign is paused, not disabled"},
			time.Time{}, true, `Did not resume Trackier campaign 101 of offer "shoes"`, "the campaign is paused, not disabled."},
		{"failed", urltracker.Action{Kind: urltracker.ActionPause, Outcome: urltracker.ActionFailed, Error: "Trackier answered 401"},
			start, true, `Could not hold Trackier campaign 101 of offer "shoes"`, "Trackier answered 401. See the offer's actions log."},
		{"retrying says nothing yet", urltracker.Action{Kind: urltracker.ActionPause, Outcome: urltracker.ActionRetrying}, start, false, "", ""},
		{"suppressed says nothing", urltracker.Action{Kind: urltracker.ActionPause, Outcome: urltracker.ActionSuppressed}, start, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, ok := ActionNotice(o, tt.a, tt.start)
			if ok != tt.ok || n.Title != tt.title || n.Text != tt.text {
				t.Errorf("ActionNotice() = %q / %q, %v; want %q / %q, %v", n.Title, n.Text, ok, tt.title, tt.text, tt.ok)
			}
			if ok && (n.OutageStartedAt != nil) != !tt.start.IsZero() {
				t.Errorf("outage = %v, want %v", n.OutageStartedAt, tt.start)
			}
		})
	}
}

func TestKillSwitchNotice(t *testing.T) {
	off := KillSwitchNotice(false, t0, "alice on host-a:1", "Trackier incident")
	on := KillSwitchNotice(true, t0, "host-b:2", "")
	if off.Event != urltracker.NoticeKillSwitch || !strings.Contains(off.Title, "OFF") || !strings.Contains(off.Text, "alice on host-a:1") ||
		!strings.HasSuffix(off.Text, "Reason: Trackier incident") {
		t.Errorf("off = %+v", off)
	}
	if !strings.Contains(on.Title, "back on") || !strings.Contains(on.Text, "host-b:2") || !on.At.Equal(t0) {
		t.Errorf("on = %+v", on)
	}
}

func TestLower(t *testing.T) {
	if lower("") != "" || lower("Held") != "held" {
		t.Error("lower")
	}
}
