package dashboard

import (
	"context"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/judge"
	"github.com/urltracker/urltracker/store"
)

// The overview's "at a glance" list: every offer with a strip of its last
// checks as coloured ticks, its healthy ratios over 24 h, 7 d and 30 d, and
// its chain times, all drawn here as SVG so that it works without
// JavaScript.

const (
	glanceTicks  = 50
	glanceOffers = 50
)

// glanceRow is one offer at a glance.
type glanceRow struct {
	ID      int64
	Name    string
	Verdict urltracker.Verdict
	Held    bool
	// Reason is the last check's error, which names its signals or rule.
	Reason string
	Ratios [3]*float64 // 24h, 7d, 30d
	Strip  template.HTML
	Times  template.HTML
}

// loadGlance answers the enabled offers, those unhealthy or held first.
func loadGlance(ctx context.Context, db *store.DB) ([]glanceRow, error) {
	offers, err := db.Offers(ctx, glanceOffers)
	if err != nil {
		return nil, err
	}
	var rows []glanceRow
	for _, o := range offers {
		if !o.Enabled {
			continue
		}
		r := glanceRow{ID: o.ID, Name: o.Name, Verdict: o.Stats.LastVerdict}
		h, err := db.Health(ctx, o.ID)
		if err != nil {
			return nil, err
		}
		r.Held = h.State == urltracker.StateHeld
		ticks, err := db.Ticks(ctx, o.ID, glanceTicks)
		if err != nil {
			return nil, err
		}
		if checks, err := db.Checks(ctx, o.ID, 1); err == nil && len(checks) == 1 {
			r.Reason = checks[0].Error
		}
		for i, w := range []string{"24h", "7d", "30d"} {
			hist, err := db.History(ctx, o.ID, w)
			if err != nil {
				return nil, err
			}
			r.Ratios[i] = hist.HealthyRatio
		}
		r.Strip, r.Times = tickStrip(ticks), timeChart(ticks)
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].rank() > rows[j].rank() })
	return rows, nil
}

// rank orders the list: held first, then failing, then the rest.
func (r glanceRow) rank() int {
	switch {
	case r.Held:
		return 2
	case r.Verdict != "" && r.Verdict.Health() == urltracker.HealthFailing:
		return 1
	}
	return 0
}

// tickClass colours a verdict: ok, bad, or none for the neutral ones.
func tickClass(v urltracker.Verdict) string {
	switch v.Health() {
	case urltracker.HealthHealthy:
		return "tick-ok"
	case urltracker.HealthNeutral:
		return "tick-none"
	}
	return "tick-bad"
}

// tickStrip draws one tick per check, oldest left; each tick's <title>
// (shown on hover, read by screen readers) tells its time, verdict and
// chain time.
func tickStrip(ticks []store.Tick) template.HTML {
	const w, gap, h = 6, 2, 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="ticks" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="last %d checks">`,
		glanceTicks*(w+gap), h, glanceTicks*(w+gap), h, len(ticks))
	offset := glanceTicks - len(ticks)
	for i, t := range ticks {
		fmt.Fprintf(&b, `<rect class="%s" x="%d" y="0" width="%d" height="%d"><title>%s</title></rect>`,
			tickClass(t.Verdict), (offset+i)*(w+gap), w, h,
			template.HTMLEscapeString(fmt.Sprintf("%s UTC: %s, %d ms", t.At.Format("2006-01-02 15:04"), t.Verdict, t.DurationMS)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// timeChart draws the chain times of the ticks as a line, scaled to the
// slowest, with the slowest written beside it.
func timeChart(ticks []store.Tick) template.HTML {
	const w, h = 200, 40
	if len(ticks) == 0 {
		return ""
	}
	var slowest int64 = 1
	for _, t := range ticks {
		slowest = max(slowest, t.DurationMS)
	}
	var pts []string
	for i, t := range ticks {
		x := 0
		if len(ticks) > 1 {
			x = i * w / (len(ticks) - 1)
		}
		y := h - int(t.DurationMS*(h-2)/slowest) - 1
		pts = append(pts, fmt.Sprintf("%d,%d", x, y))
	}
	return template.HTML(fmt.Sprintf(`<svg class="times" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="chain times, slowest %d ms">`+
		`<polyline points="%s"/><title>chain times of the last %d checks; slowest %d ms</title></svg>`,
		w, h, w, h, slowest, strings.Join(pts, " "), len(ticks), slowest))
}

// quoted pulls the text out of a signal's evidence such as
// "<title>Offer expired</title>".
var quoted = regexp.MustCompile(`^<([a-z0-9]+)>(.*)</[a-z0-9]+>$`)

// signalWords tells a signal in words.
func signalWords(s urltracker.Signal) string {
	text := s.Evidence
	if m := quoted.FindStringSubmatch(s.Evidence); m != nil {
		text = m[2]
	}
	kind := func() string {
		switch {
		case strings.HasSuffix(s.Name, "_expired"):
			return "the offer ended"
		case strings.HasSuffix(s.Name, "_for_sale"):
			return "the domain is for sale"
		}
		return "the page is not there"
	}
	switch {
	case strings.HasPrefix(s.Name, "title_says_"):
		return fmt.Sprintf("Title says ‘%s’ (%s)", text, kind())
	case strings.HasPrefix(s.Name, "h1_says_"):
		return fmt.Sprintf("Main heading says ‘%s’ (%s)", text, kind())
	case strings.HasPrefix(s.Name, "text_says_"):
		return fmt.Sprintf("The page says ‘%s’ (%s)", text, kind())
	}
	switch s.Name {
	case judge.SignalLandingIsSiteRoot:
		return "The landing is the site’s home page: " + s.Evidence
	case judge.SignalLandingIsErrorPath:
		return "The landing is an error page: " + s.Evidence
	case judge.SignalParkedDomainMarker:
		return "The domain looks parked: " + s.Evidence
	case judge.SignalNearEmptyBody:
		return "The page is nearly empty: " + s.Evidence
	case judge.SignalNoindex:
		return "The page asks search engines not to index it: " + s.Evidence
	case judge.SignalSameAsMissingPage:
		return "The site shows the same page for an address that cannot exist: " + s.Evidence
	case judge.SignalCertificateExpiresSoon:
		return "Certificate expires soon: " + s.Evidence
	case judge.SignalContentRuleFailed:
		return "The offer’s rule failed: " + s.Evidence
	}
	return s.Name + ": " + s.Evidence
}
