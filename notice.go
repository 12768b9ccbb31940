package urltracker

import (
	"fmt"
	"time"
)

// NoticeEvent names what a notification tells.
type NoticeEvent string

// The events notifications tell.
const (
	// NoticeFailing: an offer reached its alert.failure_threshold.
	NoticeFailing NoticeEvent = "failing"
	// NoticeReminder: the outage goes on (every alert.remind_every_seconds).
	NoticeReminder NoticeEvent = "reminder"
	// NoticeResolved: the offer is healthy again after an outage.
	NoticeResolved NoticeEvent = "resolved"
	// NoticeAction: urltracker held or resumed a campaign, skipped or
	// failed to, or proposes a new destination.
	NoticeAction NoticeEvent = "action"
	// NoticeCertificate: a certificate on the offer's chain expires soon.
	NoticeCertificate NoticeEvent = "certificate"
	// NoticeKillSwitch: automation was switched off or back on.
	NoticeKillSwitch NoticeEvent = "kill_switch"
	// NoticeTest: a channel's test message.
	NoticeTest NoticeEvent = "test"
)

// Notice is one notification, the same for every channel; each channel kind
// renders it in its service's format.
type Notice struct {
	Event NoticeEvent `json:"event"`
	// Title is one line: what happened, and to which offer.
	Title string `json:"title"`
	// Text says since when, what urltracker did and what to look at.
	Text      string  `json:"text"`
	OfferID   int64   `json:"offer_id,omitempty"`
	OfferName string  `json:"offer_name,omitempty"`
	Verdict   Verdict `json:"verdict,omitempty"`
	CheckID   int64   `json:"check_id,omitempty"`
	FinalURL  string  `json:"final_url,omitempty"`
	Error     string  `json:"error,omitempty"`
	// Action is the action kind an action notice reports, with Outcome.
	Action  ActionKind    `json:"action,omitempty"`
	Outcome ActionOutcome `json:"outcome,omitempty"`
	// OutageStartedAt is the first failing check of the outage this notice
	// belongs to: every notice of one outage names it, so that receivers
	// thread them.
	OutageStartedAt *time.Time `json:"outage_started_at,omitempty"`
	// At is when it happened.
	At time.Time `json:"at"`
	// Link is the offer's page on the dashboard (URLTRACKER_PUBLIC_URL).
	Link string `json:"link,omitempty"`
}

// OutageKey names the outage a notice belongs to, e.g. "offer-7-1764633600":
// the same for the failing notice, its reminders and its resolved notice.
func (n Notice) OutageKey() string {
	if n.OutageStartedAt == nil {
		return ""
	}
	return fmt.Sprintf("offer-%d-%d", n.OfferID, n.OutageStartedAt.Unix())
}

// Good tells whether the notice is good news (a colour for chat cards).
func (n Notice) Good() bool {
	return n.Event == NoticeResolved || n.Event == NoticeTest ||
		n.Event == NoticeAction && n.Action == ActionResume && n.Outcome == ActionSucceeded
}

// HumanDuration says d in words a person reads at a glance: "45s", "12m",
// "3h 5m", "2d 4h".
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
}

// DeliveryOutcome is how one attempt to deliver a notice ended.
type DeliveryOutcome string

// The outcomes of a delivery attempt.
const (
	DeliverySucceeded DeliveryOutcome = "succeeded"
	// DeliveryRetrying: the attempt failed and will be tried again.
	DeliveryRetrying DeliveryOutcome = "retrying"
	// DeliveryFailed: the delivery gave up.
	DeliveryFailed DeliveryOutcome = "failed"
	// DeliverySilenced: a snooze or maintenance window held the notice
	// back; Error says which. Nothing was sent.
	DeliverySilenced DeliveryOutcome = "silenced"
)

// Delivery is one attempt to deliver a notice to a channel, as the
// deliveries log records it.
type Delivery struct {
	ID        int64 `json:"id"`
	ChannelID int64 `json:"channel_id"`
	// OfferID is nil for a notice about no offer (kill switch, test).
	OfferID       *int64          `json:"offer_id"`
	JobID         int64           `json:"job_id"`
	Attempt       int             `json:"attempt"`
	At            time.Time       `json:"at"`
	Event         NoticeEvent     `json:"event"`
	Title         string          `json:"title"`
	Outcome       DeliveryOutcome `json:"outcome"`
	StatusCode    int             `json:"status_code"`
	Error         string          `json:"error"`
	DurationMS    int64           `json:"duration_ms"`
	NextAttemptAt *time.Time      `json:"next_attempt_at,omitempty"`
}
