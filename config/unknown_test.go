package config

import (
	"strings"
	"testing"
)

func TestUnknownVariablesAreNamedWithTheClosestKnownOne(t *testing.T) {
	got := Unknown([]string{
		"PATH=/usr/bin",
		"URLTRACKER_ADDR=:3000",
		"URLTRACKER_URL=http://lb",
		"URLTRACKER_TRACE_ALLOW_CIDR=10.0.0.0/8",
		"URLTRACKER_TOTALLY_DIFFERENT=1",
		"URLTRACKER_REQUIRE_POSTGRES=1",
	})
	want := []string{
		"URLTRACKER_TOTALLY_DIFFERENT is not a variable urltracker reads: it is ignored",
		"URLTRACKER_TRACE_ALLOW_CIDR is not a variable urltracker reads: it is ignored; did you mean URLTRACKER_TRACE_ALLOW_CIDRS?",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Unknown =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
