package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

const benchToken = "bench-admin-token-0123456789abcdef"

// wrkScript sends webhooks to the offers whose tokens are listed, one per
// line, in the file args[1]: Zipf-distributed (the first token is the
// busiest) with a click id unique per thread, request and run; with
// probability args[3] a request repeats the thread's previous webhook, as
// Trackier does when it retries. done() prints how many repeats were
// answered as duplicates, so the harness can tell stored from acknowledged.
const wrkScript = `
local counter = 0
local threads = {}
local tokens = {}
local cum = {}
local last = nil
dupacked = 0
function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
function init(args)
  local f = assert(io.open(args[1], "r"))
  for line in f:lines() do table.insert(tokens, line) end
  f:close()
  run = args[2]
  duprate = tonumber(args[3])
  local total = 0
  for i = 1, #tokens do total = total + 1 / i; cum[i] = total end
  for i = 1, #tokens do cum[i] = cum[i] / total end
  math.randomseed(tid * 7919 + #run)
end
local function pick()
  local r = math.random()
  local lo, hi = 1, #cum
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cum[mid] < r then lo = mid + 1 else hi = mid end
  end
  return tokens[lo]
end
function request()
  if last ~= nil and math.random() < duprate then
    return last
  end
  counter = counter + 1
  last = wrk.format("GET", "/api/trackier-webhook?token=" .. pick() .. "&click_id=" .. run .. "-" .. tid .. "-" .. counter .. "&campaign_id=c1&publisher_id=p1&p1=sub")
  return last
end
function response(status, headers, body)
  if status == 200 and string.find(body, '"duplicate":true', 1, true) then
    dupacked = dupacked + 1
  end
end
function done(summary, latency, requests)
  local d = 0
  for _, t in ipairs(threads) do d = d + t:get("dupacked") end
  io.write("duplicates acknowledged: " .. d .. "\n")
end
`

// workload is one ingest load: how many offers share it and how often a
// webhook is a repeat.
type workload struct {
	name    string
	title   string
	offers  int
	dupRate float64
}

var (
	oneOffer = workload{name: "ingest", title: "one offer, unique click ids", offers: 1}
	mixLoad  = workload{name: "mix", title: "1,000 offers, Zipf-distributed traffic, 5 % repeated click ids", offers: 1000, dupRate: 0.05}
)

type side struct {
	rps, p50, p90, p99, errors, rssIdle, rssAfter, cpu []float64
	anonIdle, anonAfter                                []float64
}

func (s *side) add(r wrkResult, rssIdle, rssAfter, cpuCores float64) {
	s.rps = append(s.rps, r.rps)
	s.p50 = append(s.p50, r.p50)
	s.p90 = append(s.p90, r.p90)
	s.p99 = append(s.p99, r.p99)
	s.errors = append(s.errors, float64(r.non2xx+r.socketErrs))
	s.rssIdle = append(s.rssIdle, rssIdle)
	s.rssAfter = append(s.rssAfter, rssAfter)
	s.cpu = append(s.cpu, cpuCores)
}

func benchIngest(o options, tmp string, w workload, report io.Writer) error {
	script := filepath.Join(tmp, "webhook.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return err
	}
	if o.quick && w.offers > 100 {
		w.offers = 100
	}
	var base, ut side
	var ready, stored []float64
	for run := range o.runs {
		// Alternate the order so neither side always runs on a warmer machine.
		sides := []func() error{
			func() error { return ingestBaseline(o, tmp, script, w, run, &base) },
			func() error {
				r, s, err := ingestUrltracker(o, tmp, script, w, run, &ut)
				ready, stored = append(ready, r), append(stored, s)
				return err
			},
		}
		if run%2 == 1 {
			sides[0], sides[1] = sides[1], sides[0]
		}
		for _, f := range sides {
			if err := f(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(report, "### Durable webhook ingest (%s): %s\n\n", o.db, w.title)
	fmt.Fprintln(report, "| | requests/s | p50 ms | p90 ms | p99 ms | errors | RSS idle MB | RSS after load MB | CPU cores |")
	fmt.Fprintln(report, "|---|---|---|---|---|---|---|---|---|")
	row := func(name string, s side) {
		fmt.Fprintf(report, "| %s | %.0f | %.2f | %.2f | %.2f | %.0f | %.1f | %.1f | %.2f |\n", name,
			median(s.rps), median(s.p50), median(s.p90), median(s.p99), median(s.errors),
			median(s.rssIdle), median(s.rssAfter), median(s.cpu))
	}
	row("plain net/http handler", base)
	row("urltracker (event committed before 200)", ut)
	fmt.Fprintf(report, "\nRatio urltracker/plain: **%.2f×** (median of per-run requests/s: %s vs %s). Every acknowledged webhook stored: %s. Ready to serve after exec (migrations applied): %.1f ms median. Of urltracker's RSS, anonymous memory (heap, stacks, runtime) is %.1f MB idle and %.1f MB after the load; the rest are pages of its executable mapped from the page cache.\n\n",
		median(ut.rps)/median(base.rps), floats(ut.rps), floats(base.rps), storedText(stored), median(ready), median(ut.anonIdle), median(ut.anonAfter))
	if o.db == "postgres" {
		flush, err := pgCommitLatency(o.pgURL, 2*time.Second)
		if err != nil {
			return fmt.Errorf("fsync bound: %w", err)
		}
		// With at most conns webhooks in flight and one WAL flush per
		// batch, durable ingest cannot pass conns per flush.
		bound := float64(o.conns) / flush.Seconds()
		fmt.Fprintf(report, "Fsync bound: one committed single-row insert (one WAL flush) takes %.2f ms median on one connection, so %d webhooks in flight can be stored at most %.0f/s; urltracker reaches **%.0f %%** of it.\n\n",
			float64(flush.Microseconds())/1000, o.conns, bound, 100*median(ut.rps)/bound)
	}
	for _, m := range stored {
		if m != 0 {
			return fmt.Errorf("acknowledged webhooks missing from the database: %s", floats(stored))
		}
	}
	return nil
}

// tokensFile writes the tokens the load spreads over, one per line.
func tokensFile(dir string, tokens []string) (string, error) {
	f, err := os.CreateTemp(dir, "tokens-*.txt")
	if err != nil {
		return "", err
	}
	defer f.Close()
	for _, t := range tokens {
		if _, err := fmt.Fprintln(f, t); err != nil {
			return "", err
		}
	}
	return f.Name(), f.Close()
}

func floats(xs []float64) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ", "
		}
		s += strconv.FormatFloat(x, 'f', 0, 64)
	}
	return s
}

func storedText(missing []float64) string {
	for _, m := range missing {
		if m != 0 {
			return fmt.Sprintf("NO (missing per run: %s)", floats(missing))
		}
	}
	return "yes"
}

func ingestBaseline(o options, tmp, script string, w workload, run int, s *side) error {
	fake := make([]string, w.offers)
	for i := range fake {
		fake[i] = fmt.Sprintf("baseline-token-%d", i)
	}
	tokens, err := tokensFile(tmp, fake)
	if err != nil {
		return err
	}
	addr := freeAddr()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	p, _, err := startProc(self, []string{"-serve-baseline", addr}, nil, addr, "/")
	if err != nil {
		return err
	}
	defer p.stop()
	time.Sleep(500 * time.Millisecond)
	pid := p.cmd.Process.Pid
	idle := rssMB(pid)
	cpu0 := cpuSeconds(pid)
	start := time.Now()
	r, _, err := runWrk(context.Background(), o, "http://"+addr, script, tokens, "b"+strconv.Itoa(run), strconv.FormatFloat(w.dupRate, 'f', 3, 64))
	if err != nil {
		return err
	}
	s.add(r, idle, rssMB(pid), (cpuSeconds(pid)-cpu0)/time.Since(start).Seconds())
	return nil
}

// ingestUrltracker runs one load against a fresh urltracker and returns the
// start-up time (exec to ready, migrations applied) and the number of
// acknowledged webhooks that are missing from the database.
func ingestUrltracker(o options, tmp, script string, w workload, run int, s *side) (readyMS, missing float64, err error) {
	dir, err := os.MkdirTemp(tmp, "ingest-")
	if err != nil {
		return 0, 0, err
	}
	env := []string{
		"URLTRACKER_ADMIN_TOKEN=" + benchToken,
		"URLTRACKER_DRAIN_DELAY=0s",
		"URLTRACKER_LOG_LEVEL=warn",
		"URLTRACKER_INSTANCE=bench",
		"URLTRACKER_TRACE_ALLOW_CIDRS=127.0.0.0/8",
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "<!doctype html><title>landing</title>")
	}))
	defer upstream.Close()
	upstreamURL := upstream.URL + "/landing"
	if o.db == "postgres" {
		schema := fmt.Sprintf("bench_%d_%d", os.Getpid(), run)
		url, cleanup, err := pgSchema(o.pgURL, schema)
		if err != nil {
			return 0, 0, err
		}
		defer cleanup()
		env = append(env, "URLTRACKER_DATABASE_URL="+url)
	} else {
		env = append(env, "URLTRACKER_DATABASE_URL=sqlite:"+filepath.Join(dir, "urltracker.db"))
	}
	addr := freeAddr()
	env = append(env, "URLTRACKER_ADDR="+addr)
	profAddr := ""
	if o.profile != "" && run == 0 {
		profAddr = freeAddr()
		env = append(env, "BENCH_PPROF_ADDR="+profAddr)
	}
	// First start applies the migrations; the measured start is the second.
	first, _, err := startProc(o.bin, []string{"serve"}, env, addr, "/readyz")
	if err != nil {
		return 0, 0, err
	}
	first.stop()
	p, ready, err := startProc(o.bin, []string{"serve"}, env, addr, "/readyz")
	if err != nil {
		return 0, 0, err
	}
	defer p.stop()
	base := "http://" + addr
	// Real, enabled offers: the first webhook of an interval schedules the
	// offer's check (against a local upstream), the others are debounced.
	created := make([]string, 0, w.offers)
	for i := range w.offers {
		var offer struct {
			WebhookToken string `json:"webhook_token"`
		}
		if err := postJSON(base+"/api/offers", benchToken, map[string]any{"name": fmt.Sprintf("bench-%d", i), "url": upstreamURL}, &offer); err != nil {
			return 0, 0, err
		}
		created = append(created, offer.WebhookToken)
	}
	tokens, err := tokensFile(dir, created)
	if err != nil {
		return 0, 0, err
	}
	// Steady state: every offer has had the check its first webhook
	// schedules, as in a service that has been running, so the load below
	// measures ingest rather than a burst of 1,000 first checks.
	warm, err := warmUp(base, created)
	if err != nil {
		return 0, 0, err
	}
	time.Sleep(time.Second)
	pid := p.cmd.Process.Pid
	idle, anonIdle := rssMB(pid), anonMB(pid)
	cpu0 := cpuSeconds(pid)
	start := time.Now()
	var profiled <-chan error
	if profAddr != "" {
		profiled = fetchProfile(profAddr, fmt.Sprintf("/debug/pprof/profile?seconds=%d", max(1, int(o.duration.Seconds())-1)),
			filepath.Join(o.profile, fmt.Sprintf("cpu-%s-%s.pprof", o.db, w.name)))
	}
	r, _, err := runWrk(context.Background(), o, base, script, tokens, "u"+strconv.Itoa(run), strconv.FormatFloat(w.dupRate, 'f', 3, 64))
	if err != nil {
		return 0, 0, err
	}
	s.add(r, idle, rssMB(pid), (cpuSeconds(pid)-cpu0)/time.Since(start).Seconds())
	s.anonIdle, s.anonAfter = append(s.anonIdle, anonIdle), append(s.anonAfter, anonMB(pid))
	if profiled != nil {
		if err := <-profiled; err != nil {
			return 0, 0, err
		}
		if err := <-fetchProfile(profAddr, "/debug/pprof/allocs", filepath.Join(o.profile, fmt.Sprintf("allocs-%s-%s.pprof", o.db, w.name))); err != nil {
			return 0, 0, err
		}
	}
	var st struct {
		Offers []struct {
			WebhookCount int `json:"webhook_count"`
		} `json:"offers"`
	}
	if err := getJSON(base+"/api/trackier-status", benchToken, &st); err != nil {
		return 0, 0, err
	}
	stored := 0
	for _, o := range st.Offers {
		stored += o.WebhookCount
	}
	if len(st.Offers) != w.offers {
		return 0, 0, fmt.Errorf("status lists %d offers, want %d", len(st.Offers), w.offers)
	}
	acked := r.requests - r.non2xx - r.duplicates + warm
	missing = float64(acked - stored)
	if missing < 0 {
		missing = 0 // requests cut at the end of the run may be stored but not counted by wrk
	}
	return float64(ready.Microseconds()) / 1000, missing, nil
}

// warmUp sends one webhook to each offer and waits until every offer has
// been checked once. It returns how many webhooks it sent.
func warmUp(base string, tokens []string) (int, error) {
	client := &http.Client{Timeout: 30 * time.Second}
	for i, t := range tokens {
		resp, err := client.Get(fmt.Sprintf("%s/api/trackier-webhook?token=%s&click_id=warm-%d&campaign_id=c1", base, t, i))
		if err != nil {
			return 0, fmt.Errorf("warm-up webhook: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("warm-up webhook: status %d", resp.StatusCode)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var st struct {
			Offers []struct {
				LastCheckAt *time.Time `json:"last_check_at"`
			} `json:"offers"`
		}
		if err := getJSON(base+"/api/trackier-status", benchToken, &st); err != nil {
			return 0, err
		}
		unchecked := 0
		for _, o := range st.Offers {
			if o.LastCheckAt == nil {
				unchecked++
			}
		}
		if unchecked == 0 {
			return len(tokens), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("warm-up: %d of %d offers still unchecked after 2 minutes", unchecked, len(tokens))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fetchProfile saves a pprof profile from the profiling build's listener.
func fetchProfile(addr, path, file string) <-chan error {
	done := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Timeout: 2 * time.Minute}).Get("http://" + addr + path)
		if err != nil {
			done <- fmt.Errorf("profile %s: %w", path, err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("profile %s: status %d", path, resp.StatusCode)
			return
		}
		f, err := os.Create(file)
		if err != nil {
			done <- err
			return
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			done <- err
			return
		}
		done <- f.Close()
	}()
	return done
}
