package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHelpAndUsageErrorsTouchNothing runs the real binary in an empty
// directory: --help, `help COMMAND`, an unknown flag or an extra argument
// must print usage and exit (0 for help, 2 for a mistake) before any command
// creates a database, a token or a listener there, and without a JSON error
// line after the usage.
func TestHelpAndUsageErrorsTouchNothing(t *testing.T) {
	bin := buildBinary(t, t.TempDir())
	type tc struct {
		args       []string
		env        map[string]string
		code       int
		stdout     string // prefix
		stderrLast string // in the last line of stderr
	}
	var cases []tc
	for _, c := range commands() {
		usage := "usage: urltracker " + c.name
		cases = append(cases,
			tc{args: []string{c.name, "--help"}, stdout: usage},
			tc{args: []string{c.name, "-h"}, stdout: usage},
			tc{args: []string{"help", c.name}, stdout: usage},
			tc{args: []string{c.name, "--no-such-flag"}, code: 2, stderrLast: "flag provided but not defined: -no-such-flag"},
		)
	}
	cases = append(cases,
		tc{args: []string{"serve", "extra"}, code: 2, stderrLast: `serve takes no arguments, got ["extra"]`},
		tc{args: []string{"migrate", "extra"}, code: 2, stderrLast: "migrate takes no arguments"},
		tc{args: []string{"check", "extra"}, code: 2, stderrLast: "check takes no arguments"},
		tc{args: []string{"version", "extra"}, code: 2, stderrLast: "version takes no arguments"},
		tc{args: []string{"help"}, stdout: "usage: urltracker <command>"},
		tc{args: []string{"--help"}, stdout: "usage: urltracker <command>"},
		tc{args: nil, code: 2, stderrLast: "missing command"},
		tc{args: []string{"help", "bogus"}, code: 2, stderrLast: `unknown command "bogus"`},
		// Whatever the environment: the command is known before any
		// configuration is read.
		tc{args: []string{"bogus"}, env: map[string]string{"URLTRACKER_ADDR": "not an address", "URLTRACKER_MAX_HOPS": "many"},
			code: 2, stderrLast: `unknown command "bogus"`},
		tc{args: []string{"serve", "--help"}, env: map[string]string{"URLTRACKER_MAX_HOPS": "many"}, stdout: "usage: urltracker serve"},
	)
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, c.args...)
			cmd.Dir = dir
			env := map[string]string{"URLTRACKER_ADDR": "127.0.0.1:0"}
			for k, v := range c.env {
				env[k] = v
			}
			cmd.Env = procEnv(env)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != c.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout.String(), stderr.String())
			}
			if c.stdout != "" && !strings.HasPrefix(stdout.String(), c.stdout) {
				t.Errorf("stdout %q, want it to start with %q", stdout.String(), c.stdout)
			}
			if c.code == 0 && stderr.Len() > 0 {
				t.Errorf("help wrote to stderr: %s", stderr.String())
			}
			if c.code != 0 {
				if stdout.Len() > 0 {
					t.Errorf("a usage error wrote to stdout: %s", stdout.String())
				}
				lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
				last := lines[len(lines)-1]
				if !strings.Contains(last, c.stderrLast) || json.Valid([]byte(last)) || !strings.Contains(stderr.String(), "usage: urltracker") {
					t.Errorf("stderr %q: want the usage, then a plain line with %q", stderr.String(), c.stderrLast)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("the command created %v in its working directory", names)
			}
		})
	}
}
