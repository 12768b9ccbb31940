// Package alert posts urltracker's alerts as JSON to an offer's alert URL,
// in a shape a Slack incoming webhook shows as is (its "text" field).
//
// Alert URLs point at arbitrary hosts chosen by the admin (Slack, a chat
// bridge, an internal receiver), so the sender uses a plain HTTP client with
// a deadline, not the tracer's address guard: the guard protects against
// links found in the wild, while alert URLs are configuration written by the
// holder of the admin token.
package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/urltracker/urltracker/internal/jsonenc"
)

// maxResponseBody bounds how much of an answer is read.
const maxResponseBody = 4 << 10

// Alert is one notification about an offer.
type Alert struct {
	// Text is the human message; Slack shows it as is.
	Text            string    `json:"text"`
	Event           string    `json:"event"`
	OfferID         int64     `json:"offer_id"`
	OfferName       string    `json:"offer_name"`
	Verdict         string    `json:"verdict"`
	PreviousVerdict string    `json:"previous_verdict"`
	CheckID         int64     `json:"check_id"`
	FinalURL        string    `json:"final_url"`
	Error           string    `json:"error"`
	Action          string    `json:"action"`
	Timestamp       time.Time `json:"timestamp"`
}

// Result is what sending did. StatusCode is 0 when no answer came.
type Result struct {
	// URL is the alert URL without path or query, which often hold the
	// receiver's secret (Slack webhook URLs do): safe to store.
	URL        string
	Body       string
	StatusCode int
	Duration   time.Duration
}

// Error is a failed send. Retryable is true for 429, 5xx, timeouts and
// connection errors.
type Error struct {
	StatusCode int
	Msg        string
	retryable  bool
}

func (e *Error) Error() string { return e.Msg }

// Retryable tells whether sending again later may succeed.
func (e *Error) Retryable() bool { return e.retryable }

// Sender posts alerts. It is safe for concurrent use.
type Sender struct {
	http    *http.Client
	timeout time.Duration
}

// NewSender returns a Sender whose every post ends after timeout.
func NewSender(timeout time.Duration) *Sender {
	return &Sender{
		http: &http.Client{
			Timeout: timeout,
			// A receiver that redirects is misconfigured; say so instead
			// of posting the alert somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: timeout,
	}
}

// Send posts a to alertURL.
func (s *Sender) Send(ctx context.Context, alertURL string, a Alert) (Result, error) {
	body, err := jsonenc.Marshal(a)
	if err != nil {
		return Result{}, err
	}
	res := Result{URL: RedactURL(alertURL), Body: string(body)}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, alertURL, bytes.NewReader(body))
	if err != nil {
		return res, &Error{Msg: "alert_url is not a valid URL: fix the offer's policy.alert_url"}
	}
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := s.http.Do(req)
	res.Duration = time.Since(start)
	if err != nil {
		return res, transportError(err, s.timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	resp.Body.Close()
	res.StatusCode = resp.StatusCode
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return res, nil
	}
	return res, &Error{
		StatusCode: resp.StatusCode,
		retryable:  resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		Msg:        fmt.Sprintf("alert receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)),
	}
}

// transportError describes a post that got no answer. It names only the
// receiver's host: the full alert URL may hold a secret.
func transportError(err error, timeout time.Duration) *Error {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return &Error{retryable: true, Msg: fmt.Sprintf("alert receiver did not answer within %s", timeout)}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{retryable: true, Msg: "alert cancelled (shutdown)"}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return &Error{retryable: true, Msg: "alert receiver unreachable: " + opErr.Error()}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Error{retryable: true, Msg: "alert receiver unreachable: " + dnsErr.Error()}
	}
	return &Error{retryable: true, Msg: "alert receiver unreachable"}
}

// RedactURL keeps only the scheme and host of raw.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
