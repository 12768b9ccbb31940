package main

import (
	"os/exec"
	"strings"
	"testing"
)

// A misspelt variable (URLTRACKER_TRACE_ALLOW_CIDR for …_CIDRS) is named,
// with the variable meant, by `urltracker check` and by serve at start.
func TestMisspeltVariableIsNamedWithTheOneMeant(t *testing.T) {
	dir := t.TempDir()
	bin := buildBinary(t, dir)
	env := appEnv(dir)
	env["URLTRACKER_ADDR"] = freeAddr(t)
	env["URLTRACKER_TRACE_ALLOW_CIDR"] = "10.0.0.0/8"
	const want = "URLTRACKER_TRACE_ALLOW_CIDR is not a variable urltracker reads: it is ignored; did you mean URLTRACKER_TRACE_ALLOW_CIDRS?"

	cmd := exec.Command(bin, "check")
	cmd.Env = procEnv(env)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("check with a misspelt variable: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "! variables") || !strings.Contains(string(out), want) {
		t.Errorf("check output:\n%s\nwant a warning line: %s", out, want)
	}

	p := startServe(t, bin, env)
	found := false
	for _, line := range p.Stdout.LogLines(t) {
		if line["level"] == "WARN" && line["msg"] == want {
			found = true
		}
	}
	if !found {
		t.Errorf("serve's log lacks the warning %q:\n%s", want, p.Stdout.String())
	}
}
