package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, to read the checks
)

// A gap between two checks of an offer longer than the interval plus
// scheduleTick plus scheduleSlack counts as a miss. scheduleTick is the
// scheduler's period the issue allowed for (5 s; it runs every second since),
// kept so that runs before and after compare.
const (
	scheduleTick  = 5 * time.Second
	scheduleSlack = 5 * time.Second
)

// defaultSchedWorkers is the instances' URLTRACKER_CHECK_CONCURRENCY.
const defaultSchedWorkers = 32

// instance is one started urltracker of the fleet under test.
type instance struct {
	p    *proc
	base string
}

func (in instance) pid() int { return in.p.cmd.Process.Pid }

// usage is what one instance spent over a phase.
type usage struct {
	cpu    float64 // seconds, user+system
	checks float64 // urltracker_checks_total delta
}

// benchSchedule measures the scheduler: N offers checked every S on a fleet
// sharing one database (3 instances on PostgreSQL, 1 on SQLite), upstreams
// answering at once. The report gives checks expected and made, duplicates
// and misses, each instance's CPU and RSS, and the time the scheduler's
// passes took.
//
// Method: the same processes run two phases. Idle: offers exist, none is
// due; River's background (polling, leader election, empty scheduler
// passes) is all that runs. Scheduled: every offer has check_every_seconds
// = S; after a warm-up in which every offer is checked once, a window of
// several intervals is measured. The scheduler's own cost is read from
// River's job table: each pass is a job whose start and end bound the CPU
// it used, as it runs on one goroutine.
//
// label names the binary in the report's title ("before", "after") when a
// run compares two.
func benchSchedule(o options, bin, label, tmp string, report io.Writer) error {
	n, every := o.schedOffers, o.schedEvery
	window := o.schedWindow
	if window <= 0 {
		window = 3 * every
	}
	fleet := o.schedInstances
	if fleet <= 0 {
		fleet = 1
		if o.db == "postgres" {
			fleet = 3
		}
	}
	if o.db != "postgres" && fleet > 1 {
		return fmt.Errorf("SQLite runs one instance, not %d", fleet)
	}
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<!doctype html><html><head><title>Spring sale</title></head><body><h1>Spring sale</h1><p>Shoes and bags at half price until Sunday.</p></body></html>")
	}))
	defer upstream.Close()
	dir, err := os.MkdirTemp(tmp, "schedule-")
	if err != nil {
		return err
	}
	env := []string{
		"URLTRACKER_ADMIN_TOKEN=" + benchToken,
		"URLTRACKER_DRAIN_DELAY=0s",
		"URLTRACKER_LOG_LEVEL=warn",
		"URLTRACKER_TRACE_ALLOW_CIDRS=127.0.0.0/8",
		// River fetches at most once per 100 ms (its fetch cooldown), so an
		// instance runs at most this many checks per 100 ms however fast the
		// upstream: the default 8 caps it at 80 checks/s.
		fmt.Sprintf("URLTRACKER_CHECK_CONCURRENCY=%d", o.schedWorkers),
	}
	var dbURL, readURL, driver string
	if o.db == "postgres" {
		url, cleanup, err := pgSchema(o.pgURL, fmt.Sprintf("bench_sched_%d_%s", os.Getpid(), time.Now().Format("150405")))
		if err != nil {
			return err
		}
		defer cleanup()
		dbURL, readURL, driver = url, url, "pgx"
	} else {
		path := filepath.Join(dir, "urltracker.db")
		dbURL, readURL, driver = "sqlite:"+path, "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)", "sqlite"
	}
	env = append(env, "URLTRACKER_DATABASE_URL="+dbURL)
	var fleetProcs []instance
	defer func() {
		for _, in := range fleetProcs {
			in.p.stop()
		}
	}()
	for i := range fleet {
		addr := freeAddr()
		p, _, err := startProc(bin, []string{"serve"}, append(env, "URLTRACKER_ADDR="+addr, fmt.Sprintf("URLTRACKER_INSTANCE=sched-%d", i+1)), addr, "/readyz")
		if err != nil {
			return err
		}
		fleetProcs = append(fleetProcs, instance{p: p, base: "http://" + addr})
	}
	read, err := sql.Open(driver, readURL)
	if err != nil {
		return err
	}
	defer read.Close()

	// Offers are created without a schedule, so that the idle phase has
	// nothing due; the update interval (the debounce) is half the check
	// interval, so that it never delays a scheduled check.
	if label != "" {
		label = " " + label
	}
	start := time.Now()
	ids, err := createOffers(fleetProcs, n, upstream.URL+"/sale", int(every.Seconds())/2)
	if err != nil {
		return err
	}
	createdIn := time.Since(start)
	fmt.Fprintf(os.Stderr, "schedule%s: %d offers created in %s\n", label, n, createdIn.Round(time.Millisecond))

	idleDur := 15 * time.Second
	idleFrom := time.Now()
	idle := measure(fleetProcs, func() error { time.Sleep(idleDur); return nil })
	idleTo := time.Now()

	// Scheduled phase: every offer is due at once; the warm-up lasts until
	// each has been checked, then one more interval lets the first pass's
	// burst spread out as it would in a fleet that has been running.
	if err := patchOffers(fleetProcs, ids, map[string]any{"check_every_seconds": int(every.Seconds())}); err != nil {
		return err
	}
	warm := time.Now()
	for {
		var checked int
		if err := read.QueryRow(`SELECT COUNT(DISTINCT offer_id) FROM checks`).Scan(&checked); err != nil {
			return fmt.Errorf("count checked offers: %w", err)
		}
		if checked >= n {
			break
		}
		if time.Since(warm) > 10*every+time.Minute {
			return fmt.Errorf("warm-up: %d of %d offers checked after %s", checked, n, time.Since(warm).Round(time.Second))
		}
		time.Sleep(time.Second)
	}
	firstPass := time.Since(warm)
	fmt.Fprintf(os.Stderr, "schedule%s: first pass over %d offers took %s\n", label, n, firstPass.Round(time.Second))
	time.Sleep(every)
	fmt.Fprintf(os.Stderr, "schedule%s: measuring %s\n", label, window)
	t0 := time.Now()
	sched := measure(fleetProcs, func() error { time.Sleep(window); return nil })
	t1 := time.Now()
	rss := make([]float64, len(fleetProcs))
	for i, in := range fleetProcs {
		rss[i] = rssMB(in.pid())
	}
	q, err := checkQuality(read, ids, t0, t1, every)
	if err != nil {
		return err
	}

	passes, err := schedulerPasses(read, driver)
	if err != nil {
		return err
	}
	idlePasses, winPasses := passesIn(passes, idleFrom, idleTo), passesIn(passes, t0, t1)
	rate := float64(n) / every.Seconds()

	if label != "" {
		label = "," + label
	}
	fmt.Fprintf(report, "#### %s, %d instance%s%s\n\n", o.db, fleet, plural(fleet), label)
	fmt.Fprintf(report, "Run %s on %s, %d cores: `go run ./bench %s`. "+
		"%d offers created through the API in %.1f s; the first pass (every offer due at once) took %.0f s; then one interval of settling and a window of %s (%.1f intervals).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), hostCPU(), runtime.NumCPU(), strings.Join(os.Args[1:], " "),
		n, createdIn.Seconds(), firstPass.Seconds(), window, window.Seconds()/every.Seconds())
	fmt.Fprintln(report, "| offers | interval | instances | window | checks expected | checks made | offers checked | duplicates | misses | gap p50 / p99 / max s |")
	fmt.Fprintln(report, "|---|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(report, "| %d | %s | %d | %s | %.0f | %d | %d | %d | %d | %.1f / %.1f / %.1f |\n\n",
		n, every, fleet, window, float64(n)*window.Seconds()/every.Seconds(), q.checks, q.checked, q.duplicates, q.misses,
		q.gapP50, q.gapP99, q.gapMax)
	fmt.Fprintf(report, "A duplicate is a check less than %s after the offer's previous one; a miss is a gap longer than %s (interval + scheduler tick %s + %s slack) or an offer with no check in the window.\n\n",
		every/2, every+scheduleTick+scheduleSlack, scheduleTick, scheduleSlack)
	// Every instance runs checks the same way; only the leader schedules.
	// The lowest CPU per check (idle removed) in the fleet is the checks'
	// cost, and what an instance spends above it is its scheduling (0 on
	// the followers, give or take the noise).
	busy := make([]float64, len(fleetProcs)) // CPU seconds beyond idle
	lowest := -1.0
	for i := range fleetProcs {
		busy[i] = sched[i].cpu - idle[i].cpu/idleDur.Seconds()*window.Seconds()
		if sched[i].checks > 0 && (lowest < 0 || busy[i]/sched[i].checks < lowest) {
			lowest = busy[i] / sched[i].checks
		}
	}
	fmt.Fprintln(report, "| instance | checks in window | CPU % core | idle CPU % core | CPU per check ms (idle removed) | above the fleet's lowest per check, % core | RSS MB |")
	fmt.Fprintln(report, "|---|---|---|---|---|---|---|")
	for i := range fleetProcs {
		perCheck, above := 0.0, "n/a (one instance)"
		if sched[i].checks > 0 {
			perCheck = 1000 * busy[i] / sched[i].checks
		}
		if len(fleetProcs) > 1 {
			above = fmt.Sprintf("%.2f", 100*(busy[i]-sched[i].checks*lowest)/window.Seconds())
		}
		fmt.Fprintf(report, "| %d | %.0f | %.1f | %.1f | %.2f | %s | %.1f |\n",
			i+1, sched[i].checks, 100*sched[i].cpu/window.Seconds(), 100*idle[i].cpu/idleDur.Seconds(), perCheck, above, rss[i])
	}
	// A pass runs on one goroutine of the leader and mostly waits for the
	// database; the time from its start to its end bounds the CPU it used.
	const targetRate = 100000.0 / 3600 // the target: 100,000 offers checked hourly
	idleEach := idlePasses.mean()
	projected := 100 * (idleEach/scheduleTickOf(idlePasses, idleDur) + (winPasses.total-float64(winPasses.count)*idleEach)/window.Seconds()*targetRate/rate)
	fmt.Fprintf(report, "\nScheduler passes (River job `schedule_checks`, start to end): %d in the window, %.2f s in all, mean %.1f ms; "+
		"**%.2f %% of the window**, an upper bound on the scheduler's own CPU on the leader. With nothing due: %d passes in %s, mean %.1f ms. "+
		"Scaled to 100,000 offers hourly (%.1f due per second against %.1f here; the empty-pass part kept as it is): **%.2f %% of a core**.\n\n",
		winPasses.count, winPasses.total, 1000*winPasses.mean(), 100*winPasses.total/window.Seconds(),
		idlePasses.count, idleDur, 1000*idleEach, targetRate, rate, projected)
	return nil
}

// scheduleMarkers names the markers the schedule report goes between: a
// run with another check concurrency than the default has its own.
func scheduleMarkers(o options) string {
	if o.schedWorkers != defaultSchedWorkers {
		return fmt.Sprintf("schedule-%s-c%d", o.db, o.schedWorkers)
	}
	return "schedule-" + o.db
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// pass is one run of the scheduler: when it started and how long it took.
type pass struct {
	at  time.Time
	dur float64 // seconds
}

// passStats sums the passes of one phase.
type passStats struct {
	count int
	total float64 // seconds
}

func (p passStats) mean() float64 {
	if p.count == 0 {
		return 0
	}
	return p.total / float64(p.count)
}

// scheduleTickOf is the time between passes in a phase: the phase's length
// over its passes.
func scheduleTickOf(p passStats, d time.Duration) float64 {
	if p.count == 0 {
		return d.Seconds()
	}
	return d.Seconds() / float64(p.count)
}

func passesIn(passes []pass, from, to time.Time) passStats {
	var s passStats
	for _, p := range passes {
		if !p.at.Before(from) && p.at.Before(to) {
			s.count++
			s.total += p.dur
		}
	}
	return s
}

// schedulerPasses reads every finished pass of the scheduler from River's
// job table.
func schedulerPasses(db *sql.DB, driver string) ([]pass, error) {
	query := `SELECT EXTRACT(EPOCH FROM attempted_at)::float8, EXTRACT(EPOCH FROM finalized_at - attempted_at)::float8
		FROM river_job WHERE kind = 'schedule_checks' AND finalized_at IS NOT NULL AND attempted_at IS NOT NULL`
	if driver == "sqlite" {
		query = `SELECT (julianday(attempted_at) - 2440587.5) * 86400.0, (julianday(finalized_at) - julianday(attempted_at)) * 86400.0
			FROM river_job WHERE kind = 'schedule_checks' AND finalized_at IS NOT NULL AND attempted_at IS NOT NULL`
	}
	rows, err := db.Query(query)
	if err != nil {
		return nil, fmt.Errorf("read scheduler passes: %w", err)
	}
	defer rows.Close()
	var out []pass
	for rows.Next() {
		var at, dur sql.NullFloat64
		if err := rows.Scan(&at, &dur); err != nil {
			return nil, fmt.Errorf("read scheduler passes: %w", err)
		}
		if !at.Valid || !dur.Valid {
			return nil, errors.New("read scheduler passes: River's timestamps did not parse")
		}
		out = append(out, pass{at: time.Unix(0, int64(at.Float64*1e9)), dur: dur.Float64})
	}
	return out, rows.Err()
}

// measure runs phase and returns each instance's CPU and checks over it.
func measure(fleet []instance, phase func() error) []usage {
	before := make([]usage, len(fleet))
	for i, in := range fleet {
		before[i] = usage{cpu: cpuSeconds(in.pid()), checks: checksTotal(in.base)}
	}
	if err := phase(); err != nil {
		fmt.Fprintln(os.Stderr, "schedule:", err)
	}
	out := make([]usage, len(fleet))
	for i, in := range fleet {
		out[i] = usage{cpu: cpuSeconds(in.pid()) - before[i].cpu, checks: checksTotal(in.base) - before[i].checks}
	}
	return out
}

// checksTotal sums urltracker_checks_total over verdicts from /metrics.
func checksTotal(base string) float64 {
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "urltracker_checks_total{") {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		total += v
	}
	return total
}

// parallel runs f(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					next.Store(int64(n)) // stop the others
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// createOffers creates n enabled offers with no schedule through the API,
// spread over the fleet's instances, and returns their ids.
func createOffers(fleet []instance, n int, url string, updateInterval int) ([]int64, error) {
	ids := make([]int64, n)
	err := parallel(n, 16, func(i int) error {
		var offer struct {
			ID int64 `json:"id"`
		}
		body := map[string]any{"name": fmt.Sprintf("sched-%d", i), "url": url, "update_interval_seconds": updateInterval,
			"check_every_seconds": 0}
		if err := postJSON(fleet[i%len(fleet)].base+"/api/offers", benchToken, body, &offer); err != nil {
			return err
		}
		ids[i] = offer.ID
		return nil
	})
	return ids, err
}

// patchOffers applies the same change to every offer through the API.
func patchOffers(fleet []instance, ids []int64, change map[string]any) error {
	return parallel(len(ids), 16, func(i int) error {
		return sendJSON("PATCH", fmt.Sprintf("%s/api/offers/%d", fleet[i%len(fleet)].base, ids[i]), benchToken, change, nil)
	})
}

// quality is what the checks table says about one window.
type quality struct {
	checks, checked, duplicates, misses int
	gapP50, gapP99, gapMax              float64 // seconds
}

// checkQuality reads every check of the offers up to t1 and counts, in
// [t0, t1], the checks, the duplicates (a check closer than every/2 to the
// offer's previous one) and the misses (a gap, including the one from the
// last check before t0 and the one up to t1, longer than every + tick +
// slack; or no check in the window).
func checkQuality(db *sql.DB, ids []int64, t0, t1 time.Time, every time.Duration) (quality, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Every check up to t1: the last one before t0 opens the first gap.
	rows, err := db.QueryContext(ctx, `SELECT offer_id, started_at FROM checks ORDER BY offer_id, started_at`)
	if err != nil {
		return quality{}, fmt.Errorf("read checks: %w", err)
	}
	byOffer := map[int64][]int64{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return quality{}, err
		}
		if at <= t1.UnixMicro() {
			byOffer[id] = append(byOffer[id], at)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return quality{}, err
	}
	var q quality
	var gaps []float64
	dup := (every / 2).Microseconds()
	miss := (every + scheduleTick + scheduleSlack).Microseconds()
	from, to := t0.UnixMicro(), t1.UnixMicro()
	for _, id := range ids {
		ats := byOffer[id]
		prev := int64(-1)
		in := 0
		for _, at := range ats {
			if at >= from {
				in++
				if prev >= 0 {
					gap := at - prev
					gaps = append(gaps, float64(gap)/1e6)
					if gap < dup {
						q.duplicates++
					}
					if gap > miss {
						q.misses++
					}
				}
			}
			prev = at
		}
		q.checks += in
		switch {
		case in == 0:
			q.misses++
		case to-prev > miss:
			q.misses++
		}
		if in > 0 {
			q.checked++
		}
	}
	sort.Float64s(gaps)
	if len(gaps) > 0 {
		q.gapP50, q.gapP99, q.gapMax = gaps[len(gaps)/2], gaps[len(gaps)*99/100], gaps[len(gaps)-1]
	}
	return q, nil
}
