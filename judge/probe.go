package judge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"hash/fnv"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/tracer"
)

// The missing-page probe is the classic soft-404 test: ask the landing's
// host for a sibling path that cannot exist. A host that answers it with
// the same page as the landing serves that page for anything. One probe
// per host and day, under the one User-Agent of every check.
const (
	probeTTL       = 24 * time.Hour
	probeFailedTTL = 10 * time.Minute // a probe that failed is tried again sooner
	probeTimeout   = 10 * time.Second
	maxProbedHosts = 4096
	// sameShingles is how much of the landing's text must be the missing
	// page's for the two to be the same page (Jaccard similarity of word
	// triples): pages that differ only in a date or a counter still are.
	sameShingles = 0.9
	maxShingles  = 4096
)

// probeResult is what a host answered for a path that cannot exist.
type probeResult struct {
	at  time.Time
	url string // the probe's URL
	// ok is false when the probe failed, or ended in anything but a 2xx
	// page: the host answers a missing page honestly.
	ok bool
	// failed: the probe timed out, so the next check tries again sooner.
	failed   bool
	finalURL string
	shingles map[uint64]bool
}

// probeCache keeps one probe result per host, bounded.
type probeCache struct {
	mu    sync.Mutex
	hosts map[string]probeResult
}

func newProbeCache() *probeCache { return &probeCache{hosts: map[string]probeResult{}} }

func (pc *probeCache) get(host string, now time.Time) (probeResult, bool) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	r, ok := pc.hosts[host]
	if !ok || now.Sub(r.at) >= r.ttl() {
		return probeResult{}, false
	}
	return r, true
}

func (pc *probeCache) put(host string, r probeResult) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if len(pc.hosts) >= maxProbedHosts {
		for h, old := range pc.hosts {
			if r.at.Sub(old.at) >= old.ttl() {
				delete(pc.hosts, h)
			}
		}
	}
	if len(pc.hosts) >= maxProbedHosts {
		// Still full of fresh results: forget one, any one.
		for h := range pc.hosts {
			delete(pc.hosts, h)
			break
		}
	}
	pc.hosts[host] = r
}

func (r probeResult) ttl() time.Duration {
	if r.failed {
		return probeFailedTTL
	}
	return probeTTL
}

// sameAsMissing returns the signal same_as_missing_page when the landing's
// host answers a path that cannot exist with the same page.
func (j *Judge) sameAsMissing(ctx context.Context, page *urltracker.Page, f facts) (urltracker.Signal, bool) {
	landing, err := url.Parse(page.URL)
	if err != nil || j.cfg.Tracer == nil {
		return urltracker.Signal{}, false
	}
	host := landing.Scheme + "://" + landing.Host
	now := j.cfg.Now()
	r, ok := j.probes.get(host, now)
	if !ok {
		r = j.probe(ctx, landing)
		r.at = now
		if ctx.Err() != nil {
			// Cut short by the check's own deadline: nothing learned.
			return urltracker.Signal{}, false
		}
		j.probes.put(host, r)
	}
	if !r.ok {
		return urltracker.Signal{}, false
	}
	sameURL := r.finalURL == page.URL
	if !sameURL && similarity(r.shingles, shingles(f)) < sameShingles {
		return urltracker.Signal{}, false
	}
	evidence := r.url + " (a page that cannot exist) shows the same page"
	if sameURL {
		evidence = r.url + " (a page that cannot exist) lands on the same URL"
	}
	return urltracker.Signal{Name: SignalSameAsMissingPage, Evidence: evidence}, true
}

// probe asks landing's host for a random sibling of landing's path.
func (j *Judge) probe(ctx context.Context, landing *url.URL) probeResult {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	dir := path.Dir(landing.Path)
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	u := url.URL{Scheme: landing.Scheme, Host: landing.Host, Path: dir + "urltracker-missing-" + hex.EncodeToString(b[:])}
	c := j.cfg.Tracer.Trace(ctx, tracer.Request{URL: u.String(), Timeout: probeTimeout})
	r := probeResult{url: u.String(), finalURL: c.FinalURL, failed: c.Verdict == urltracker.VerdictTimeout}
	if c.Verdict != urltracker.VerdictHealthy || c.Landing == nil {
		return r
	}
	r.ok = true
	r.shingles = shingles(readFacts(c.Landing.Body))
	return r
}

// shingles returns the hashes of the page's word triples, digits left out
// (dates, counters and ids differ from one answer to the next), with the
// title as one more.
func shingles(f facts) map[uint64]bool {
	words := strings.Fields(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return -1
		}
		return r
	}, f.text))
	set := map[uint64]bool{hash(normalize(f.title)): true}
	for i := 0; i+3 <= len(words) && len(set) < maxShingles; i++ {
		set[hash(strings.Join(words[i:i+3], " "))] = true
	}
	if len(words) < 3 {
		set[hash(strings.Join(words, " "))] = true
	}
	return set
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// similarity is the Jaccard similarity of two shingle sets.
func similarity(a, b map[uint64]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	common := 0
	for k := range a {
		if b[k] {
			common++
		}
	}
	return float64(common) / float64(len(a)+len(b)-common)
}
