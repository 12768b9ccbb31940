// Command bench measures urltracker on this machine: durable webhook ingest
// against a plain net/http handler in the same run (with wrk), memory and
// start-up time, 1,000 checks against hung upstreams, and tracer hops/s.
//
//	go run ./bench                        # everything, SQLite, medians of 3 runs
//	go run ./bench -db postgres -scenarios ingest
//	go run ./bench -write docs/PERFORMANCE.md
//
// It only ever sends traffic to loopback.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker/internal/jsonenc"
)

type options struct {
	bin       string
	duration  time.Duration
	conns     int
	runs      int
	scenarios string
	db        string
	pgURL     string
	write     string
	hung      int
	quick     bool
	profile   string

	schedOffers    int
	schedEvery     time.Duration
	schedWindow    time.Duration
	schedInstances int
	schedBefore    string
	schedWorkers   int
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "-serve-baseline" {
		serveBaseline(os.Args[2])
		return
	}
	var o options
	flag.StringVar(&o.bin, "bin", "", "urltracker binary (default: go build ./cmd/urltracker into a temp dir)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each load run")
	flag.IntVar(&o.conns, "conns", 50, "concurrent connections of the load generator")
	flag.IntVar(&o.runs, "runs", 3, "runs per scenario; medians are reported")
	flag.StringVar(&o.scenarios, "scenarios", "ingest,mix,hung,tracer", "comma-separated: ingest (one offer), mix (1,000 offers, Zipf, 5 % repeats), hung, tracer, schedule (10,000 offers checked every minute; not in the default run)")
	flag.StringVar(&o.db, "db", "sqlite", "sqlite or postgres")
	flag.StringVar(&o.pgURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "PostgreSQL URL for -db postgres")
	flag.StringVar(&o.write, "write", "", "also write the results into this Markdown file between bench markers")
	flag.IntVar(&o.hung, "hung", 1000, "checks in the hung-upstream scenario")
	flag.StringVar(&o.profile, "profile", "", "write CPU and allocation profiles of urltracker's first ingest run of each workload into this directory (builds with -tags pprof; a -bin must be built so)")
	flag.IntVar(&o.schedOffers, "sched-offers", 10000, "offers in the schedule scenario")
	flag.DurationVar(&o.schedEvery, "sched-every", time.Minute, "check_every_seconds of the schedule scenario's offers")
	flag.DurationVar(&o.schedWindow, "sched-window", 0, "measured window of the schedule scenario (default 3 intervals)")
	flag.IntVar(&o.schedInstances, "sched-instances", 0, "instances in the schedule scenario (default 3 on PostgreSQL, 1 on SQLite)")
	flag.IntVar(&o.schedWorkers, "sched-concurrency", defaultSchedWorkers, "URLTRACKER_CHECK_CONCURRENCY of the schedule scenario's instances")
	flag.StringVar(&o.schedBefore, "sched-before", "", "also run the schedule scenario with this urltracker binary first, for a before/after comparison in one run")
	flag.BoolVar(&o.quick, "quick", false, "a short run for CI (2 s loads, 1 run, ingest and mix with 100 offers): fails unless every acknowledged webhook is stored")
	flag.Parse()
	if o.quick {
		o.duration, o.runs, o.hung = 2*time.Second, 1, 50
		if !isFlagSet("scenarios") {
			o.scenarios = "ingest,mix"
		}
	}
	if err := benchMain(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func benchMain(o options) error {
	if _, err := exec.LookPath("wrk"); err != nil && (strings.Contains(o.scenarios, "ingest") || strings.Contains(o.scenarios, "mix")) {
		return errors.New("wrk not found: apt-get install -y wrk")
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return fmt.Errorf("profile directory: %w", err)
		}
	}
	tmp, err := os.MkdirTemp("", "urltracker-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if o.bin == "" {
		o.bin = filepath.Join(tmp, "urltracker")
		args := []string{"build", "-o", o.bin}
		if o.profile != "" {
			args = append(args, "-tags", "pprof")
		}
		build := exec.Command("go", append(args, "./cmd/urltracker")...)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build: %w", err)
		}
	}
	// The schedule scenario has its own markers: it runs apart from the
	// others (it takes minutes) and must not erase their figures.
	var report, schedReport bytes.Buffer
	fmt.Fprintf(&report, "Run %s on %s, %d cores (GOMAXPROCS %d), %s; load: wrk, %d connections, %s per run, median of %d runs.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), hostCPU(), runtime.NumCPU(), runtime.GOMAXPROCS(0), o.db, o.conns, o.duration, o.runs)
	others := false // whether a scenario other than schedule ran
	for _, s := range strings.Split(o.scenarios, ",") {
		var err error
		others = others || strings.TrimSpace(s) != "schedule"
		switch strings.TrimSpace(s) {
		case "ingest":
			err = benchIngest(o, tmp, oneOffer, &report)
		case "mix":
			err = benchIngest(o, tmp, mixLoad, &report)
		case "hung":
			err = benchHung(o, tmp, &report)
		case "tracer":
			err = benchTracer(o, &report)
		case "schedule":
			label := ""
			if o.schedBefore != "" {
				label = "after"
				err = benchSchedule(o, o.schedBefore, "before", tmp, &schedReport)
			}
			if err == nil {
				err = benchSchedule(o, o.bin, label, tmp, &schedReport)
			}
		default:
			err = fmt.Errorf("unknown scenario %q", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	for _, r := range []struct {
		markers string
		ran     bool
		text    string
	}{{o.db, others, report.String()}, {scheduleMarkers(o), schedReport.Len() > 0, schedReport.String()}} {
		if !r.ran {
			continue
		}
		fmt.Print(r.text)
		if o.write != "" {
			if err := writeBetweenMarkers(o.write, r.markers, r.text); err != nil {
				return err
			}
		}
	}
	return nil
}

// isFlagSet tells whether the command line set the flag.
func isFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// serveBaseline is the ceiling: a plain net/http handler that only answers.
func serveBaseline(addr string) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"success":true}`)
	})
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// proc is a started server process.
type proc struct {
	cmd  *exec.Cmd
	addr string
	logs *bytes.Buffer
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func startProc(name string, args []string, env []string, addr, readyPath string) (*proc, time.Duration, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	p := &proc{cmd: cmd, addr: addr, logs: logs}
	client := &http.Client{Timeout: time.Second}
	for time.Since(start) < 30*time.Second {
		resp, err := client.Get("http://" + addr + readyPath)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, time.Since(start), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	p.stop()
	return nil, 0, fmt.Errorf("%s did not become ready: %s", name, logs.String())
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// rssMB reads the resident set size of pid.
func rssMB(pid int) float64 { return statusMB(pid, "VmRSS:") }

// anonMB reads the anonymous part of pid's resident set: heap, stacks and
// runtime memory, without the pages of the executable the kernel maps from
// the page cache.
func anonMB(pid int) float64 { return statusMB(pid, "RssAnon:") }

func statusMB(pid int, field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return -1
}

// cpuSeconds reads user+system CPU time of pid.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // USER_HZ is 100 on Linux
}

func hostCPU() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func getJSON(url, token string, v any) error {
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func postJSON(url, token string, body any, v any) error {
	return sendJSON("POST", url, token, body, v)
}

// sendJSON sends body as JSON with method and decodes the answer into v
// unless v is nil.
func sendJSON(method, url, token string, body any, v any) error {
	b, err := jsonenc.Marshal(body)
	if err != nil {
		return err
	}
	req, _ := http.NewRequest(method, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		out, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	if v == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

var bench markers = markers{begin: "<!-- bench:%s:begin -->", end: "<!-- bench:%s:end -->"}

type markers struct{ begin, end string }

// writeBetweenMarkers replaces the text between this database's markers in
// file with the report, so the docs carry only figures a run produced.
func writeBetweenMarkers(file, db, report string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	begin, end := fmt.Sprintf(bench.begin, db), fmt.Sprintf(bench.end, db)
	s := string(b)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s … %s markers", file, begin, end)
	}
	s = s[:i+len(begin)] + "\n" + report + s[j:]
	return os.WriteFile(file, []byte(s), 0o644)
}

// wrkResult is what one wrk run reported.
type wrkResult struct {
	rps              float64
	p50, p90, p99    float64 // milliseconds
	requests, non2xx int
	socketErrs       int
	duplicates       int // 200 answers that said "duplicate":true
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reReqs    = regexp.MustCompile(`(\d+) requests in`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	reDups    = regexp.MustCompile(`duplicates acknowledged: (\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	rePct     = regexp.MustCompile(`^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$`)
)

func runWrk(ctx context.Context, o options, url, script string, args ...string) (wrkResult, string, error) {
	cmdArgs := []string{"-t2", "-c" + strconv.Itoa(o.conns), "-d" + o.duration.String(), "--latency", "-s", script, url, "--"}
	cmd := exec.CommandContext(ctx, "wrk", append(cmdArgs, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, string(out), fmt.Errorf("wrk: %w: %s", err, out)
	}
	var r wrkResult
	text := string(out)
	if m := reRPS.FindStringSubmatch(text); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := reReqs.FindStringSubmatch(text); m != nil {
		r.requests, _ = strconv.Atoi(m[1])
	}
	if m := reNon2xx.FindStringSubmatch(text); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := reDups.FindStringSubmatch(text); m != nil {
		r.duplicates, _ = strconv.Atoi(m[1])
	}
	if m := reSockErr.FindStringSubmatch(text); m != nil {
		for _, v := range m[1:] {
			n, _ := strconv.Atoi(v)
			r.socketErrs += n
		}
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		m := rePct.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		switch m[1] {
		case "50":
			r.p50 = v
		case "90":
			r.p90 = v
		case "99":
			r.p99 = v
		}
	}
	return r, text, nil
}
