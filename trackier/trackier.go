// Package trackier is the client of the Trackier API: it pauses and resumes
// campaigns, changes their destination URL and reads a campaign for a
// connection test. Every call has a deadline, and a circuit breaker per API
// base URL makes calls fail fast while that API keeps failing, so a Trackier
// outage cannot pile up work.
package trackier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/urltracker/urltracker/internal/jsonenc"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Breaker limits: after BreakerThreshold consecutive failures against one API
// base URL, calls to it fail fast for BreakerCooldown.
const (
	BreakerThreshold = 5
	BreakerCooldown  = 30 * time.Second
)

// maxResponseBody bounds how much of an answer is read and kept.
const maxResponseBody = 4 << 10

// Campaign addresses one Trackier campaign with the key that may change it.
type Campaign struct {
	APIBaseURL string
	APIKey     string
	ID         string
}

// Request is one API call as it is sent, without the key: safe to store.
type Request struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Body   string `json:"body,omitempty"`
}

// Result is what an API call did. StatusCode is 0 when no answer came.
type Result struct {
	Request    Request
	StatusCode int
	Body       string // the start of the answer, for the actions log
	Duration   time.Duration
}

// Error is a failed API call. Retryable tells whether trying again later may
// succeed: true for 429, 5xx, timeouts, connection errors and an open
// breaker; false for other 4xx (a wrong key or campaign does not heal).
type Error struct {
	StatusCode int
	Msg        string
	retryable  bool
	cause      error
}

func (e *Error) Error() string { return e.Msg }

// Retryable tells whether the call may succeed if tried again later.
func (e *Error) Retryable() bool { return e.retryable }

// ErrBreakerOpen is wrapped by the error of a call refused because the API
// base URL failed BreakerThreshold times in a row.
var ErrBreakerOpen = errors.New("circuit breaker open")

func (e *Error) Unwrap() error { return e.cause }

// Client calls the Trackier API. It is safe for concurrent use.
type Client struct {
	http    *http.Client
	timeout time.Duration
	now     func() time.Time

	mu       sync.Mutex
	breakers map[string]*breaker
}

// New returns a Client whose every call ends after timeout.
func New(timeout time.Duration) *Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 4
	transport.ResponseHeaderTimeout = timeout
	return &Client{
		// Trackier's API does not redirect; following a redirect would
		// resend the key to wherever it points.
		http: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:  timeout,
		now:      time.Now,
		breakers: map[string]*breaker{},
	}
}

// Pause sets the campaign's status to paused.
func (c *Client) Pause(ctx context.Context, camp Campaign) (Result, error) {
	return c.update(ctx, camp, map[string]string{"status": "paused"})
}

// Resume sets the campaign's status to active.
func (c *Client) Resume(ctx context.Context, camp Campaign) (Result, error) {
	return c.update(ctx, camp, map[string]string{"status": "active"})
}

// SetDestination sets the campaign's destination URL.
func (c *Client) SetDestination(ctx context.Context, camp Campaign, destination string) (Result, error) {
	return c.update(ctx, camp, map[string]string{"url": destination})
}

// Get reads the campaign; a connection test.
func (c *Client) Get(ctx context.Context, camp Campaign) (Result, error) {
	return c.do(ctx, camp, http.MethodGet, nil)
}

func (c *Client) update(ctx context.Context, camp Campaign, fields map[string]string) (Result, error) {
	body, err := jsonenc.Marshal(fields)
	if err != nil {
		return Result{}, err
	}
	return c.do(ctx, camp, http.MethodPost, body)
}

// CampaignURL is the API address of a campaign.
func CampaignURL(baseURL, campaignID string) string {
	return strings.TrimRight(baseURL, "/") + "/v2/campaigns/" + url.PathEscape(campaignID)
}

func (c *Client) do(ctx context.Context, camp Campaign, method string, body []byte) (Result, error) {
	res := Result{Request: Request{Method: method, URL: CampaignURL(camp.APIBaseURL, camp.ID), Body: string(body)}}
	if camp.ID == "" || camp.APIKey == "" {
		return res, &Error{Msg: "offer has no Trackier campaign_id or api_key: set both in the offer's trackier settings"}
	}
	b := c.breaker(camp.APIBaseURL)
	if until, open := b.open(c.now()); open {
		return res, &Error{retryable: true, cause: ErrBreakerOpen, Msg: fmt.Sprintf("%s for %s until %s after %d consecutive failures",
			ErrBreakerOpen, camp.APIBaseURL, until.UTC().Format(time.RFC3339), BreakerThreshold)}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, res.Request.URL, bytes.NewReader(body))
	if err != nil {
		return res, &Error{Msg: "build request: " + err.Error()}
	}
	req.Header.Set("X-Api-Key", camp.APIKey)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		res.Duration = c.now().Sub(start)
		b.record(false, c.now())
		return res, transportError(err, c.timeout)
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	resp.Body.Close()
	res.Duration, res.StatusCode, res.Body = c.now().Sub(start), resp.StatusCode, string(raw)
	retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500
	// Only failures that say "the API is unwell" trip the breaker; a 4xx
	// is an answer about this request, not about the API.
	b.record(!retryable, c.now())
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return res, nil
	}
	return res, &Error{StatusCode: resp.StatusCode, retryable: retryable,
		Msg: fmt.Sprintf("Trackier API answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))}
}

// transportError describes a call that got no answer. Its message never
// holds the request's headers, so the key cannot leak through it.
func transportError(err error, timeout time.Duration) *Error {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return &Error{retryable: true, Msg: fmt.Sprintf("Trackier API did not answer within %s", timeout)}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{retryable: true, Msg: "Trackier API call cancelled (shutdown)"}
	}
	return &Error{retryable: true, Msg: "Trackier API unreachable: " + err.Error()}
}

func (c *Client) breaker(baseURL string) *breaker {
	key := strings.TrimRight(strings.ToLower(baseURL), "/")
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.breakers[key]
	if !ok {
		b = &breaker{}
		c.breakers[key] = b
	}
	return b
}

// breaker counts consecutive failures of one API. Once open it lets calls
// through again after the cooldown; one more failure reopens it at once.
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

func (b *breaker) open(now time.Time) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openUntil, now.Before(b.openUntil)
}

func (b *breaker) record(ok bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if b.failures >= BreakerThreshold {
		b.openUntil = now.Add(BreakerCooldown)
	}
}
