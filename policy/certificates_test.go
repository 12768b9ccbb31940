package policy

import (
	"fmt"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
)

// TestCertificateAlertsOncePerCertificate alerts the first time a
// certificate is seen expiring soon, never again for it, again for another
// one, whatever the verdict; without an alert URL, or with the kill switch
// off, nothing is remembered or sent.
func TestCertificateAlertsOncePerCertificate(t *testing.T) {
	soon := func(evidence ...string) []urltracker.Signal {
		var out []urltracker.Signal
		for _, e := range evidence {
			out = append(out, urltracker.Signal{Name: urltracker.SignalCertificateExpiresSoon, Evidence: e})
		}
		return append(out, urltracker.Signal{Name: "noindex", Evidence: "<meta>"})
	}
	a := "the certificate of shop.example expires on 2026-12-05 10:00 UTC"
	b := "the certificate of cdn.example expires on 2026-12-09 10:00 UTC"
	o := offer(urltracker.Policy{AlertURL: "https://hooks.example/x"})
	certAlerts := func(plans []Plan) []string {
		var out []string
		for _, p := range plans {
			if p.Kind == KindAlert && p.Event == urltracker.SignalCertificateExpiresSoon {
				out = append(out, p.Text)
			}
		}
		return out
	}
	var s State
	steps := []struct {
		verdict  urltracker.Verdict
		signals  []urltracker.Signal
		killed   bool
		noURL    bool
		want     []string
		remember string
	}{
		{urltracker.VerdictHealthy, soon(a), false, false, []string{a}, a},
		{urltracker.VerdictHealthy, soon(a), false, false, nil, a},
		{urltracker.VerdictHealthy, soon(a, b), true, false, nil, a},
		{urltracker.VerdictRefused, soon(a, b), false, true, nil, a},
		{urltracker.VerdictRefused, soon(a, b), false, false, []string{b}, a + "\n" + b},
		{urltracker.VerdictHealthy, soon(b, a), false, false, nil, a + "\n" + b},
	}
	for i, st := range steps {
		oo := o
		if st.noURL {
			oo.Policy.AlertURL = ""
		}
		var plans []Plan
		s, plans = Decide(s, oo, Input{Check: urltracker.Check{ID: int64(i + 1), Verdict: st.verdict, Signals: st.signals}, KillSwitchOff: st.killed})
		got := certAlerts(plans)
		if len(got) != len(st.want) {
			t.Fatalf("step %d: certificate alerts %q, want %d", i, got, len(st.want))
		}
		for j, text := range got {
			if !strings.Contains(text, st.want[j]) || !strings.Contains(text, `Offer "shoes" (#7)`) {
				t.Errorf("step %d: alert %q, want it to name the offer and %q", i, text, st.want[j])
			}
		}
		if s.CertificatesWarned != st.remember {
			t.Errorf("step %d: remembered %q, want %q", i, s.CertificatesWarned, st.remember)
		}
	}

	// Only the newest certificates are remembered.
	s = State{}
	for i := range maxCertificatesWarned + 5 {
		s, _ = Decide(s, o, Input{Check: urltracker.Check{Verdict: urltracker.VerdictHealthy, Signals: soon(fmt.Sprint("cert ", i))}})
	}
	if n := len(strings.Split(s.CertificatesWarned, "\n")); n != maxCertificatesWarned || !strings.HasSuffix(s.CertificatesWarned, fmt.Sprint("cert ", maxCertificatesWarned+4)) {
		t.Errorf("remembered %d certificates ending %q, want the newest %d", n, s.CertificatesWarned[len(s.CertificatesWarned)-10:], maxCertificatesWarned)
	}
}
