// Package notify delivers notices to channels: Slack (Block Kit), Microsoft
// Teams (Adaptive Card), Discord (embed), Telegram (Bot API sendMessage),
// email (SMTP with STARTTLS or TLS) and plain webhooks (a body from the
// admin's text/template, optionally signed with HMAC-SHA256).
//
// Channels are configuration written by the holder of the admin token, so
// the sender uses plain clients with a deadline, not the tracer's address
// guard. Every call ends within the sender's timeout (URLTRACKER_API_TIMEOUT).
package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// maxResponseBody bounds how much of an answer is read.
const maxResponseBody = 8 << 10

// Result is what one delivery attempt did. StatusCode is 0 when no answer
// came (or for email, the SMTP reply code of the last command).
type Result struct {
	// Target is where it went, without secrets.
	Target     string
	StatusCode int
	Duration   time.Duration
}

// Error is a failed delivery. Retryable is true for 429, 5xx, timeouts and
// connection errors; RetryAfter is the wait the receiver asked for, 0 when
// it named none.
type Error struct {
	StatusCode int
	Msg        string
	RetryAfter time.Duration
	retryable  bool
	// answer is the start of the receiver's answer.
	answer []byte
}

func (e *Error) Error() string { return e.Msg }

// Retryable tells whether sending again later may succeed.
func (e *Error) Retryable() bool { return e.retryable }

// Sender delivers notices. It is safe for concurrent use.
type Sender struct {
	http    *http.Client
	timeout time.Duration
	smtp    smtpOptions
}

// Option changes a Sender.
type Option func(*Sender)

// NewSender returns a Sender whose every delivery ends after timeout.
func NewSender(timeout time.Duration, opts ...Option) *Sender {
	s := &Sender{
		http: &http.Client{
			Timeout: timeout,
			// A receiver that redirects is misconfigured; say so instead
			// of posting the notice somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout: timeout,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Send delivers n to ch once.
func (s *Sender) Send(ctx context.Context, ch urltracker.Channel, n urltracker.Notice) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	start := time.Now()
	var res Result
	var err error
	switch ch.Kind {
	case urltracker.ChannelSlack:
		res, err = s.postJSON(ctx, ch.Secrets.URL, slackBody(n), nil, checkSlack)
	case urltracker.ChannelTeams:
		res, err = s.postJSON(ctx, ch.Secrets.URL, teamsBody(n), nil, nil)
	case urltracker.ChannelDiscord:
		res, err = s.postJSON(ctx, ch.Secrets.URL, discordBody(n), nil, nil)
	case urltracker.ChannelTelegram:
		res, err = s.telegram(ctx, ch, n)
	case urltracker.ChannelEmail:
		res, err = s.email(ctx, ch, n)
	case urltracker.ChannelWebhook:
		res, err = s.webhook(ctx, ch, n)
	default:
		err = &Error{Msg: fmt.Sprintf("unknown channel kind %q", ch.Kind)}
	}
	res.Target = ch.Target
	res.Duration = time.Since(start)
	return res, err
}

// answerCheck reads a 2xx answer's body for an error the service reports
// in it; nil accepts every 2xx.
type answerCheck func(body []byte) error

// post sends body to url and classifies the answer.
func (s *Sender) post(ctx context.Context, url, contentType string, body []byte, header http.Header, check answerCheck) (Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Result{}, &Error{Msg: "the channel's URL is not valid: edit the channel"}
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", urltracker.UserAgent())
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return Result{}, transportError(err, s.timeout)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	res := Result{StatusCode: resp.StatusCode}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if check != nil {
			if err := check(answer); err != nil {
				return res, err
			}
		}
		return res, nil
	}
	e := &Error{
		StatusCode: resp.StatusCode,
		retryable:  resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500,
		Msg:        fmt.Sprintf("receiver answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode)),
		RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
		answer:     answer,
	}
	if text := strings.TrimSpace(string(answer)); text != "" && len(text) < 300 {
		e.Msg += ": " + text
	}
	return res, e
}

func (s *Sender) postJSON(ctx context.Context, url string, v any, header http.Header, check answerCheck) (Result, error) {
	body, err := jsonenc.Marshal(v)
	if err != nil {
		return Result{}, err
	}
	return s.post(ctx, url, "application/json", body, header, check)
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// transportError describes a call that got no answer, naming no URL: the
// URL may hold the receiver's secret.
func transportError(err error, timeout time.Duration) *Error {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout():
		return &Error{retryable: true, Msg: fmt.Sprintf("receiver did not answer within %s", timeout)}
	case errors.Is(err, context.Canceled):
		return &Error{retryable: true, Msg: "delivery cancelled (shutdown)"}
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return &Error{retryable: true, Msg: "receiver unreachable: " + opErr.Op + " " + opErr.Err.Error()}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Error{retryable: true, Msg: "receiver unreachable: " + dnsErr.Error()}
	}
	return &Error{retryable: true, Msg: "receiver unreachable"}
}
