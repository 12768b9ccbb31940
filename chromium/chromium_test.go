package chromium

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/agreement"
	"github.com/urltracker/urltracker/tracer"
)

// requireChromium skips without Chromium, unless URLTRACKER_REQUIRE_CHROMIUM=1
// (as in CI) makes the test fail.
func requireChromium(t testing.TB) string {
	t.Helper()
	path, err := Find(os.Getenv(PathEnv))
	if err == nil {
		return path
	}
	if os.Getenv("URLTRACKER_REQUIRE_CHROMIUM") == "1" {
		t.Fatalf("%v, and URLTRACKER_REQUIRE_CHROMIUM=1", err)
	}
	t.Skip(err)
	return ""
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func engine(t testing.TB, allow []netip.Prefix, concurrency int) *Engine {
	return New(Config{Path: requireChromium(t), Concurrency: concurrency, Tracer: tracer.Config{
		// Generous: on a loaded machine Chromium alone can take seconds
		// to start.
		AllowCIDRs: allow, Timeout: 90 * time.Second, HopTimeout: 10 * time.Second,
	}})
}

// TestBrowserCheckRecordsEveryHop follows a redirect, a script that only a
// browser can follow (it needs fetch) and a meta refresh in a real Chromium,
// with the hops and their kinds as the HTTP tracer records them.
func TestBrowserCheckRecordsEveryHop(t *testing.T) {
	var mu sync.Mutex
	var agents []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		agents = append(agents, r.UserAgent())
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/start":
			http.Redirect(w, r, "/fetching?click_id=c1", http.StatusFound)
		case "/fetching":
			fmt.Fprint(w, `<script>fetch("/api").then(r => r.text()).then(u => { location.href = u; });</script>`)
		case "/api":
			fmt.Fprint(w, "/refresh")
		case "/refresh":
			fmt.Fprint(w, `<meta http-equiv="refresh" content="0;url=/landing">`)
		case "/landing":
			fmt.Fprint(w, `<h1>Offer</h1>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	e := engine(t, loopback, 1)
	c := e.Trace(context.Background(), tracer.Request{URL: srv.URL + "/start", ExpectedHost: "127.0.0.1"})
	var got []string
	for _, h := range c.Chain {
		got = append(got, fmt.Sprintf("%s %d %s", strings.TrimPrefix(h.URL, srv.URL), h.Status, h.RedirectType))
	}
	want := []string{"/start 302 http", "/fetching?click_id=c1 200 javascript", "/refresh 200 meta", "/landing 200 final"}
	if strings.Join(got, "|") != strings.Join(want, "|") || c.Verdict != urltracker.VerdictHealthy || c.FinalURL != srv.URL+"/landing" {
		t.Fatalf("chain %q, verdict %s (%s), final %s; want %q healthy", got, c.Verdict, c.Error, c.FinalURL, want)
	}
	if c.Chain[1].Params["click_id"] != "c1" {
		t.Errorf("params of hop 2: %v", c.Chain[1].Params)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, ua := range agents {
		if ua != urltracker.UserAgent() {
			t.Errorf("the browser sent User-Agent %q, want the fixed %q", ua, urltracker.UserAgent())
		}
	}
}

// TestBrowserCheckKeepsTheAddressGuard: without loopback allowed, the
// browser reaches a local server neither directly nor by a redirect.
func TestBrowserCheckKeepsTheAddressGuard(t *testing.T) {
	hit := make(chan string, 8)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- r.URL.Path
		fmt.Fprint(w, "internal")
	}))
	defer srv.Close()
	e := engine(t, nil, 1)
	c := e.Trace(context.Background(), tracer.Request{URL: srv.URL + "/admin"})
	if c.Verdict != urltracker.VerdictBlocked || !strings.Contains(c.Error, "loopback") {
		t.Fatalf("verdict %s (%s), want blocked naming the loopback address", c.Verdict, c.Error)
	}
	select {
	case p := <-hit:
		t.Fatalf("the local server was reached at %s", p)
	default:
	}
}

// TestBrowserEngineAgreesWithChromiumTruth runs the corpus cases only a
// browser can follow through the browser engine. A browser per case makes
// all 279 too slow for CI; URLTRACKER_BROWSER_AGREEMENT_ALL=1 runs every
// case and prints the agreement per category.
func TestBrowserEngineAgreesWithChromiumTruth(t *testing.T) {
	e := engine(t, loopback, 2)
	truth, err := agreement.LoadTruth()
	if err != nil {
		t.Fatal(err)
	}
	all := os.Getenv("URLTRACKER_BROWSER_AGREEMENT_ALL") == "1"
	cases := agreement.Cases()
	var sample []agreement.Case
	for _, c := range cases {
		if c.BrowserOnly || all {
			sample = append(sample, c)
		}
	}
	srv := agreement.NewServer(cases)
	defer srv.Close()
	var mu sync.Mutex
	agreed, total := map[string]int{}, map[string]int{}
	// As many cases at once as the engine has browsers: a trace waiting
	// for a free browser spends its own timeout.
	free := make(chan struct{}, 2)
	var wg sync.WaitGroup
	for _, c := range sample {
		wg.Add(1)
		free <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-free }()
			check := e.Trace(context.Background(), tracer.Request{URL: c.StartURL(srv.URL)})
			got := strings.TrimPrefix(check.FinalURL, srv.URL)
			mu.Lock()
			defer mu.Unlock()
			total[c.Category]++
			if got != truth.Landings[c.Name] {
				t.Errorf("%s: browser engine lands on %s (%s %s), Chromium's truth is %s", c.Name, got, check.Verdict, check.Error, truth.Landings[c.Name])
				return
			}
			agreed[c.Category]++
		}()
	}
	wg.Wait()
	var sum int
	for _, cat := range slices.Sorted(maps.Keys(total)) {
		sum += agreed[cat]
		t.Logf("browser engine, %s: %d/%d", cat, agreed[cat], total[cat])
	}
	t.Logf("browser engine: %d/%d cases agree with truth.json", sum, len(sample))
}

// BenchmarkBrowserCheck reports the browser engine's time per check and the
// peak memory of its Chromium processes, for a two-hop chain.
func BenchmarkBrowserCheck(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/start" {
			fmt.Fprint(w, `<script>location.href = "/landing"</script>`)
			return
		}
		fmt.Fprint(w, "<h1>Offer</h1>")
	}))
	defer srv.Close()
	e := engine(b, loopback, 1)
	var peak int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				peak = max(peak, chromiumRSS())
			}
		}
	}()
	for b.Loop() {
		if c := e.Trace(context.Background(), tracer.Request{URL: srv.URL + "/start"}); !c.Success {
			b.Fatalf("verdict %s: %s", c.Verdict, c.Error)
		}
	}
	close(stop)
	<-done
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
}

// chromiumRSS sums the resident memory of the processes of the engine's
// browsers, found by their profile directory.
func chromiumRSS() int64 {
	var total int64
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(d + "/cmdline")
		if err != nil || !strings.Contains(string(cmd), "urltracker-chromium-") {
			continue
		}
		status, err := os.ReadFile(d + "/status")
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(status), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				total += kb << 10
			}
		}
	}
	return total
}
