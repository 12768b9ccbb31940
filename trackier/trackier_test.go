package trackier

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testKey = "tk-secret-0123456789"

type seenRequest struct {
	Method, Path, APIKey, ContentType, Body string
}

// recorder is a local Trackier API answering status to every call.
type recorder struct {
	mu   sync.Mutex
	seen []seenRequest
}

func (r *recorder) handler(status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.seen = append(r.seen, seenRequest{req.Method, req.URL.Path, req.Header.Get("X-Api-Key"), req.Header.Get("Content-Type"), string(body)})
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, `{"success":true}`)
	})
}

func (r *recorder) requests() []seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seenRequest(nil), r.seen...)
}

func TestCallsFollowTheContract(t *testing.T) {
	rec := &recorder{}
	api := httptest.NewServer(rec.handler(http.StatusOK))
	defer api.Close()
	c := New(5 * time.Second)
	camp := Binding{APIBaseURL: api.URL + "/", APIKey: testKey, CampaignID: "cmp 42"}
	ctx := context.Background()

	tests := []struct {
		name string
		call func() (Result, error)
		want seenRequest
	}{
		{"hold", func() (Result, error) { return c.SetStatus(ctx, camp, StatusDisabled) },
			seenRequest{"POST", "/v2/campaigns/status", testKey, "application/json", `{"campaignIds":["cmp 42"],"status":"disabled"}`}},
		{"resume", func() (Result, error) { return c.SetStatus(ctx, camp, StatusActive) },
			seenRequest{"POST", "/v2/campaigns/status", testKey, "application/json", `{"campaignIds":["cmp 42"],"status":"active"}`}},
		{"set URL", func() (Result, error) {
			return c.SetURL(ctx, camp, "https://shop.example/new?utm_source=x&c={click_id}")
		},
			seenRequest{"POST", "/v2/campaigns/cmp 42", testKey, "application/json", `{"url":"https://shop.example/new?utm_source=x&c={click_id}"}`}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != 200 {
				t.Errorf("status %d", res.StatusCode)
			}
			got := rec.requests()
			if len(got) != i+1 {
				t.Fatalf("%d requests, want %d", len(got), i+1)
			}
			if got[i] != tt.want {
				t.Errorf("request\n got %+v\nwant %+v", got[i], tt.want)
			}
			if res.Request.Body != tt.want.Body || res.Request.Method != tt.want.Method {
				t.Errorf("recorded request %+v", res.Request)
			}
		})
	}
}

func TestFailuresSayWhetherToRetry(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true},
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusBadRequest, false},
		{http.StatusUnauthorized, false},
		{http.StatusForbidden, false},
		{http.StatusNotFound, false},
		{http.StatusUnprocessableEntity, false},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			api := httptest.NewServer((&recorder{}).handler(tt.status))
			defer api.Close()
			res, err := New(5*time.Second).SetURL(context.Background(), Binding{APIBaseURL: api.URL, APIKey: testKey, CampaignID: "1"}, campaignURL)
			var apiErr *Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *Error", err)
			}
			if apiErr.Retryable() != tt.retryable || apiErr.StatusCode != tt.status || res.StatusCode != tt.status {
				t.Errorf("retryable=%v status=%d result status=%d; want retryable=%v status=%d",
					apiErr.Retryable(), apiErr.StatusCode, res.StatusCode, tt.retryable, tt.status)
			}
		})
	}
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = New(2*time.Second).SetURL(context.Background(), Binding{APIBaseURL: "http://" + addr, APIKey: testKey, CampaignID: "1"}, campaignURL)
	var apiErr *Error
	if !errors.As(err, &apiErr) || !apiErr.Retryable() || apiErr.StatusCode != 0 {
		t.Fatalf("err = %v, want a retryable error without status", err)
	}
}

func TestHungAPIEndsAtDeadlineAndOpensBreakerAfterFive(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer api.Close()
	defer close(release)

	const timeout = 300 * time.Millisecond
	c := New(timeout)
	camp := Binding{APIBaseURL: api.URL, APIKey: testKey, CampaignID: "1"}
	for i := 1; i <= BreakerThreshold; i++ {
		start := time.Now()
		_, err := c.SetURL(context.Background(), camp, campaignURL)
		took := time.Since(start)
		var apiErr *Error
		if !errors.As(err, &apiErr) || !apiErr.Retryable() || errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("call %d: err = %v, want a retryable timeout", i, err)
		}
		if took < timeout || took > timeout+5*time.Second {
			t.Fatalf("call %d took %s, want it to end at the %s deadline", i, took, timeout)
		}
	}
	start := time.Now()
	_, err := c.SetURL(context.Background(), camp, campaignURL)
	if !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("call after %d failures: err = %v, want the breaker open", BreakerThreshold, err)
	}
	var apiErr *Error
	if !errors.As(err, &apiErr) || !apiErr.Retryable() {
		t.Errorf("breaker error must be retryable later: %v", err)
	}
	if took := time.Since(start); took > timeout/2 {
		t.Errorf("open breaker took %s, want an immediate failure", took)
	}
	if n := calls.Load(); n != BreakerThreshold {
		t.Errorf("API saw %d calls, want %d (the open breaker sends none)", n, BreakerThreshold)
	}

	// Another base URL has its own breaker.
	other := httptest.NewServer((&recorder{}).handler(http.StatusOK))
	defer other.Close()
	if _, err := c.SetURL(context.Background(), Binding{APIBaseURL: other.URL, APIKey: testKey, CampaignID: "1"}, campaignURL); err != nil {
		t.Errorf("other API: %v", err)
	}
}

func TestBreakerLetsCallsThroughAfterCooldown(t *testing.T) {
	status := atomic.Int32{}
	status.Store(http.StatusServiceUnavailable)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer api.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	c := New(5 * time.Second)
	c.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	camp := Binding{APIBaseURL: api.URL, APIKey: testKey, CampaignID: "1"}
	for range BreakerThreshold {
		c.SetURL(context.Background(), camp, campaignURL)
	}
	if _, err := c.SetURL(context.Background(), camp, campaignURL); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("err = %v, want breaker open", err)
	}
	advance(BreakerCooldown - time.Second)
	if _, err := c.SetURL(context.Background(), camp, campaignURL); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("before cooldown: err = %v, want breaker open", err)
	}
	advance(2 * time.Second)
	// After the cooldown one call goes through; it fails, so the breaker
	// reopens at once.
	if _, err := c.SetURL(context.Background(), camp, campaignURL); err == nil || errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("after cooldown: err = %v, want the API's 503", err)
	}
	if _, err := c.SetURL(context.Background(), camp, campaignURL); !errors.Is(err, ErrBreakerOpen) {
		t.Fatalf("after a failed trial: err = %v, want breaker open again", err)
	}
	advance(BreakerCooldown + time.Second)
	status.Store(http.StatusOK)
	if _, err := c.SetURL(context.Background(), camp, campaignURL); err != nil {
		t.Fatalf("API healthy again: %v", err)
	}
	for range BreakerThreshold - 1 {
		status.Store(http.StatusServiceUnavailable)
		c.SetURL(context.Background(), camp, campaignURL)
	}
	if _, err := c.SetURL(context.Background(), camp, campaignURL); errors.Is(err, ErrBreakerOpen) {
		t.Fatal("a success must reset the failure count")
	}
}

func TestKeyIsNotSentToARedirectTarget(t *testing.T) {
	rec := &recorder{}
	elsewhere := httptest.NewServer(rec.handler(http.StatusOK))
	defer elsewhere.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/steal", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	_, err := New(5*time.Second).SetURL(context.Background(), Binding{APIBaseURL: api.URL, APIKey: testKey, CampaignID: "1"}, campaignURL)
	if err == nil {
		t.Fatal("a redirect is not a success")
	}
	if n := len(rec.requests()); n != 0 {
		t.Fatalf("redirect target got %d requests", n)
	}
}

func TestMissingBindingIsNotRetryable(t *testing.T) {
	_, err := New(time.Second).SetURL(context.Background(), Binding{APIBaseURL: "http://127.0.0.1:1", CampaignID: "1"}, campaignURL)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.Retryable() {
		t.Fatalf("err = %v, want a final error", err)
	}
}

// campaignURL is what the tests set a campaign's URL to: any edit goes
// through the campaign edit endpoint.
const campaignURL = "https://shop.example/landing?c={click_id}"
