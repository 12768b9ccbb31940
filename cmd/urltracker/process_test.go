package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// Helpers for tests that run the real urltracker binary as a subprocess:
// exit codes, signals and crashes only show on a real process.

// binary is the urltracker binary built once for the tests of this package
// that need a real process; TestMain removes it.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	code = requireWholeContract(code)
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// requireWholeContract fails a complete, passing run of this package's tests
// unless they reached every operation of the OpenAPI document: the
// end-to-end tests are what validates the document, so an operation they
// never call is one the document could describe wrongly.
func requireWholeContract(code int) int {
	if code != 0 || testing.Short() || flag.Lookup("test.run").Value.String() != "" {
		return code
	}
	if missing := testutil.ContractUnreached(); len(missing) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: no end-to-end test reached these operations of openapi/openapi.yaml:\n  %s\n", strings.Join(missing, "\n  "))
		return 1
	}
	return code
}

// buildBinary puts the urltracker binary, built from this package with
// `go build`, into dir and returns its path.
func buildBinary(t *testing.T, dir string) string {
	t.Helper()
	binary.once.Do(func() {
		binary.dir, binary.err = os.MkdirTemp("", "urltracker-bin-")
		if binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "urltracker")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	bin := filepath.Join(dir, "urltracker")
	if err := os.Link(binary.path, bin); err != nil {
		b, err := os.ReadFile(binary.path)
		if err == nil {
			err = os.WriteFile(bin, b, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// proc is one urltracker subprocess.
type proc struct {
	cmd    *exec.Cmd
	Stdout *testutil.SyncBuffer
	Stderr *testutil.SyncBuffer
	done   chan struct{}
	Client *testutil.Client
}

// procEnv turns env into a process environment with just enough of the
// test's own (PATH, HOME) to run.
func procEnv(env map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// startProc starts `bin args...` with env; it is killed at the end of the test.
func startProc(t *testing.T, bin string, env map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{
		cmd:    exec.Command(bin, args...),
		Stdout: &testutil.SyncBuffer{},
		Stderr: &testutil.SyncBuffer{},
		done:   make(chan struct{}),
	}
	p.cmd.Env = procEnv(env)
	p.cmd.Stdout, p.cmd.Stderr = p.Stdout, p.Stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// startServe starts `urltracker serve` and waits until it listens.
func startServe(t *testing.T, bin string, env map[string]string) *proc {
	t.Helper()
	p := startProc(t, bin, env, "serve")
	var addr string
	testutil.Eventually(t, 20*time.Second, "urltracker serve to start", func() bool {
		if p.Exited() {
			t.Fatalf("serve exited early with %d\nstdout:\n%s\nstderr:\n%s", p.ExitCode(), p.Stdout, p.Stderr)
		}
		for _, line := range p.Stdout.LogLines(t) {
			if line["msg"] == "urltracker started" {
				addr, _ = line["addr"].(string)
				return true
			}
		}
		return false
	})
	p.Client = &testutil.Client{BaseURL: "http://" + addr, AdminToken: env["URLTRACKER_ADMIN_TOKEN"]}
	return p
}

// PID is the process id.
func (p *proc) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait waits up to timeout for the process to end and returns its exit code
// (-1 when a signal ended it).
func (p *proc) Wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("process %d still running after %s\nstdout:\n%s\nstderr:\n%s", p.PID(), timeout, p.Stdout, p.Stderr)
		return 0
	}
}

// ExitCode is the exit code of an ended process.
func (p *proc) ExitCode() int { return p.cmd.ProcessState.ExitCode() }

// Signal sends sig to the process.
func (p *proc) Signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// failureLine decodes the JSON line main writes to stderr when a command
// fails, and returns its message.
func failureLine(t *testing.T, stderr string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	var m struct {
		Level    string `json:"level"`
		Msg      string `json:"msg"`
		ExitCode int    `json:"exit_code"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &m); err != nil {
		t.Fatalf("last stderr line is not JSON: %q", stderr)
	}
	if m.Level != "ERROR" || m.ExitCode == 0 {
		t.Errorf("failure line %q: want level ERROR and an exit_code", lines[len(lines)-1])
	}
	return m.Msg
}

func portOf(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
