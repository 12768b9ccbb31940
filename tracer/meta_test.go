package tracer

import (
	"strings"
	"testing"
	"time"
)

var refreshTests = []struct {
	in     string
	delay  time.Duration
	target string
	ok     bool
}{
	{"0; url=/next", 0, "/next", true},
	{"0;URL=/next", 0, "/next", true},
	{"0;Url = /next", 0, "/next", true},
	{"5", 5 * time.Second, "", true},
	{" 3 ,  url = 'http://a.test/b?c=1' trailing", 3 * time.Second, "http://a.test/b?c=1", true},
	{`1; url="/x y"`, time.Second, "/x y", true},
	{"1; url='/x", time.Second, "/x", true},
	{"0.5; url=/x", 0, "/x", true},
	{".5;url=/x", 0, "/x", true},
	{"2.; url=/x", 2 * time.Second, "/x", true},
	{"0 /x", 0, "/x", true},
	{"0; /x ", 0, "/x", true},
	{"0\t;\turl=/x", 0, "/x", true},
	{"0; url /x", 0, "url /x", true},
	{"0; urls=/x", 0, "urls=/x", true},
	{"0; url=", 0, "", true},
	{"300; url=/later", 300 * time.Second, "/later", true},
	{"99999999999999999999999; url=/x", maxRefreshSeconds * time.Second, "/x", true},
	{"", 0, "", false},
	{"url=/x", 0, "", false},
	{"-1; url=/x", 0, "", false},
	{"5x; url=/x", 0, "", false},
}

func TestParseRefresh(t *testing.T) {
	for _, tt := range refreshTests {
		delay, target, ok := parseRefresh(tt.in)
		if delay != tt.delay || target != tt.target || ok != tt.ok {
			t.Errorf("parseRefresh(%q) = %v, %q, %v; want %v, %q, %v", tt.in, delay, target, ok, tt.delay, tt.target, tt.ok)
		}
	}
}

func FuzzParseRefresh(f *testing.F) {
	for _, tt := range refreshTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, content string) {
		delay, target, ok := parseRefresh(content)
		if !ok {
			if delay != 0 || target != "" {
				t.Fatalf("not a refresh, yet %v %q", delay, target)
			}
			return
		}
		if delay < 0 || delay > maxRefreshSeconds*time.Second || delay%time.Second != 0 {
			t.Fatalf("delay %v", delay)
		}
		if target != strings.TrimRight(target, " \t\n\f\r") || target != trimASCIISpaceLeft(target) {
			t.Fatalf("target %q keeps white space around it", target)
		}
		// What parseRefresh found must come back the same when written in
		// the usual form.
		if target != "" && !strings.ContainsAny(target, `'"`) {
			d, again, ok := parseRefresh("7; URL='" + target + "'")
			if !ok || d != 7*time.Second || again != target {
				t.Fatalf("rewritten %q: %v %q %v", target, d, again, ok)
			}
		}
	})
}
