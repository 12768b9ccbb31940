package tracer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/urltracker/urltracker"
)

// hungServer answers nothing until the client gives up. With headersFirst
// it sends the status and headers, then hangs in the body.
func hungServer(headersFirst bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headersFirst {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, "<html><body>")
			w.(http.Flusher).Flush()
		}
		<-r.Context().Done()
	}))
}

// endsAround fails the test unless elapsed is within a second after
// deadline; the bound is loose so that a busy machine passes.
func endsAround(t *testing.T, elapsed, deadline time.Duration) {
	t.Helper()
	if elapsed < deadline-50*time.Millisecond || elapsed > deadline+time.Second {
		t.Errorf("trace took %v, want about %v", elapsed, deadline)
	}
}

func TestHopTimeout(t *testing.T) {
	for _, headersFirst := range []bool{false, true} {
		t.Run(fmt.Sprintf("headers sent %v", headersFirst), func(t *testing.T) {
			srv := hungServer(headersFirst)
			t.Cleanup(srv.Close)
			cfg := testConfig()
			cfg.HopTimeout = time.Second
			start := time.Now()
			c := newTracer(t, cfg).Trace(context.Background(), Request{URL: srv.URL + "/"})
			endsAround(t, time.Since(start), cfg.HopTimeout)
			wantStatus := 0
			if headersFirst {
				wantStatus = 200
			}
			want := fmt.Sprintf("/ %d error", wantStatus)
			if c.Verdict != urltracker.VerdictTimeout || len(c.Chain) != 1 || hops(c)[0] != want {
				t.Fatalf("verdict %s chain %q, want timeout [%s]", c.Verdict, hops(c), want)
			}
			if !strings.Contains(c.Error, "hop timeout of 1s") {
				t.Errorf("error %q, want it to name the hop timeout", c.Error)
			}
		})
	}
}

// TestTraceTimeout ends a chain of slow hops, each within the hop timeout,
// at the trace's deadline, which Request.Timeout sets.
func TestTraceTimeout(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/%d", n.Add(1)), http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	const deadline = 1500 * time.Millisecond
	start := time.Now()
	c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/", Timeout: deadline})
	endsAround(t, time.Since(start), deadline)
	if c.Verdict != urltracker.VerdictTimeout || len(c.Chain) < 2 || c.Chain[len(c.Chain)-1].RedirectType != urltracker.RedirectError {
		t.Fatalf("verdict %s chain %q, want timeout after a few hops", c.Verdict, hops(c))
	}
	if !strings.Contains(c.Error, "within its timeout of 1.5s") {
		t.Errorf("error %q, want it to name the trace timeout", c.Error)
	}
	endsAround(t, time.Duration(c.DurationMS)*time.Millisecond, deadline)
}

// TestCanceledTrace stops when the caller cancels, as at shutdown.
func TestCanceledTrace(t *testing.T) {
	srv := hungServer(false)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	c := newTracer(t, testConfig()).Trace(ctx, Request{URL: srv.URL})
	if c.Verdict != urltracker.VerdictTimeout || !strings.Contains(c.Error, "canceled") {
		t.Fatalf("verdict %s (%s), want timeout: canceled", c.Verdict, c.Error)
	}
}

// TestManyHungTraces runs 200 traces against a hung upstream at once: all
// end at their deadline and leave no goroutine behind.
func TestManyHungTraces(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	srv := hungServer(false)
	cfg := testConfig()
	cfg.HopTimeout = time.Second
	tr := New(cfg)

	const traces = 200
	verdicts := make([]urltracker.Verdict, traces)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range traces {
		wg.Go(func() {
			verdicts[i] = tr.Trace(context.Background(), Request{URL: fmt.Sprintf("%s/%d", srv.URL, i)}).Verdict
		})
	}
	wg.Wait()
	// Generous: 200 dials and timers on two busy cores.
	if elapsed := time.Since(start); elapsed > cfg.HopTimeout+5*time.Second {
		t.Errorf("200 hung traces took %v, want about %v", elapsed, cfg.HopTimeout)
	}
	for i, v := range verdicts {
		if v != urltracker.VerdictTimeout {
			t.Fatalf("trace %d: verdict %s, want timeout", i, v)
		}
	}
	tr.CloseIdleConnections()
	srv.Close()
}
