// Package testutil starts urltracker and its upstreams for end-to-end tests.
package testutil

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// SyncBuffer is an io.Writer safe for concurrent use, for capturing logs.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// LogLines decodes every JSON log line written so far.
func (b *SyncBuffer) LogLines(t testing.TB) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		lines = append(lines, m)
	}
	return lines
}

// Client is an HTTP client for one urltracker instance.
type Client struct {
	BaseURL    string
	AdminToken string
	HTTP       *http.Client
}

// Do sends a request; body is JSON-encoded unless it is a string or nil. With
// admin, it sends the admin token. It returns the status and the body.
func (c *Client) Do(t testing.TB, method, path string, body any, admin bool) (int, []byte) {
	t.Helper()
	var r io.Reader
	contentType := "application/json"
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.BaseURL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if admin {
		req.Header.Set("Authorization", "Bearer "+c.AdminToken)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkContract(t, req, resp.StatusCode, resp.Header, out)
	return resp.StatusCode, out
}

// JSON sends a request like Do, expects want, and decodes the answer into v.
func (c *Client) JSON(t testing.TB, method, path string, body any, admin bool, want int, v any) {
	t.Helper()
	status, out := c.Do(t, method, path, body, admin)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, out, err)
		}
	}
}

// Eventually polls cond every 50ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %s waiting for %s", timeout, what)
}

// RedirectChain serves /hop/1 → /hop/2 → … → /hop/n → /landing (200).
func RedirectChain(n int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/{i}", func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(r.PathValue("i"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		next := "/landing?from=chain"
		if i < n {
			next = "/hop/" + strconv.Itoa(i+1) + "?step=" + strconv.Itoa(i+1)
		}
		http.Redirect(w, r, next, http.StatusFound)
	})
	mux.HandleFunc("/landing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><title>Landing</title><p>welcome</p>")
	})
	return mux
}
