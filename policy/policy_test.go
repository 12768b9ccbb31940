package policy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

// allVerdicts is every verdict a check can reach, old and new.
var allVerdicts = []urltracker.Verdict{
	urltracker.VerdictHealthy, urltracker.VerdictBroken, urltracker.VerdictLoop, urltracker.VerdictTooManyHops,
	urltracker.VerdictTimeout, urltracker.VerdictUnexpectedLanding, urltracker.VerdictBlocked,
	urltracker.VerdictSoft404, urltracker.VerdictOfferExpired, urltracker.VerdictParkedDomain,
	urltracker.VerdictContentMismatch, urltracker.VerdictSlow, urltracker.VerdictRefused,
}

const moved = "https://new.example/landing?seen_click=abc"

func offer(p urltracker.Policy) urltracker.Offer {
	return urltracker.Offer{ID: 7, Name: "shoes", URL: "https://old.example/landing",
		Trackier: urltracker.Trackier{APIBaseURL: urltracker.DefaultTrackierAPIBaseURL, APIKeySet: true, CampaignID: "101"},
		Policy:   p}
}

func check(id int64, v urltracker.Verdict, chain ...urltracker.Hop) Input {
	return Input{Check: urltracker.Check{ID: id, Verdict: v, Chain: chain}}
}

// permanent is a chain whose first hop answers status pointing at target.
func permanent(status int, target string) []urltracker.Hop {
	return []urltracker.Hop{
		{URL: "https://old.example/landing", Status: status, RedirectType: urltracker.RedirectHTTP},
		{URL: target, Status: 200, RedirectType: urltracker.RedirectFinal},
	}
}

// kinds names the plans other than notices (notices_test.go tells those).
func kinds(plans []Plan) string {
	var ks []string
	for _, p := range withoutNotices(plans) {
		k := string(p.Kind)
		if p.Observe {
			k += "(observed)"
		}
		if p.AwaitApproval {
			k += "(awaiting)"
		}
		ks = append(ks, k)
	}
	return strings.Join(ks, ",")
}

func withoutNotices(plans []Plan) []Plan {
	return slices.DeleteFunc(slices.Clone(plans), func(p Plan) bool { return p.Kind == KindNotify })
}

// run feeds checks one after the other, as the jobs would, and returns the
// plans of each and the final state.
func run(o urltracker.Offer, s State, inputs ...Input) (State, []string) {
	var got []string
	for _, in := range inputs {
		var plans []Plan
		s, plans = Decide(s, o, in)
		got = append(got, kinds(plans))
	}
	return s, got
}

func TestStories(t *testing.T) {
	act := urltracker.Policy{Mode: urltracker.ModeAct, PauseAfterFailures: 2, ResumeAfterSuccesses: 2}
	observe := act
	observe.Mode = urltracker.ModeObserve
	dest := urltracker.Policy{Mode: urltracker.ModeAct, UpdateDestination: true}
	auto := dest
	auto.AutoUpdateDestination = true
	confirm := act
	confirm.ConfirmAfterSeconds = 30
	broken, healthy := urltracker.VerdictBroken, urltracker.VerdictHealthy
	held := State{Held: true, HoldStatus: urltracker.HoldDisabled, Failures: 2, LastVerdict: broken}
	tests := []struct {
		name   string
		policy urltracker.Policy
		start  State
		checks []Input
		want   []string
		end    State
	}{
		{"two broken checks hold once, two healthy resume once", act, State{},
			[]Input{check(1, broken), check(2, broken), check(3, broken), check(4, healthy), check(5, healthy), check(6, healthy)},
			[]string{"", "pause", "", "", "resume", ""},
			State{Successes: 3, LastVerdict: healthy}},
		{"a healthy check breaks the failure streak", act, State{},
			[]Input{check(1, broken), check(2, healthy), check(3, broken)},
			[]string{"", "", ""},
			State{Failures: 1, LastVerdict: broken}},
		{"blocked and refused count for nothing", act, State{Failures: 1, LastVerdict: broken},
			[]Input{check(1, urltracker.VerdictBlocked), check(2, urltracker.VerdictRefused), check(3, urltracker.VerdictSoft404)},
			[]string{"", "", "pause"},
			State{Held: true, HoldStatus: urltracker.HoldDisabled, Failures: 2, LastVerdict: urltracker.VerdictSoft404}},
		{"observe mode records what it would do, and sends nothing", observe, State{},
			[]Input{check(1, broken), check(2, broken), check(3, healthy), check(4, healthy)},
			[]string{"", "pause(observed)", "", "resume(observed)"},
			State{Successes: 2, LastVerdict: healthy}},
		{"switching to act forgets a hold that was only observed", act,
			State{Held: true, Observed: true, HoldStatus: urltracker.HoldDisabled, Failures: 2, LastVerdict: broken},
			[]Input{check(1, healthy), check(2, healthy), check(3, broken), check(4, broken)},
			[]string{"", "", "", "pause"},
			State{Held: true, HoldStatus: urltracker.HoldDisabled, Failures: 2, LastVerdict: broken}},
		{"a real hold stays held in observe mode, which says once it would resume", observe, held,
			[]Input{check(1, healthy), check(2, healthy), check(3, healthy)},
			[]string{"", "resume(observed)", ""},
			State{Held: true, HoldStatus: urltracker.HoldDisabled, Successes: 3, LastVerdict: healthy}},
		{"the hold status is the policy's", urltracker.Policy{Mode: urltracker.ModeAct, PauseAfterFailures: 1, HoldStatus: urltracker.HoldPaused}, State{},
			[]Input{check(1, broken)}, []string{"pause"},
			State{Held: true, HoldStatus: urltracker.HoldPaused, Failures: 1, LastVerdict: broken}},
		{"a failure counts only once a second check confirms it", confirm, State{},
			[]Input{check(1, broken), {Check: urltracker.Check{ID: 2, Verdict: broken}, Confirms: 1},
				check(3, broken), {Check: urltracker.Check{ID: 4, Verdict: broken}, Confirms: 3}},
			[]string{"confirm", "", "confirm", "pause"},
			State{Held: true, HoldStatus: urltracker.HoldDisabled, Failures: 2, LastVerdict: broken}},
		{"a healthy confirmation drops the failure", confirm, State{Successes: 4, LastVerdict: healthy},
			[]Input{check(1, broken), {Check: urltracker.Check{ID: 2, Verdict: healthy}, Confirms: 1}},
			[]string{"confirm", ""},
			State{Successes: 5, LastVerdict: healthy}},
		{"a 301 on two checks in a row proposes the destination once", dest, State{},
			[]Input{check(1, healthy, permanent(301, moved)...), check(2, healthy, permanent(301, moved)...), check(3, healthy, permanent(301, moved)...)},
			[]string{"", "set_destination(awaiting)", ""},
			State{Successes: 3, LastVerdict: healthy, Redirect: moved, Proposed: moved}},
		{"308 counts as permanent; auto_update_destination needs no approval", auto, State{},
			[]Input{check(1, healthy, permanent(308, moved)...), check(2, healthy, permanent(308, moved)...)},
			[]string{"", "set_destination"},
			State{Successes: 2, LastVerdict: healthy, Redirect: moved, Proposed: moved}},
		{"a 302 is not a move", dest, State{},
			[]Input{check(1, healthy, permanent(302, moved)...), check(2, healthy, permanent(302, moved)...)},
			[]string{"", ""},
			State{Successes: 2, LastVerdict: healthy}},
		{"two different targets are not two checks in a row", dest, State{},
			[]Input{check(1, healthy, permanent(301, moved)...), check(2, healthy, permanent(301, "https://other.example/")...)},
			[]string{"", ""},
			State{Successes: 2, LastVerdict: healthy, Redirect: "https://other.example/"}},
		{"a campaign urltracker holds is never edited", urltracker.Policy{Mode: urltracker.ModeAct, UpdateDestination: true, PauseAfterFailures: 1}, held,
			[]Input{check(1, healthy, permanent(301, moved)...), check(2, healthy, permanent(301, moved)...)},
			[]string{"", ""},
			State{Held: true, HoldStatus: urltracker.HoldDisabled, Successes: 2, LastVerdict: healthy, Redirect: moved}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			end, got := run(offer(tt.policy), tt.start, tt.checks...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("plans = %q, want %q", got, tt.want)
			}
			if end != tt.end {
				t.Errorf("state = %+v, want %+v", end, tt.end)
			}
		})
	}
}

func TestPlansSayWhy(t *testing.T) {
	o := offer(urltracker.Policy{Mode: urltracker.ModeObserve, PauseAfterFailures: 2, ConfirmAfterSeconds: 30})
	_, plans := Decide(State{}, o, check(5, urltracker.VerdictTimeout))
	if len(plans) != 1 || plans[0].Kind != KindConfirm || plans[0].After != 30*time.Second {
		t.Fatalf("plans = %+v, want one confirm after 30s", plans)
	}
	_, plans = Decide(State{Failures: 1}, o, Input{Check: urltracker.Check{ID: 6, Verdict: urltracker.VerdictTimeout}, Confirms: 5})
	plans = withoutNotices(plans)
	if len(plans) != 1 || plans[0].Reason != "after 2 failed checks in a row (last: timeout)" || plans[0].Status != urltracker.HoldDisabled {
		t.Fatalf("plans = %+v, want a pause to disabled saying why", plans)
	}
	one := offer(urltracker.Policy{Mode: urltracker.ModeAct, PauseAfterFailures: 1})
	_, plans = Decide(State{}, one, check(7, urltracker.VerdictBroken))
	plans = withoutNotices(plans)
	if len(plans) != 1 || plans[0].Reason != "after 1 failed check in a row (last: broken)" {
		t.Fatalf("plans = %+v, want one check in the singular", plans)
	}
}

// TestEveryVerdictStateAndSwitch runs Decide on every verdict, from every
// kind of state, under every combination of policy switches, and checks the
// rules that must hold in each case.
func TestEveryVerdictStateAndSwitch(t *testing.T) {
	type hold struct{ held, observed bool }
	var states []State
	for _, h := range []hold{{false, false}, {true, false}, {true, true}} {
		for _, f := range []int{0, 1, 2} {
			for _, s := range []int{0, 1, 2} {
				for _, last := range []urltracker.Verdict{"", urltracker.VerdictHealthy, urltracker.VerdictBroken} {
					for _, redirect := range []string{"", moved} {
						for _, proposed := range []string{"", moved} {
							for _, notified := range []bool{false, true} {
								st := State{Held: h.held, Observed: h.observed, Failures: f, Successes: s, LastVerdict: last, Redirect: redirect, Proposed: proposed}
								if h.held {
									st.HoldStatus = urltracker.HoldDisabled
								}
								if notified {
									st.OutageStart, st.NotifiedAt = time.Unix(1000, 0), time.Unix(2000, 0)
								}
								states = append(states, st)
							}
						}
					}
				}
			}
		}
	}
	var offers []urltracker.Offer
	for _, mode := range []urltracker.Mode{urltracker.ModeObserve, urltracker.ModeAct} {
		for _, pause := range []int{0, 2} {
			for _, resume := range []int{0, 2} {
				for _, status := range []urltracker.HoldStatus{"", urltracker.HoldPaused} {
					for _, confirm := range []int{0, 30} {
						for _, dest := range []bool{false, true} {
							for _, auto := range []bool{false, true} {
								for _, threshold := range []int{1, 2} {
									for _, bound := range []bool{false, true} {
										o := offer(urltracker.Policy{Mode: mode, PauseAfterFailures: pause, ResumeAfterSuccesses: resume,
											HoldStatus: status, ConfirmAfterSeconds: confirm, UpdateDestination: dest,
											AutoUpdateDestination: auto})
										o.Alert = urltracker.AlertSettings{FailureThreshold: threshold, SuccessThreshold: 1}
										if !bound {
											o.Trackier = urltracker.Trackier{}
										}
										offers = append(offers, o)
									}
								}
							}
						}
					}
				}
			}
		}
	}
	chains := [][]urltracker.Hop{nil, permanent(301, moved), permanent(302, moved), permanent(308, "https://other.example/")}
	n := 0
	for _, v := range allVerdicts {
		for _, s := range states {
			for i, o := range offers {
				for _, confirms := range []int64{0, 41} {
					// The kill switch is tried under every state and verdict,
					// with a few policies.
					killSwitch := []bool{false}
					if i%64 == 0 {
						killSwitch = append(killSwitch, true)
					}
					for _, killed := range killSwitch {
						in := Input{Check: urltracker.Check{ID: 42, Verdict: v, Chain: chains[n%len(chains)]}, Confirms: confirms, KillSwitchOff: killed}
						if n%3 == 0 {
							in.Silence = "snoozed until 2026-12-02 03:00 UTC"
						}
						n++
						next, plans := Decide(s, o, in)
						if err := rules(s, o, in, next, plans); err != nil {
							t.Fatalf("verdict %s, state %+v, policy %+v, bound %v, confirms %d, kill switch off %v:\n%v\nnext %+v, plans %+v",
								v, s, o.Policy, o.Trackier.CampaignID != "", confirms, killed, err, next, plans)
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases", n)
}

// rules checks one decision against the policy's rules, stated apart from
// Decide's own code.
func rules(s State, o urltracker.Offer, in Input, next State, plans []Plan) error {
	p := o.Policy
	health := in.Check.Verdict.Health()
	byKind := map[Kind]Plan{}
	for _, pl := range plans {
		if _, dup := byKind[pl.Kind]; dup && pl.Kind != KindNotify {
			return fmt.Errorf("two %s plans", pl.Kind)
		}
		byKind[pl.Kind] = pl
	}
	if in.KillSwitchOff || health == urltracker.HealthNeutral {
		if next != s || len(plans) != 0 {
			return fmt.Errorf("a check that says nothing changed something")
		}
		return nil
	}
	if health == urltracker.HealthFailing && in.Confirms == 0 && p.ConfirmAfterSeconds > 0 {
		if next != s || len(plans) != 1 || plans[0].Kind != KindConfirm || plans[0].After != 30*time.Second {
			return fmt.Errorf("an unconfirmed failure must only ask for its confirmation")
		}
		return nil
	}
	if _, ok := byKind[KindConfirm]; ok {
		return fmt.Errorf("confirm planned for a check that needs none")
	}
	if next.LastVerdict != in.Check.Verdict {
		return fmt.Errorf("last verdict not recorded")
	}
	if health == urltracker.HealthHealthy && (next.Successes != s.Successes+1 || next.Failures != 0) ||
		health == urltracker.HealthFailing && (next.Failures != s.Failures+1 || next.Successes != 0) {
		return fmt.Errorf("streaks not counted")
	}
	if target, _ := PermanentRedirect(in.Check.Chain); next.Redirect != target {
		return fmt.Errorf("redirect not remembered")
	}
	act := p.Mode == urltracker.ModeAct && in.Silence == ""
	bound := o.Trackier.CampaignID != ""
	heldBefore := s.Held && !(act && s.Observed) // an observed hold is forgotten when acting
	for _, pl := range plans {
		if pl.Kind == KindNotify {
			if pl.Silence != in.Silence {
				return fmt.Errorf("notice silenced by %q, want %q", pl.Silence, in.Silence)
			}
			continue
		}
		if !bound {
			return fmt.Errorf("%s planned for an offer with no campaign", pl.Kind)
		}
		if !act && !pl.Observe {
			return fmt.Errorf("observe mode planned a %s to send", pl.Kind)
		}
		if act && pl.Observe {
			return fmt.Errorf("act mode only observed a %s", pl.Kind)
		}
	}
	pause, paused := byKind[KindPause]
	wantPause := bound && health == urltracker.HealthFailing && p.PauseAfterFailures > 0 && !heldBefore && s.Failures+1 >= p.PauseAfterFailures
	if paused != wantPause {
		return fmt.Errorf("pause planned %v, want %v", paused, wantPause)
	}
	if paused {
		want := p.HoldStatus
		if want == "" {
			want = urltracker.HoldDisabled
		}
		if pause.Status != want || !next.Held || next.HoldStatus != want || next.Observed != !act {
			return fmt.Errorf("pause to %q leaves state %+v", pause.Status, next)
		}
	}
	_, resumed := byKind[KindResume]
	realHoldObserved := !act && s.Held && !s.Observed
	wantResume := bound && health == urltracker.HealthHealthy && p.ResumeAfterSuccesses > 0 && heldBefore &&
		(s.Successes+1 >= p.ResumeAfterSuccesses && !realHoldObserved || s.Successes+1 == p.ResumeAfterSuccesses)
	if resumed != wantResume {
		return fmt.Errorf("resume planned %v, want %v", resumed, wantResume)
	}
	if resume := byKind[KindResume]; resumed && resume.Status != s.HoldStatus {
		return fmt.Errorf("resume expects %q, the hold set %q", resume.Status, s.HoldStatus)
	}
	if resumed && next.Held != realHoldObserved {
		return fmt.Errorf("after a resume, held = %v", next.Held)
	}
	if !paused && !resumed && heldBefore != next.Held {
		return fmt.Errorf("hold changed without a plan")
	}
	dest, proposed := byKind[KindSetDestination]
	target, _ := PermanentRedirect(in.Check.Chain)
	wantDest := bound && p.UpdateDestination && health == urltracker.HealthHealthy && !(next.Held && !next.Observed) &&
		target != "" && target == s.Redirect && target != s.Proposed
	if proposed != wantDest {
		return fmt.Errorf("set_destination planned %v, want %v", proposed, wantDest)
	}
	if proposed && (dest.AwaitApproval == p.AutoUpdateDestination || dest.Redirect != target || next.Proposed != target) {
		return fmt.Errorf("set_destination %+v", dest)
	}
	// One failing notice per outage, when the streak reaches the threshold;
	// a resolved notice only after one.
	var events []urltracker.NoticeEvent
	for _, p := range plans {
		if p.Kind == KindNotify {
			events = append(events, p.Notice.Event)
		}
	}
	threshold := o.Alert.FailureThreshold
	wantFailing := health == urltracker.HealthFailing && s.NotifiedAt.IsZero() && s.Failures+1 >= threshold
	if got := slices.Contains(events, urltracker.NoticeFailing); got != wantFailing {
		return fmt.Errorf("failing notice %v, want %v (events %v)", got, wantFailing, events)
	}
	wantResolved := health == urltracker.HealthHealthy && !s.NotifiedAt.IsZero()
	if got := slices.Contains(events, urltracker.NoticeResolved); got != wantResolved {
		return fmt.Errorf("resolved notice %v, want %v (events %v)", got, wantResolved, events)
	}
	return nil
}

func TestCampaignURL(t *testing.T) {
	tests := []struct {
		name, current, target, want, err string
	}{
		{"keeps every macro in the query", "https://adv.example/track?aff={click_id}&sub={p1}&src=trk",
			"https://adv-new.example/t2?clickid=observed123", "https://adv-new.example/t2?aff={click_id}&sub={p1}&src=trk", ""},
		{"keeps scheme change and port", "http://adv.example/c?x={click_id}", "https://adv.example:8443/c",
			"https://adv.example:8443/c?x={click_id}", ""},
		{"keeps the fragment", "https://a.example/p?c={click_id}#top", "https://b.example/q", "https://b.example/q?c={click_id}#top", ""},
		{"no query stays none", "https://a.example/p", "https://b.example/q?seen=1", "https://b.example/q", ""},
		{"keeps an encoded query byte for byte", "https://a.example/p?u=https%3A%2F%2Fx%2F&k={camp_id}", "https://b.example/",
			"https://b.example/?u=https%3A%2F%2Fx%2F&k={camp_id}", ""},
		{"empty target path is the root", "https://a.example/p?x=1", "https://b.example", "https://b.example/?x=1", ""},
		{"drops credentials of the target", "https://a.example/p?x=1", "https://user:pw@b.example/q", "https://b.example/q?x=1", ""},
		{"no campaign URL", "", "https://b.example/", "", "has no URL"},
		{"relative target", "https://a.example/p", "/q", "", "not an absolute"},
		{"ftp target", "https://a.example/p", "ftp://b.example/q", "", "not an absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CampaignURL(tt.current, tt.target)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("CampaignURL() = %q, %v; want an error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("CampaignURL() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestPermanentRedirect(t *testing.T) {
	meta := permanent(301, moved)
	meta[0].RedirectType = urltracker.RedirectMeta
	for _, tt := range []struct {
		name   string
		chain  []urltracker.Hop
		target string
	}{
		{"301", permanent(301, moved), moved},
		{"308", permanent(308, moved), moved},
		{"302", permanent(302, moved), ""},
		{"307", permanent(307, moved), ""},
		{"not an HTTP redirect", meta, ""},
		{"one hop", permanent(301, moved)[:1], ""},
		{"no chain", nil, ""},
	} {
		if got, _ := PermanentRedirect(tt.chain); got != tt.target {
			t.Errorf("%s: PermanentRedirect() = %q, want %q", tt.name, got, tt.target)
		}
	}
}
