package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
)

// TestBrowserEngineRefusedWithoutChromium: an offer cannot ask for the
// browser engine on an instance without Chromium, and is told what to do;
// an unknown engine is refused too.
func TestBrowserEngineRefusedWithoutChromium(t *testing.T) {
	env := appEnv(t.TempDir())
	env["URLTRACKER_CHROMIUM"] = "/nonexistent/chromium"
	a := startApp(t, env)
	for _, engine := range []string{"browser", "firefox"} {
		status, body := a.Do(t, "POST", "/api/offers", map[string]any{"name": "b", "url": "https://example.com/", "engine": engine}, true)
		if status != http.StatusBadRequest || !strings.Contains(string(body), `"engine"`) {
			t.Fatalf("engine %s: %d %s, want 400 naming engine", engine, status, body)
		}
	}
	status, body := a.Do(t, "POST", "/api/offers", map[string]any{"name": "b", "url": "https://example.com/", "engine": "browser"}, true)
	if !strings.Contains(string(body), "URLTRACKER_CHROMIUM") {
		t.Errorf("%d %s: the refusal should say which setting to fix", status, body)
	}
	var o struct {
		Engine string `json:"engine"`
	}
	a.JSON(t, "POST", "/api/offers", map[string]any{"name": "h", "url": "https://example.com/"}, true, http.StatusCreated, &o)
	if o.Engine != urltracker.EngineHTTP {
		t.Errorf("default engine %q, want http", o.Engine)
	}
}

// TestBrowserEngineEndToEnd: an offer with engine "browser" is checked by
// a real Chromium, which follows a navigation only a browser can (the
// target comes from fetch), and `urltracker trace --engine browser` does
// the same from the command line.
func TestBrowserEngineEndToEnd(t *testing.T) {
	path := chromiumPath(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/offer":
			fmt.Fprint(w, `<script>fetch("/where").then(r => r.text()).then(u => { location.href = u; });</script>`)
		case "/where":
			fmt.Fprint(w, "/landing?via=fetch")
		case "/landing":
			fmt.Fprint(w, "<h1>Offer</h1>")
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	env := appEnv(t.TempDir())
	env["URLTRACKER_CHROMIUM"] = path
	env["URLTRACKER_TRACE_TIMEOUT"] = "60s"
	env["URLTRACKER_HOP_TIMEOUT"] = "10s"
	a := startApp(t, env)

	var o struct {
		ID     int64  `json:"id"`
		Engine string `json:"engine"`
	}
	a.JSON(t, "POST", "/api/offers", map[string]any{"name": "browser", "url": upstream.URL + "/offer", "engine": "browser"}, true, http.StatusCreated, &o)
	if o.Engine != urltracker.EngineBrowser {
		t.Fatalf("engine %q, want browser", o.Engine)
	}
	c := trigger(t, a, o.ID, urltracker.VerdictHealthy)
	if c.FinalURL != upstream.URL+"/landing?via=fetch" || len(c.Chain) != 2 || c.Chain[0].RedirectType != urltracker.RedirectJavaScript {
		t.Fatalf("final %s, chain %+v: want the fetched landing after a javascript hop", c.FinalURL, c.Chain)
	}

	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), []string{"urltracker", "trace", "--engine", "browser", upstream.URL + "/offer"}, getenv, &stdout, &stderr)
	if err != nil || !strings.Contains(stdout.String(), "verdict: healthy") || !strings.Contains(stdout.String(), "/landing?via=fetch") {
		t.Fatalf("trace --engine browser: %v\n%s%s", err, stdout.String(), stderr.String())
	}
}
