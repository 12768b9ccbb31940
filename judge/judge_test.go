package judge

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/tracer"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// site serves pages by path over HTTP; any other path answers 404.
func site(t *testing.T, pages map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasPrefix(body, "redirect:") {
			http.Redirect(w, r, strings.TrimPrefix(body, "redirect:"), http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// judged traces url and judges it under o's rules.
func judged(t *testing.T, j *Judge, tr *tracer.Tracer, o urltracker.Offer, url string) urltracker.Check {
	t.Helper()
	c := tr.Trace(context.Background(), tracer.Request{URL: url})
	j.Assess(context.Background(), o, &c)
	return c
}

const shopPage = `<html><head><title>Trail Runner 5 – Example Store</title></head><body>
<h1>Trail Runner 5</h1><p>€89.90 <button>Add to cart</button></p><img src="/shoe.jpg" alt=""></body></html>`

// TestRules judges each of an offer's rules on a working landing.
func TestRules(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(60 * time.Millisecond)
		fmt.Fprint(w, shopPage)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/shoe", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, shopPage) })
	mux.HandleFunc("/slow", slow)
	mux.HandleFunc("/r1", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/r2", http.StatusFound) })
	mux.HandleFunc("/r2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/r3", http.StatusFound) })
	mux.HandleFunc("/r3", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/shoe", http.StatusFound) })
	mux.HandleFunc("/bot", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no bots", http.StatusTooManyRequests) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tr := tracer.New(tracer.Config{AllowCIDRs: loopback})
	t.Cleanup(tr.CloseIdleConnections)
	j, err := New(Config{Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		path     string
		rules    urltracker.Rules
		verdict  urltracker.Verdict
		errorHas string
	}{
		{"no rules", "/shoe", urltracker.Rules{}, urltracker.VerdictHealthy, ""},
		{"must_contain found, ignoring case", "/shoe", urltracker.Rules{MustContain: []string{"add TO cart"}}, urltracker.VerdictHealthy, ""},
		{"must_contain missing", "/shoe", urltracker.Rules{MustContain: []string{"Add to cart", "Free shipping"}},
			urltracker.VerdictContentMismatch, `must_contain "Free shipping"`},
		{"must_contain regex on the HTML", "/shoe", urltracker.Rules{MustContain: []string{`/<button>\s*Add/`}}, urltracker.VerdictHealthy, ""},
		{"must_contain regex missing", "/shoe", urltracker.Rules{MustContain: []string{`/€\s*1\d\d/`}},
			urltracker.VerdictContentMismatch, `must_contain "/€\\s*1\\d\\d/"`},
		{"must_not_contain found", "/shoe", urltracker.Rules{MustNotContain: []string{"€89.90"}},
			urltracker.VerdictContentMismatch, `must_not_contain "€89.90"`},
		{"must_not_contain absent", "/shoe", urltracker.Rules{MustNotContain: []string{"sold out"}}, urltracker.VerdictHealthy, ""},
		{"max_hops kept", "/r1", urltracker.Rules{MaxHops: 3}, urltracker.VerdictHealthy, ""},
		{"max_hops passed", "/r1", urltracker.Rules{MaxHops: 2}, urltracker.VerdictTooManyHops, "3 redirects, more than the offer's rules.max_hops of 2"},
		{"max_total_ms passed", "/slow", urltracker.Rules{MaxTotalMS: 20}, urltracker.VerdictSlow, "more than the offer's rules.max_total_ms of 20"},
		{"max_total_ms kept", "/slow", urltracker.Rules{MaxTotalMS: 20_000}, urltracker.VerdictHealthy, ""},
		{"refused", "/bot", urltracker.Rules{}, urltracker.VerdictRefused, "429"},
		{"refused_is_broken", "/bot", urltracker.Rules{RefusedIsBroken: true}, urltracker.VerdictBroken, "refused_is_broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := judged(t, j, tr, urltracker.Offer{Rules: tt.rules}, srv.URL+tt.path)
			if c.Verdict != tt.verdict || !strings.Contains(c.Error, tt.errorHas) || c.Success != (tt.verdict == urltracker.VerdictHealthy) {
				t.Errorf("verdict %s (%q), success %v; want %s naming %q", c.Verdict, c.Error, c.Success, tt.verdict, tt.errorHas)
			}
			if tt.verdict == urltracker.VerdictContentMismatch && (len(c.Signals) == 0 || c.Signals[len(c.Signals)-1].Name != SignalContentRuleFailed) {
				t.Errorf("signals %v, want content_rule_failed naming the rule", c.Signals)
			}
		})
	}
}

// TestCertificateExpiresSoon warns of a landing certificate that expires in
// 3 days and leaves the verdict healthy; with a warning window of 2 days it
// says nothing.
func TestCertificateExpiresSoon(t *testing.T) {
	expires := time.Now().Add(72 * time.Hour)
	srv, pool := testutil.TLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, shopPage) }), expires)
	tr := tracer.New(tracer.Config{AllowCIDRs: loopback, RootCAs: pool})
	t.Cleanup(tr.CloseIdleConnections)
	for _, tt := range []struct {
		warn time.Duration
		want bool
	}{{DefaultCertWarn, true}, {48 * time.Hour, false}} {
		j, err := New(Config{Tracer: tr, CertWarn: tt.warn})
		if err != nil {
			t.Fatal(err)
		}
		c := judged(t, j, tr, urltracker.Offer{}, srv.URL+"/")
		if c.Verdict != urltracker.VerdictHealthy {
			t.Fatalf("verdict %s (%s), want healthy", c.Verdict, c.Error)
		}
		var got []string
		for _, s := range c.Signals {
			if s.Name == SignalCertificateExpiresSoon {
				got = append(got, s.Evidence)
			}
		}
		date := expires.UTC().Format("2006-01-02")
		if tt.want && (len(got) != 1 || !strings.Contains(got[0], "127.0.0.1") || !strings.Contains(got[0], date)) {
			t.Errorf("warn within %s: signals %q, want one naming 127.0.0.1 and %s", tt.warn, got, date)
		}
		if !tt.want && len(got) != 0 {
			t.Errorf("warn within %s: signals %q, want none", tt.warn, got)
		}
	}
}

// TestProbeOncePerHostAndDay asks a host for a missing page once a day,
// with the one User-Agent, and only for a page that already shows a signal.
func TestProbeOncePerHostAndDay(t *testing.T) {
	var probes atomic.Int32
	var mu sync.Mutex
	var agents []string
	notFound := `<html><head><title>Page not found</title></head><body><p>Sorry.</p></body></html>`
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "urltracker-missing-") {
			probes.Add(1)
			mu.Lock()
			agents = append(agents, r.UserAgent())
			mu.Unlock()
		}
		fmt.Fprint(w, notFound) // every path: the classic soft 404
	})
	mux.HandleFunc("/fine", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, shopPage) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tr := tracer.New(tracer.Config{AllowCIDRs: loopback, UserAgent: "urltracker/test"})
	t.Cleanup(tr.CloseIdleConnections)
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	j, err := New(Config{Tracer: tr, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}

	if c := judged(t, j, tr, urltracker.Offer{}, srv.URL+"/fine"); c.Verdict != urltracker.VerdictHealthy || probes.Load() != 0 {
		t.Fatalf("a page without signals: verdict %s, %d probes; want healthy and no probe", c.Verdict, probes.Load())
	}
	for range 3 {
		c := judged(t, j, tr, urltracker.Offer{}, srv.URL+"/deal/1")
		if c.Verdict != urltracker.VerdictSoft404 {
			t.Fatalf("verdict %s (signals %v), want soft_404 from the title and the missing page", c.Verdict, c.Signals)
		}
	}
	if n := probes.Load(); n != 1 {
		t.Errorf("%d probes for three checks within a day, want 1", n)
	}
	now = now.Add(25 * time.Hour)
	judged(t, j, tr, urltracker.Offer{}, srv.URL+"/deal/1")
	if n := probes.Load(); n != 2 {
		t.Errorf("%d probes after a day, want 2", n)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ua := range agents {
		if ua != "urltracker/test" {
			t.Errorf("probe User-Agent %q, want the tracer's one", ua)
		}
	}
}

// BenchmarkAssess is the judge's cost per check on a typical landing
// page without signals (no probe), and on an expired offer's page with
// its probe cached.
func BenchmarkAssess(b *testing.B) {
	long := `<html><head><title>Trail Runner 5 – Example Store</title></head><body><nav><a href="/">Home</a></nav><h1>Trail Runner 5</h1>` +
		strings.Repeat("<p>Lightweight trail shoe with a grippy sole, tested on every surface our team could find this year.</p>\n", 300) + `</body></html>`
	expired := `<html><head><title>Offer expired | Shop</title></head><body><h1>This offer has expired</h1><p>See today's deals.</p></body></html>`
	j, err := New(Config{Tracer: tracer.New(tracer.Config{AllowCIDRs: loopback})})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, body string }{{"genuine-30KiB", long}, {"expired", expired}} {
		b.Run(bc.name, func(b *testing.B) {
			page := &urltracker.Page{URL: "https://shop.example/p/trail-runner-5", Status: 200, Body: []byte(bc.body)}
			// The probe's answer is cached, as after the first check of the day.
			j.probes.put("https://shop.example", probeResult{at: time.Now(), url: "https://shop.example/p/x"})
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				c := urltracker.Check{Verdict: urltracker.VerdictHealthy, Landing: page,
					Chain: []urltracker.Hop{{URL: page.URL, Status: 200, RedirectType: urltracker.RedirectFinal}}}
				j.Assess(context.Background(), urltracker.Offer{}, &c)
			}
		})
	}
}
