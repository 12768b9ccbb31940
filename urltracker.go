// Package urltracker holds the domain of the service: offers, webhook events,
// link checks and their verdicts, and the actions taken on Trackier. The
// packages below it (config, store, tracer, trackier, jobs, server) depend on
// these types; this package depends on none of them.
package urltracker

import (
	"encoding/json"
	"errors"
	"net/url"
	"runtime/debug"
	"sync"
	"time"
)

// Version is the release stamped at link time with
// -ldflags "-X github.com/urltracker/urltracker.Version=v1.2.3". Read
// BuildVersion, which falls back on the build information.
var Version = "dev"

// BuildVersion is the version this binary reports in `urltracker version`,
// the status endpoint, logs, metrics and the User-Agent: the -ldflags stamp
// when set; else the module version that `go install …@v1.2.3` records;
// else the VCS revision and time of a build in a git checkout; else "dev".
func BuildVersion() string { return buildVersion() }

var buildVersion = sync.OnceValue(func() string {
	info, _ := debug.ReadBuildInfo()
	return versionOf(Version, info)
})

// versionOf chooses the version from the link-time stamp and the build
// information (nil when the binary has none).
func versionOf(stamp string, info *debug.BuildInfo) string {
	if stamp != "" && stamp != "dev" {
		return stamp
	}
	if info == nil {
		return "dev"
	}
	// go install …@v1.2.3 records v1.2.3; a build in a git checkout records
	// a pseudo-version such as v0.0.0-20261201120000-0123456789ab+dirty.
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var revision, at string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if revision == "" {
		return "dev"
	}
	v := "dev-" + revision[:min(12, len(revision))]
	if modified {
		v += "-modified"
	}
	if at != "" {
		v += " (" + at + ")"
	}
	return v
}

// UserAgent is the default User-Agent the tracer identifies itself with.
func UserAgent() string { return "urltracker/" + BuildVersion() + " (+link-check)" }

// Verdict is the judgement of one check on a link.
type Verdict string

// The verdicts a check can reach.
const (
	VerdictHealthy           Verdict = "healthy"
	VerdictBroken            Verdict = "broken"
	VerdictLoop              Verdict = "loop"
	VerdictTooManyHops       Verdict = "too_many_hops"
	VerdictTimeout           Verdict = "timeout"
	VerdictUnexpectedLanding Verdict = "unexpected_landing"
	VerdictBlocked           Verdict = "blocked"
)

// RedirectType says how one hop led to the next.
type RedirectType string

// The ways a hop can lead on, or end the chain.
const (
	RedirectHTTP       RedirectType = "http"
	RedirectMeta       RedirectType = "meta"
	RedirectJavaScript RedirectType = "javascript"
	RedirectForm       RedirectType = "form" // a form the page submitted by itself
	RedirectFinal      RedirectType = "final"
	RedirectError      RedirectType = "error"
)

// Hop is one request in a redirect chain.
type Hop struct {
	URL          string            `json:"url"`
	Status       int               `json:"status"`
	RedirectType RedirectType      `json:"redirect_type"`
	TimingMS     int64             `json:"timing_ms"`
	Params       map[string]string `json:"params"`
}

// Check is one run of the tracer on a URL, with its chain of hops.
type Check struct {
	ID         int64     `json:"id,omitempty"`
	OfferID    int64     `json:"offer_id,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Success    bool      `json:"success"`
	Verdict    Verdict   `json:"verdict"`
	FinalURL   string    `json:"final_url"`
	Error      string    `json:"error"`
	Chain      []Hop     `json:"chain"`
	// LandingChanged is true when the final landing (scheme, host, path)
	// differs from the one of the offer's previous healthy check.
	LandingChanged  bool   `json:"landing_changed,omitempty"`
	PreviousLanding string `json:"previous_landing,omitempty"`
	// ConfirmedBy is the check that re-checked this failing one and found
	// it failing too; nil when none did.
	ConfirmedBy *int64 `json:"confirmed_by"`
	// Signals are the evidence the judge found on the landing page; a
	// verdict such as soft_404 rests on two or more of them.
	Signals []Signal `json:"signals"`
	// Certificates are the TLS certificates of the chain's HTTPS hosts.
	Certificates []Certificate `json:"certificates"`
	// Landing is the page the chain ended on, as the tracer read it, for
	// the judge; it is neither stored nor answered.
	Landing *Page `json:"-"`
}

// Signal is one piece of evidence behind a verdict, such as
// {"name":"title_says_not_found","evidence":"<title>Page not found</title>"}.
type Signal struct {
	Name     string `json:"name"`
	Evidence string `json:"evidence"`
}

// SignalCertificateExpiresSoon is the signal of a chain whose certificate
// expires within URLTRACKER_CERT_WARN_DAYS; the policy alerts once per
// certificate.
const SignalCertificateExpiresSoon = "certificate_expires_soon"

// Certificate is the leaf TLS certificate one HTTPS host of a chain
// presented.
type Certificate struct {
	Host      string    `json:"host"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Page is a landing page as the tracer read it: at most the first
// tracer.MaxBodyBytes of its body, decoded to UTF-8.
type Page struct {
	URL         string
	Status      int
	ContentType string
	// RobotsTag is the X-Robots-Tag header.
	RobotsTag string
	Body      []byte
}

// HopParams returns the query parameters of rawURL, first value of each.
func HopParams(rawURL string) map[string]string {
	params := map[string]string{}
	u, err := url.Parse(rawURL)
	if err != nil {
		return params
	}
	for k, v := range u.Query() {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	return params
}

// Offer is a link to watch.
type Offer struct {
	ID                    int64  `json:"id"`
	Name                  string `json:"name"`
	URL                   string `json:"url"`
	ExpectedHost          string `json:"expected_host"`
	UpdateIntervalSeconds int    `json:"update_interval_seconds"`
	// CheckEverySeconds: the offer is checked at least this often, clicks
	// or not; 0 checks it only when clicks arrive.
	CheckEverySeconds int        `json:"check_every_seconds"`
	Enabled           bool       `json:"enabled"`
	CreatedAt         time.Time  `json:"created_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	Trackier          Trackier   `json:"trackier"`
	Policy            Policy     `json:"policy"`
	Rules             Rules      `json:"rules"`
	Stats             OfferStats `json:"stats"`
}

// UpdateInterval is the offer's debounce period between two checks.
func (o Offer) UpdateInterval() time.Duration {
	return time.Duration(o.UpdateIntervalSeconds) * time.Second
}

// Trackier binds an offer to a Trackier campaign. APIKey is write-only: it is
// stored but never serialised; APIKeySet tells whether one is stored.
type Trackier struct {
	APIBaseURL string `json:"api_base_url"`
	APIKey     string `json:"-"`
	APIKeySet  bool   `json:"api_key_set"`
	CampaignID string `json:"campaign_id"`
}

// Policy says how checks turn into actions.
type Policy struct {
	// Mode is ModeObserve (decide and record, send nothing to Trackier) or
	// ModeAct.
	Mode                 Mode `json:"mode"`
	PauseAfterFailures   int  `json:"pause_after_failures"`
	ResumeAfterSuccesses int  `json:"resume_after_successes"`
	// HoldStatus is the campaign status a hold sets: HoldDisabled, which
	// Trackier never lifts by itself, or HoldPaused.
	HoldStatus HoldStatus `json:"hold_status"`
	// ConfirmAfterSeconds is how long after a failing check a second one
	// confirms it before the failure counts; 0 counts it at once.
	ConfirmAfterSeconds int `json:"confirm_after_seconds"`
	// UpdateDestination proposes a new campaign URL when the offer link's
	// first hop moved permanently (301/308 on two checks in a row);
	// AutoUpdateDestination sends the proposal without an admin's approval.
	UpdateDestination     bool              `json:"update_destination"`
	AutoUpdateDestination bool              `json:"auto_update_destination"`
	DestinationParams     map[string]string `json:"destination_params"`
	AlertURL              string            `json:"alert_url"`
}

// Mode says whether a policy acts on Trackier or only records what it
// would have done.
type Mode string

// The modes of a policy.
const (
	ModeObserve Mode = "observe"
	ModeAct     Mode = "act"
)

// HoldStatus is the Trackier campaign status urltracker sets to hold a
// campaign.
type HoldStatus string

// The statuses a hold may set.
const (
	HoldDisabled HoldStatus = "disabled"
	HoldPaused   HoldStatus = "paused"
)

// Policy defaults for new offers.
const (
	DefaultConfirmAfterSeconds = 30
	DefaultCheckEverySeconds   = 3600
)

// OfferStats are the counters kept per offer.
type OfferStats struct {
	WebhookCount  int64      `json:"webhook_count"`
	CheckCount    int64      `json:"check_count"`
	LastWebhookAt *time.Time `json:"last_webhook_at"`
	LastCheckAt   *time.Time `json:"last_check_at"`
	LastVerdict   Verdict    `json:"last_verdict"`
}

// Event is one received webhook.
type Event struct {
	ID         int64             `json:"id"`
	OfferID    int64             `json:"offer_id"`
	ReceivedAt time.Time         `json:"received_at"`
	ClickID    string            `json:"click_id"`
	CampaignID string            `json:"campaign_id"`
	Payload    map[string]string `json:"payload"`
	Outcome    EventOutcome      `json:"outcome"`
}

// EventOutcome says what urltracker did with a stored event.
type EventOutcome string

// The outcomes of an event.
const (
	OutcomeCheckScheduled EventOutcome = "check_scheduled"
	OutcomeDebounced      EventOutcome = "debounced"
	OutcomeOfferDisabled  EventOutcome = "offer_disabled"
	OutcomeKillSwitchOff  EventOutcome = "kill_switch_off"
	// OutcomeCampaignMismatch: the push's camp_id is not the offer's bound
	// campaign; nothing is scheduled.
	OutcomeCampaignMismatch EventOutcome = "campaign_mismatch"
)

// Action is one attempt at an outbound consequence of checks, as the
// actions log records it.
type Action struct {
	ID         int64      `json:"id"`
	OfferID    int64      `json:"offer_id"`
	Kind       ActionKind `json:"kind"`
	At         time.Time  `json:"at"`
	Success    bool       `json:"success"`
	StatusCode int        `json:"status_code"`
	Error      string     `json:"error"`
	DurationMS int64      `json:"duration_ms"`
	// CheckID is the check that decided the action.
	CheckID int64         `json:"check_id,omitempty"`
	JobID   int64         `json:"job_id"`
	Attempt int           `json:"attempt"`
	Outcome ActionOutcome `json:"outcome"`
	// Request is the call as sent ({"method","url","body"}), secrets
	// redacted.
	Request json.RawMessage `json:"request"`
	// NextAttemptAt is when a retrying action is tried again.
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// VerifiedAfterMS is how long after the write Trackier's own read
	// showed the change; nil when not verified.
	VerifiedAfterMS *int64 `json:"verified_after_ms"`
	// Reason tells why the action was decided ("after 2 failed checks in a
	// row (last: broken)").
	Reason string `json:"reason,omitempty"`
	// Destination is the permanent redirect target a set_destination
	// follows.
	Destination string `json:"destination,omitempty"`
	// ApprovedAt is when an admin approved a proposal awaiting approval.
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
}

// ActionKind names what an action does.
type ActionKind string

// The kinds of action.
const (
	ActionPause          ActionKind = "pause"
	ActionResume         ActionKind = "resume"
	ActionSetDestination ActionKind = "set_destination"
	ActionAlert          ActionKind = "alert"
)

// ActionOutcome is how one attempt of an action ended.
type ActionOutcome string

// The outcomes of an action attempt.
const (
	ActionSucceeded ActionOutcome = "succeeded"
	// ActionRetrying: the attempt failed and will be tried again.
	ActionRetrying ActionOutcome = "retrying"
	// ActionFailed: the action gave up (a final error, or retries exhausted).
	ActionFailed ActionOutcome = "failed"
	// ActionSuppressed: the kill switch was off when the action came due;
	// it is dropped, never sent later.
	ActionSuppressed ActionOutcome = "suppressed"
	// ActionObserved: observe mode decided the action and sent nothing.
	ActionObserved ActionOutcome = "observed"
	// ActionSkipped: the campaign's status, read before writing, was not
	// one urltracker may change (Error names it); nothing was sent.
	ActionSkipped ActionOutcome = "skipped"
	// ActionAwaitingApproval: a destination proposal waits for an admin.
	ActionAwaitingApproval ActionOutcome = "awaiting_approval"
)

// HealthState says whether urltracker holds an offer's campaign.
type HealthState string

// The health states of an offer.
const (
	StateActive HealthState = "active"
	// StateHeld: urltracker set the campaign to the policy's hold status
	// (or, in observe mode, would have).
	StateHeld HealthState = "held"
)

// Errors the storage layer returns, for handlers to map to status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// RedactURL hides the password of a URL (a database URL, say) so that it
// can appear in messages and logs.
func RedactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

// FieldErrors maps a request field to what is wrong with it.
type FieldErrors map[string]string

func (e FieldErrors) Error() string {
	msg := "invalid fields:"
	for _, k := range sortedKeys(e) {
		msg += " " + k + ": " + e[k] + ";"
	}
	return msg
}
