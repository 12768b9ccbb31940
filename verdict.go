package urltracker

// Verdicts added in December 2026 by the content judge: a 2xx landing that
// is really an error page, an ended offer or a parked domain; a per-offer
// rule that failed; a chain slower than rules.max_total_ms; a landing that
// refused urltracker (403/429).
const (
	VerdictSoft404         Verdict = "soft_404"
	VerdictOfferExpired    Verdict = "offer_expired"
	VerdictParkedDomain    Verdict = "parked_domain"
	VerdictContentMismatch Verdict = "content_mismatch"
	VerdictSlow            Verdict = "slow"
	VerdictRefused         Verdict = "refused"
)

// Health is what a verdict says about a link, as the policy's streaks count
// it.
type Health string

// The kinds of health a verdict can report.
const (
	// HealthHealthy counts toward resuming a held campaign.
	HealthHealthy Health = "healthy"
	// HealthFailing counts toward holding the campaign.
	HealthFailing Health = "failing"
	// HealthNeutral counts toward nothing: the check says nothing about
	// what a visitor meets.
	HealthNeutral Health = "neutral"
)

// Health says whether v counts as a failure, as health, or not at all: the
// hold and resume streaks and the success rate of the status endpoint and
// the overview count every verdict but the neutral ones. This is the one
// definition; store.StatsSince writes the same in SQL.
//
// blocked is neutral: the address guard refused the destination, so the
// link was never really tried. refused is neutral too: a landing that
// answers 403 or 429 to urltracker may well serve visitors (bot protection,
// rate limits); an offer whose rules say refused_is_broken gets the verdict
// broken instead. Any other verdict, including one this build does not
// know, is failing: only a healthy check may resume a campaign.
func (v Verdict) Health() Health {
	switch v {
	case VerdictHealthy:
		return HealthHealthy
	case VerdictBlocked, VerdictRefused:
		return HealthNeutral
	}
	return HealthFailing
}
