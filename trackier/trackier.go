// Package trackier is the client of the Trackier API: it reads, lists and
// changes campaigns (status and URL). Every call has a deadline, waits for
// its turn under a rate limit per API key, and goes through a circuit
// breaker per API base URL, so a Trackier outage cannot pile up work and a
// fleet stays within Trackier's request limits. Trackier answers errors as
// {"success":false,"error":{"code","message"}} bodies whatever the HTTP
// status; the client turns them into an *Error that says what to do next.
package trackier

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Status is a campaign status as Trackier documents it.
type Status string

// Campaign statuses. Trackier sets paused itself when a cap is reached and
// lifts it when the cap refreshes, and any edit of a paused campaign
// re-activates it; disabled is never lifted by Trackier on its own.
// suspended comes from Trackier's Offer Checker.
const (
	StatusActive    Status = "active"
	StatusPending   Status = "pending"
	StatusPaused    Status = "paused"
	StatusDisabled  Status = "disabled"
	StatusSuspended Status = "suspended"
	StatusExpired   Status = "expired"
	StatusDeleted   Status = "deleted"
)

// Binding addresses one Trackier campaign with the key that may change it.
type Binding struct {
	APIBaseURL string
	APIKey     string
	CampaignID string
}

// Campaign is a campaign as Trackier's API answers it.
type Campaign struct {
	ID     string
	Name   string
	Status Status
	URL    string
}

// DefaultRateLimit is how many requests per second the client sends with
// one API key unless WithRateLimit says otherwise; Trackier asks callers to
// stay within 5.
const DefaultRateLimit = 5

// Breaker limits: after BreakerThreshold consecutive failures against one API
// base URL, calls to it fail fast for BreakerCooldown.
const (
	BreakerThreshold = 5
	BreakerCooldown  = 30 * time.Second
)

// maxResponseBody bounds how much of an answer is kept in a Result; a
// campaign list page may be longer, so reads keep more (maxReadBody).
const (
	maxResponseBody = 4 << 10
	maxReadBody     = 4 << 20
)

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

// Client calls the Trackier API. It is safe for concurrent use.
type Client struct {
	http      *http.Client
	timeout   time.Duration
	now       func() time.Time
	perSecond float64

	mu       sync.Mutex
	breakers map[string]*breaker
	limiters map[string]*rate.Limiter
	routes   map[string]statusRoute
}

// Option changes how a Client works.
type Option func(*Client)

// WithRateLimit sets how many requests per second the client sends with one
// API key (default DefaultRateLimit). Calls over the limit wait for their
// turn under the caller's context.
func WithRateLimit(perSecond float64) Option {
	return func(c *Client) { c.perSecond = perSecond }
}

// WithClock makes the breaker read time from now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(c *Client) { c.now = now }
}

// New returns a Client whose every call ends after timeout.
func New(timeout time.Duration, opts ...Option) *Client {
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 4
	transport.ResponseHeaderTimeout = timeout
	c := &Client{
		// Trackier's API does not redirect; following a redirect would
		// resend the key to wherever it points.
		http: &http.Client{
			Transport:     transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		timeout:   timeout,
		now:       time.Now,
		perSecond: DefaultRateLimit,
		breakers:  map[string]*breaker{},
		limiters:  map[string]*rate.Limiter{},
		routes:    map[string]statusRoute{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// baseKey is how base URLs are told apart for the breaker and the status
// route memory.
func baseKey(baseURL string) string {
	return strings.TrimRight(strings.ToLower(baseURL), "/")
}

// call is one API request before it is sent.
type call struct {
	base, key, method, path string
	body                    []byte
	keep                    int // how much of the answer to read
}

// do sends one request and classifies its answer: a transport failure, a
// success:false body or a non-2xx status is an *Error. raw is the answer
// read (up to call.keep bytes), for the caller to decode.
func (c *Client) do(ctx context.Context, cl call) (res Result, raw []byte, err error) {
	res = Result{Request: Request{Method: cl.method, URL: strings.TrimRight(cl.base, "/") + cl.path, Body: string(cl.body)}}
	if cl.key == "" {
		return res, nil, &Error{Msg: "no Trackier API key: set trackier.api_key to the admin API key from Trackier (Settings → API)"}
	}
	if err := CheckBaseURL(cl.base); err != nil {
		return res, nil, &Error{Msg: err.Error()}
	}
	b := c.breaker(cl.base)
	if until, open := b.open(c.now()); open {
		return res, nil, &Error{retryable: true, cause: ErrBreakerOpen, Msg: fmt.Sprintf("%s for %s until %s after %d consecutive failures",
			ErrBreakerOpen, cl.base, until.UTC().Format(time.RFC3339), BreakerThreshold)}
	}
	if err := c.limiter(cl.key).Wait(ctx); err != nil {
		return res, nil, &Error{retryable: true, cause: err,
			Msg: "Trackier API call not sent: its turn under the rate limit of this API key came too late (" + err.Error() + ")"}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, cl.method, res.Request.URL, bytes.NewReader(cl.body))
	if err != nil {
		return res, nil, &Error{Msg: "build request: " + err.Error()}
	}
	req.Header.Set("X-Api-Key", cl.key)
	req.Header.Set("Accept", "application/json")
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := c.now()
	resp, err := c.http.Do(req)
	if err != nil {
		res.Duration = c.now().Sub(start)
		b.record(false, c.now())
		return res, nil, transportError(err, c.timeout)
	}
	keep := max(cl.keep, maxResponseBody)
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, int64(keep)))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	resp.Body.Close()
	res.Duration, res.StatusCode = c.now().Sub(start), resp.StatusCode
	res.Body = string(raw[:min(len(raw), maxResponseBody)])
	if readErr != nil {
		b.record(false, c.now())
		return res, nil, transportError(readErr, c.timeout)
	}
	apiErr := answerError(resp.StatusCode, raw)
	// Only failures that say "the API is unwell" trip the breaker; a final
	// error is an answer about this request, not about the API.
	b.record(apiErr == nil || !apiErr.retryable, c.now())
	if apiErr != nil {
		return res, raw, apiErr
	}
	return res, raw, nil
}

// limiter is the rate limiter of one API key.
func (c *Client) limiter(key string) *rate.Limiter {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limiters[key]
	if !ok {
		// A burst of one spaces calls evenly, so no one-second window on
		// Trackier's side ever sees more than the limit.
		l = rate.NewLimiter(rate.Limit(c.perSecond), 1)
		c.limiters[key] = l
	}
	return l
}

func (c *Client) breaker(baseURL string) *breaker {
	key := baseKey(baseURL)
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.breakers[key]
	if !ok {
		b = &breaker{}
		c.breakers[key] = b
	}
	return b
}
