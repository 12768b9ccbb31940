package config

import (
	"fmt"
	"sort"
	"strings"
)

// OtherVariables are the URLTRACKER_* variables read outside Load: by the
// admin-API commands (ctl, apply, export), the shipped PM2 configuration and
// the test suite. Unknown does not warn about them.
var OtherVariables = []string{
	"URLTRACKER_URL",
	"URLTRACKER_PM2_BIN", "URLTRACKER_PM2_NAME",
	"URLTRACKER_TEST_POSTGRES", "URLTRACKER_SCREENSHOTS", "URLTRACKER_REQUIRE_POSTGRES", "URLTRACKER_REQUIRE_CHROMIUM",
	"URLTRACKER_REQUIRE_NGINX", "URLTRACKER_REQUIRE_PM2", "URLTRACKER_REQUIRE_PROMETHEUS",
}

// Unknown returns a warning for each URLTRACKER_* variable of environ
// ("NAME=value" entries, as os.Environ gives them) that urltracker does not
// read, naming the closest variable it does read: a misspelt name such as
// URLTRACKER_TRACE_ALLOW_CIDR would otherwise be ignored without a word.
func Unknown(environ []string) []string {
	known := map[string]bool{}
	var names []string
	for _, v := range Variables {
		known[v.Name] = true
		names = append(names, v.Name)
	}
	for _, name := range OtherVariables {
		known[name] = true
	}
	var warnings []string
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "URLTRACKER_") || known[name] {
			continue
		}
		w := fmt.Sprintf("%s is not a variable urltracker reads: it is ignored", name)
		if guess := closest(name, names); guess != "" {
			w += fmt.Sprintf("; did you mean %s?", guess)
		}
		warnings = append(warnings, w)
	}
	sort.Strings(warnings)
	return warnings
}

// closest is the name nearest to s by edit distance, or "" when none is
// near enough to be a likely misspelling.
func closest(s string, names []string) string {
	best, bestDist := "", len(s)/3+1
	for _, n := range names {
		if d := editDistance(s, n); d < bestDist {
			best, bestDist = n, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
