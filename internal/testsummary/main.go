// Command testsummary reads `go test -json` on stdin and prints what a
// person needs from it: the output of failed tests and of builds, each
// package's result line, and at the end one line naming the real components
// (PostgreSQL, Chromium, nginx, PM2, Prometheus) whose tests were skipped
// because they were missing. The plain `go test` output hides those skips.
// It exits 1 when a test or a build failed, so that it keeps the exit status
// of the pipeline:
//
//	go test -race -json ./... 2>&1 | go run ./internal/testsummary
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	if summarize(os.Stdin, os.Stdout) {
		os.Exit(1)
	}
}

// event is one line of `go test -json` (see `go doc test2json`).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail events
	Test       string
	Output     string
}

// components are the real components tests skip without, by a word their
// skip message contains.
var components = []struct{ word, name string }{
	{"postgres", "PostgreSQL"},
	{"chromium", "Chromium"},
	{"nginx", "nginx"},
	{"pm2", "PM2"},
	{"npm", "PM2"},
	{"promtool", "Prometheus"},
	{"prometheus", "Prometheus"},
}

type skip struct{ pkg, test, reason string }

// summarize copies the useful part of the event stream in to out and
// reports whether anything failed.
func summarize(in io.Reader, out io.Writer) (failed bool) {
	outputs := map[string][]string{} // package + test → its output lines
	var skips, fails []skip
	passed, events := 0, 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: the go command's own messages (a build that
			// failed before any test ran, a download) go through as they are.
			fmt.Fprintln(out, string(line))
			if strings.HasPrefix(string(line), "FAIL") {
				failed = true
			}
			continue
		}
		events++
		key := e.Package + " " + e.Test
		switch e.Action {
		case "build-output":
			fmt.Fprint(out, e.Output)
		case "build-fail":
			failed = true
		case "output":
			if e.Test == "" {
				// The package's own lines: "ok  pkg 1.2s", "FAIL pkg", panics.
				if o := strings.TrimSpace(e.Output); o != "PASS" && o != "FAIL" && !strings.HasPrefix(o, "=== ") {
					fmt.Fprint(out, e.Output)
				}
				continue
			}
			outputs[key] = append(outputs[key], e.Output)
		case "pass":
			if e.Test != "" {
				passed++
			}
			delete(outputs, key)
		case "skip":
			if e.Test != "" {
				skips = append(skips, skip{e.Package, e.Test, skipReason(outputs[key])})
			}
			delete(outputs, key)
		case "fail":
			failed = true
			if e.Test != "" {
				fails = append(fails, skip{pkg: e.Package, test: e.Test})
				for _, o := range outputs[key] {
					fmt.Fprint(out, o)
				}
			}
			delete(outputs, key)
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(out, "testsummary: read:", err)
		failed = true
	}
	if events == 0 {
		fmt.Fprintln(out, "testsummary: no test events on stdin: run go test with -json")
		return true
	}

	fmt.Fprintf(out, "\n== %d passed, %d failed, %d skipped\n", passed, len(fails), len(skips))
	for _, f := range fails {
		fmt.Fprintf(out, "FAIL %s %s\n", f.pkg, f.test)
	}
	for _, s := range skips {
		fmt.Fprintf(out, "SKIP %s %s: %s\n", s.pkg, s.test, s.reason)
	}
	fmt.Fprintln(out, componentLine(skips))
	return failed
}

// skipReason is the message a test gave t.Skip: its last line of output
// that is not one of the test runner's own.
func skipReason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "=== ") && !strings.HasPrefix(l, "--- ") {
			return l
		}
	}
	return "(no reason given)"
}

// componentLine is the one line that says which real components were
// missing, with how many tests skipped for each.
func componentLine(skips []skip) string {
	count := map[string]int{}
	for _, s := range skips {
		reason := strings.ToLower(s.reason)
		for _, c := range components {
			if strings.Contains(reason, c.word) {
				count[c.name]++
				break
			}
		}
	}
	if len(count) == 0 {
		return "skipped real components: none"
	}
	var parts []string
	for name, n := range count {
		parts = append(parts, fmt.Sprintf("%s (%d %s)", name, n, map[bool]string{true: "test", false: "tests"}[n == 1]))
	}
	sort.Strings(parts)
	return "skipped real components: " + strings.Join(parts, ", ") + " (install them to run those tests; CI requires all)"
}
