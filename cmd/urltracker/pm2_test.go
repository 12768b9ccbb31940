package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// pm2Version is the PM2 major version the shipped ecosystem file is tested
// with (the old service's incident was reproduced with PM2 7).
const pm2Version = "pm2@7"

// installPM2 returns a pm2 executable: $URLTRACKER_PM2_BIN when set, else PM2
// installed from npm into a temporary prefix. Without npm or the registry the
// test is skipped, unless URLTRACKER_REQUIRE_PM2 is set (as in CI).
func installPM2(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("URLTRACKER_PM2_BIN"); bin != "" {
		return bin
	}
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("URLTRACKER_REQUIRE_PM2") != "" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+"; set URLTRACKER_REQUIRE_PM2=1 to fail instead", args...)
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		unavailable("PM2 test needs npm: %v", err)
	}
	prefix := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", pm2Version).CombinedOutput()
	if err != nil {
		unavailable("npm install %s: %v\n%s", pm2Version, err, out)
	}
	return filepath.Join(prefix, "node_modules", ".bin", "pm2")
}

// pm2App is one entry of `pm2 jlist`.
type pm2App struct {
	Name   string `json:"name"`
	PID    int    `json:"pid"`
	PM2Env struct {
		Status      string `json:"status"`
		RestartTime int    `json:"restart_time"`
		ExitCode    *int   `json:"exit_code"`
		PMErrLog    string `json:"pm_err_log_path"`
		PMOutLog    string `json:"pm_out_log_path"`
	} `json:"pm2_env"`
}

// TestPM2DuplicateStartDoesNotLoop replays the old service's incident under
// real PM2: the shipped ecosystem file started twice (under two app names)
// on one host. The second copy must exit 78 and stay stopped, the first
// must keep serving, and nothing restarts.
func TestPM2DuplicateStartDoesNotLoop(t *testing.T) {
	pm2 := installPM2(t)
	appDir := t.TempDir()
	buildBinary(t, appDir)
	eco, err := os.ReadFile(filepath.Join("..", "..", "deploy", "ecosystem.config.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(appDir, "ecosystem.config.js"), eco, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	env := map[string]string{
		"PM2_HOME":               t.TempDir(),
		"URLTRACKER_ADDR":        addr,
		"URLTRACKER_ADMIN_TOKEN": testAdminToken,
		"URLTRACKER_DRAIN_DELAY": "0s",
	}
	runPM2 := func(extra map[string]string, args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, pm2, args...)
		cmd.Dir = appDir
		cmd.Env = procEnv(env)
		for k, v := range extra {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("pm2 %v: %v\n%s%s", args, err, out, stderr.Bytes())
		}
		return out
	}
	jlist := func() map[string]pm2App {
		t.Helper()
		out := runPM2(nil, "jlist")
		if i := bytes.IndexByte(out, '['); i > 0 {
			out = out[i:] // PM2 may print notices first
		}
		var apps []pm2App
		if err := json.Unmarshal(out, &apps); err != nil {
			t.Fatalf("pm2 jlist: %v\n%s", err, out)
		}
		byName := map[string]pm2App{}
		for _, a := range apps {
			byName[a.Name] = a
		}
		return byName
	}
	t.Cleanup(func() { runPM2(nil, "kill") })

	runPM2(nil, "start", "ecosystem.config.js")
	client := &testutil.Client{BaseURL: "http://" + addr, HTTP: &http.Client{Timeout: 2 * time.Second}}
	testutil.Eventually(t, 30*time.Second, "the first app to be ready", func() bool {
		resp, err := client.HTTP.Get(client.BaseURL + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	firstPID := jlist()["urltracker"].PID

	runPM2(map[string]string{"URLTRACKER_PM2_NAME": "urltracker-2"}, "start", "ecosystem.config.js")
	time.Sleep(15 * time.Second)

	apps := jlist()
	first, second := apps["urltracker"], apps["urltracker-2"]
	t.Logf("after 15s: urltracker %s restart_time=%d; urltracker-2 %s restart_time=%d exit_code=%v",
		first.PM2Env.Status, first.PM2Env.RestartTime, second.PM2Env.Status, second.PM2Env.RestartTime, exitCodeOf(second))
	if first.PM2Env.Status != "online" || first.PM2Env.RestartTime != 0 || first.PID != firstPID {
		t.Errorf("first app: status %s, restart_time %d, pid %d (was %d); want online, 0 restarts, same process",
			first.PM2Env.Status, first.PM2Env.RestartTime, first.PID, firstPID)
	}
	if second.Name == "" {
		t.Fatalf("pm2 does not list urltracker-2: %v", apps)
	}
	// Not "waiting restart" either: PM2 shows that for a stopped app when
	// restart_delay is set, which would mislead an operator.
	if second.PM2Env.RestartTime != 0 || second.PM2Env.Status != "stopped" {
		t.Errorf("second app: status %s, restart_time %d; want it stopped, never restarted", second.PM2Env.Status, second.PM2Env.RestartTime)
	}
	if c := exitCodeOf(second); c != ExitConfig {
		t.Errorf("second app exit code %d, want %d", c, ExitConfig)
	}
	logs, _ := os.ReadFile(second.PM2Env.PMErrLog)
	if !strings.Contains(string(logs), "is in use by PID") {
		t.Errorf("second app's log does not name the holder:\n%s", logs)
	}
	client.JSON(t, "GET", "/readyz", nil, false, http.StatusOK, nil)
}

func exitCodeOf(a pm2App) int {
	if a.PM2Env.ExitCode == nil {
		return -1
	}
	return *a.PM2Env.ExitCode
}
