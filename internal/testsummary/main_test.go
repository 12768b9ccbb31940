package main

import (
	"bytes"
	"strings"
	"testing"
)

const stream = `go: downloading example.com/x v1.0.0
{"Action":"start","Package":"a/store"}
{"Action":"run","Package":"a/store","Test":"TestOffers"}
{"Action":"run","Package":"a/store","Test":"TestOffers/sqlite"}
{"Action":"output","Package":"a/store","Test":"TestOffers/sqlite","Output":"=== RUN   TestOffers/sqlite\n"}
{"Action":"pass","Package":"a/store","Test":"TestOffers/sqlite"}
{"Action":"run","Package":"a/store","Test":"TestOffers/postgres"}
{"Action":"output","Package":"a/store","Test":"TestOffers/postgres","Output":"=== RUN   TestOffers/postgres\n"}
{"Action":"output","Package":"a/store","Test":"TestOffers/postgres","Output":"    db.go:51: PostgreSQL at postgres://127.0.0.1:5432/test unreachable (connection refused)\n"}
{"Action":"output","Package":"a/store","Test":"TestOffers/postgres","Output":"--- SKIP: TestOffers/postgres (0.00s)\n"}
{"Action":"skip","Package":"a/store","Test":"TestOffers/postgres"}
{"Action":"pass","Package":"a/store","Test":"TestOffers"}
{"Action":"output","Package":"a/store","Output":"ok  \ta/store\t0.2s\n"}
{"Action":"pass","Package":"a/store"}
{"Action":"run","Package":"a/cmd","Test":"TestBrowser"}
{"Action":"output","Package":"a/cmd","Test":"TestBrowser","Output":"    b_test.go:30: chromium not found: apt-get install -y chromium\n"}
{"Action":"skip","Package":"a/cmd","Test":"TestBrowser"}
{"Action":"run","Package":"a/cmd","Test":"TestBroken"}
{"Action":"output","Package":"a/cmd","Test":"TestBroken","Output":"    x_test.go:9: got 2, want 3\n"}
{"Action":"fail","Package":"a/cmd","Test":"TestBroken"}
{"Action":"output","Package":"a/cmd","Output":"FAIL\ta/cmd\t0.3s\n"}
{"Action":"fail","Package":"a/cmd"}
`

func TestSummaryNamesSkippedComponentsAndFailures(t *testing.T) {
	var out bytes.Buffer
	failed := summarize(strings.NewReader(stream), &out)
	got := out.String()
	if !failed {
		t.Error("a failed test did not make the summary fail")
	}
	for _, want := range []string{
		"go: downloading example.com/x v1.0.0\n",
		"ok  \ta/store\t0.2s\n",
		"    x_test.go:9: got 2, want 3\n", // a failure's output
		"FAIL\ta/cmd\t0.3s\n",
		"== 2 passed, 1 failed, 2 skipped\n",
		"FAIL a/cmd TestBroken\n",
		"SKIP a/store TestOffers/postgres: db.go:51: PostgreSQL at postgres://127.0.0.1:5432/test unreachable (connection refused)\n",
		"skipped real components: Chromium (1 test), PostgreSQL (1 test)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "=== RUN") {
		t.Errorf("summary repeats the runner's own lines:\n%s", got)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "skipped real components:") {
		t.Errorf("last line %q, want the skipped components", last)
	}
}

func TestSummaryOfAGreenRunPasses(t *testing.T) {
	var out bytes.Buffer
	green := `{"Action":"run","Package":"a","Test":"TestA"}
{"Action":"pass","Package":"a","Test":"TestA"}
{"Action":"pass","Package":"a"}
`
	if summarize(strings.NewReader(green), &out) || !strings.HasSuffix(out.String(), "skipped real components: none\n") {
		t.Errorf("green run: %s", out.String())
	}
	out.Reset()
	if !summarize(strings.NewReader("no json here\n"), &out) {
		t.Error("input without test events passed")
	}
}
