package tracer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

// BenchmarkTrace5Hops traces a local chain of five hops, one of each kind:
// 302, 301, meta refresh, script, landing. allocs/hop counts the whole
// process, so it includes the test server's own allocations.
func BenchmarkTrace5Hops(b *testing.B) {
	pages := map[string]struct {
		status   int
		location string
		body     []byte
	}{
		"/1": {status: 302, location: "/2?click_id=abc"},
		"/2": {status: 301, location: "/3?offer=42"},
		"/3": {status: 200, body: []byte(htmlPage(`<meta http-equiv="refresh" content="0;url=/4">`, "<p>Redirecting</p>"))},
		"/4": {status: 200, body: []byte(script(`window.location.replace("/5?utm_source=bench")`))},
		"/5": {status: 200, body: []byte(htmlPage("", "<h1>Offer</h1><p>Landing page</p>"))},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := pages[r.URL.Path]
		if p.location != "" {
			w.Header().Set("Location", p.location)
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(p.status)
		w.Write(p.body)
	}))
	defer srv.Close()
	tr := New(testConfig())
	defer tr.CloseIdleConnections()
	req := Request{URL: srv.URL + "/1"}

	run := func(b *testing.B, trace func(*testing.B)) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		trace(b)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&after)
		hops := float64(b.N * 5)
		b.ReportMetric(hops/elapsed.Seconds(), "hops/s")
		b.ReportMetric(float64(after.Mallocs-before.Mallocs)/hops, "allocs/hop")
	}
	check := func(b *testing.B, c urltracker.Check) {
		if !c.Success || len(c.Chain) != 5 {
			b.Fatalf("verdict %s (%s), %d hops", c.Verdict, c.Error, len(c.Chain))
		}
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		run(b, func(b *testing.B) {
			for b.Loop() {
				check(b, tr.Trace(context.Background(), req))
			}
		})
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		run(b, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					check(b, tr.Trace(context.Background(), req))
				}
			})
		})
	})
}

// BenchmarkBrowse measures the virtual browser on one page: a page with no
// script (the common landing page), and a redirect page whose script
// computes its target, the interpreter's cost per scripted hop.
func BenchmarkBrowse(b *testing.B) {
	page, _ := url.Parse("http://example.com/start")
	env := pageEnv{url: page, maxDelay: 10 * time.Second}
	plain := []byte(htmlPage("", strings.Repeat("<p>Offer details and more text</p>", 100)))
	scripted := []byte(htmlPage(`<meta http-equiv="refresh" content="5;url=/slow">`,
		`<form id="f" action="/f"></form><script>var id = "abc"; setTimeout(function () { location.href = "/next?click_id=" + encodeURIComponent(id); }, 100);</script>`))
	for _, bc := range []struct {
		name string
		page []byte
		want bool
	}{{"plain", plain, false}, {"scripted", scripted, true}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := browse(bc.page, env); ok != bc.want {
					b.Fatalf("navigation %v, want %v", ok, bc.want)
				}
			}
		})
	}
}
