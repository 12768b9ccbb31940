package agreement_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/urltracker/urltracker/internal/agreement"
	"github.com/urltracker/urltracker/tracer"
)

// minAgreement is the share of the cases a browser is not needed for on
// which the HTTP tracer must land where Chromium lands.
const minAgreement = 0.97

func loadTruth(t *testing.T, cases []agreement.Case) agreement.Truth {
	t.Helper()
	truth, err := agreement.LoadTruth()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if _, ok := truth.Landings[c.Name]; !ok {
			t.Fatalf("case %s has no landing in truth.json: run go run ./internal/browsertruth", c.Name)
		}
	}
	return truth
}

// TestHTTPEngineAgreesWithChromium traces every case with the HTTP tracer
// and compares where it lands with where Chromium landed.
func TestHTTPEngineAgreesWithChromium(t *testing.T) {
	cases := agreement.Cases()
	truth := loadTruth(t, cases)
	srv := agreement.NewServer(cases)
	defer srv.Close()
	tr := tracer.New(tracer.Config{
		AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Timeout:    10 * time.Second,
		HopTimeout: 5 * time.Second,
	})
	defer tr.CloseIdleConnections()

	type result struct {
		c     agreement.Case
		got   string
		agree bool
	}
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, c := range cases {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			check := tr.Trace(context.Background(), tracer.Request{URL: c.StartURL(srv.URL)})
			got := strings.TrimPrefix(check.FinalURL, srv.URL)
			results[i] = result{c: c, got: got, agree: got == truth.Landings[c.Name]}
		}()
	}
	wg.Wait()

	type tally struct{ agree, total int }
	perCategory := map[string]*tally{}
	var all, scored tally
	for _, r := range results {
		cat := perCategory[r.c.Category]
		if cat == nil {
			cat = &tally{}
			perCategory[r.c.Category] = cat
		}
		cat.total++
		all.total++
		if r.agree {
			cat.agree++
			all.agree++
		}
		if !r.c.BrowserOnly {
			scored.total++
			if r.agree {
				scored.agree++
			}
		}
		if !r.agree && !r.c.BrowserOnly {
			t.Logf("disagree %-40s tracer %s, chromium %s", r.c.Name, r.got, truth.Landings[r.c.Name])
		}
	}
	var summary strings.Builder
	for _, name := range agreement.Categories(cases) {
		c := perCategory[name]
		fmt.Fprintf(&summary, "  %-14s %3d/%-3d\n", name, c.agree, c.total)
	}
	t.Logf("HTTP engine lands where %s lands on %d/%d cases (%d/%d without the browser-only ones):\n%s",
		truth.Browser, all.agree, all.total, scored.agree, scored.total, summary.String())
	if share := float64(scored.agree) / float64(scored.total); share < minAgreement {
		t.Errorf("agreement %.1f%% is below %.0f%%", 100*share, 100*minAgreement)
	}
}

// TestTruthStillHolds re-runs a sample of the corpus in the Chromium on this
// machine, so that truth.json cannot drift from what a browser does.
func TestTruthStillHolds(t *testing.T) {
	path := chromiumPath(t)
	cases := agreement.Cases()
	truth := loadTruth(t, cases)
	// Every 12th case: a sample across all categories, in about 30 s.
	var sample []agreement.Case
	for i, c := range cases {
		if i%12 == 5 {
			sample = append(sample, c)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	browser, stop, err := agreement.StartChromium(ctx, path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	srv := agreement.NewServer(cases)
	defer srv.Close()
	landings, err := agreement.Landings(browser, srv.URL, sample, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sample {
		got, want := landings[c.Name], truth.Landings[c.Name]
		if got != want {
			// A starved renderer can miss a timer by seconds: one more try.
			if again, err := agreement.Landing(browserTab(t, browser), c.StartURL(srv.URL)); err == nil {
				got = strings.TrimPrefix(again, srv.URL)
			}
		}
		if got != want {
			t.Errorf("%s: Chromium now lands on %s, truth.json says %s: rerun go run ./internal/browsertruth", c.Name, got, want)
		}
	}
}

// browserTab opens a tab with its own cookies, closed after the test.
func browserTab(t *testing.T, browser context.Context) context.Context {
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return tab
}

// chromiumPath finds Debian's Chromium. Without it the test skips, unless
// URLTRACKER_REQUIRE_CHROMIUM=1 (as in CI) makes it fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("URLTRACKER_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium not found and URLTRACKER_REQUIRE_CHROMIUM=1: apt-get install -y chromium")
	}
	t.Skip("chromium not found: apt-get install -y chromium to run the browser tests")
	return ""
}
