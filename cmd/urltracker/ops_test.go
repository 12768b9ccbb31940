package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// TestDuplicateStartExits78 is the old service's incident: a second copy
// started on a busy port or the same database must give up at once, with
// exit code 78 (never restarted by the shipped PM2 and systemd configs) and
// a message naming who is in the way, and must leave the first alone.
func TestDuplicateStartExits78(t *testing.T) {
	binDir := t.TempDir()
	bin := buildBinary(t, binDir)
	firstDir := t.TempDir()
	firstEnv := appEnv(firstDir)
	firstEnv["URLTRACKER_ADDR"] = freeAddr(t)
	first := startServe(t, bin, firstEnv)
	port := portOf(t, firstEnv["URLTRACKER_ADDR"])
	holder := fmt.Sprintf("PID %d (urltracker)", first.PID())

	cases := []struct {
		name string
		env  func() map[string]string
		want []string
	}{
		{"busy port", func() map[string]string {
			env := appEnv(t.TempDir())
			env["URLTRACKER_ADDR"] = firstEnv["URLTRACKER_ADDR"]
			return env
		}, []string{"port " + port + " is in use by " + holder}},
		{"same SQLite file", func() map[string]string {
			env := appEnv(firstDir)
			env["URLTRACKER_ADDR"] = freeAddr(t)
			return env
		}, []string{"database " + filepath.Join(firstDir, "urltracker.db") + " is in use by " + holder}},
		{"same SQLite file and port", func() map[string]string {
			return firstEnv
		}, []string{"is in use by " + holder}},
		// The lock is on the file, not its name: another name for the same
		// file (or another container's mount of it) meets the same lock.
		{"symlink to the SQLite file", func() map[string]string {
			return linkedEnv(t, firstDir, os.Symlink)
		}, []string{"is in use by " + holder}},
		{"hard link to the SQLite file", func() map[string]string {
			return linkedEnv(t, firstDir, os.Link)
		}, []string{"is in use by " + holder}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var took []time.Duration
			for range 5 {
				start := time.Now()
				second := startProc(t, bin, tc.env(), "serve")
				code := second.Wait(t, 10*time.Second)
				took = append(took, time.Since(start))
				if code != ExitConfig {
					t.Fatalf("second serve exited %d, want %d\nstderr: %s", code, ExitConfig, second.Stderr)
				}
				msg := failureLine(t, second.Stderr.String())
				for _, want := range tc.want {
					if !strings.Contains(msg, want) {
						t.Errorf("message %q does not say %q", msg, want)
					}
				}
			}
			if m := median(took); m > 2*time.Second {
				t.Errorf("a duplicate start took %s (median of %v) to exit, want under 2s", m, took)
			}
			t.Logf("duplicate start (%s) exits 78 in %s (median of %v)", tc.name, median(took), took)

			var ready map[string]any
			first.Client.JSON(t, "GET", "/readyz", nil, false, http.StatusOK, &ready)
			if first.Exited() {
				t.Fatal("the first instance stopped")
			}
		})
	}
	if strings.Contains(first.Stdout.String()+first.Stderr.String(), `"level":"ERROR"`) {
		t.Errorf("the first instance logged errors:\n%s", first.Stdout)
	}
}

// linkedEnv is the environment of an instance whose database URL names the
// SQLite file of firstDir under another name, made by link.
func linkedEnv(t *testing.T, firstDir string, link func(oldname, newname string) error) map[string]string {
	t.Helper()
	dir := t.TempDir()
	if err := link(filepath.Join(firstDir, "urltracker.db"), filepath.Join(dir, "urltracker.db")); err != nil {
		t.Fatal(err)
	}
	env := appEnv(dir)
	env["URLTRACKER_ADDR"] = freeAddr(t)
	return env
}

// TestDuplicateStartInProcess checks the lock between two serves of one
// process too: the lock is per open file, not per process.
func TestDuplicateStartInProcess(t *testing.T) {
	dir := t.TempDir()
	first := startApp(t, appEnv(dir))
	env := appEnv(dir)
	err := run(context.Background(), []string{"urltracker", "serve"}, func(k string) string { return env[k] }, &testutil.SyncBuffer{}, &testutil.SyncBuffer{})
	if exitCode(err) != ExitConfig || !strings.Contains(fmt.Sprint(err), "is in use by PID") {
		t.Fatalf("second serve: %v (exit %d), want exit %d naming the holder", err, exitCode(err), ExitConfig)
	}
	first.JSON(t, "GET", "/readyz", nil, false, http.StatusOK, nil)
}

// checkReport runs `urltracker check --json` in-process.
func checkReport(t *testing.T, env map[string]string) (code int, ok bool, lines map[string]checkResult) {
	t.Helper()
	var out testutil.SyncBuffer
	err := run(context.Background(), []string{"urltracker", "check", "--json"}, func(k string) string { return env[k] }, &out, &out)
	var report struct {
		OK     bool          `json:"ok"`
		Checks []checkResult `json:"checks"`
	}
	if jerr := json.Unmarshal([]byte(out.String()), &report); jerr != nil {
		t.Fatalf("check --json printed %q: %v", out.String(), jerr)
	}
	lines = map[string]checkResult{}
	for _, c := range report.Checks {
		lines[c.Name] = c
	}
	if err == nil {
		return 0, report.OK, lines
	}
	return exitCode(err), report.OK, lines
}

func TestCheckPassesOnAFreshSetup(t *testing.T) {
	dir := t.TempDir()
	env := appEnv(dir)
	env["URLTRACKER_ADDR"] = freeAddr(t)
	code, ok, lines := checkReport(t, env)
	if code != 0 || !ok {
		t.Fatalf("check on a fresh setup: exit %d, ok %t: %v", code, ok, lines)
	}
	for _, name := range []string{"configuration", "database", "migrations", "port", "instance lock", "data directory"} {
		if c, found := lines[name]; !found || !c.OK {
			t.Errorf("check %q: %+v (found %t), want ✓", name, c, found)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("check changed the data directory: %v", entries)
	}

	// After a run of serve and migrate, it still passes, with every
	// migration applied.
	if err := run(context.Background(), []string{"urltracker", "migrate"}, func(k string) string { return env[k] }, &testutil.SyncBuffer{}, &testutil.SyncBuffer{}); err != nil {
		t.Fatal(err)
	}
	code, _, lines = checkReport(t, env)
	if code != 0 || !strings.HasPrefix(lines["migrations"].Detail, "all ") {
		t.Errorf("check after migrate: exit %d, migrations %+v", code, lines["migrations"])
	}

	// The human report has one ✓ line per check.
	var out testutil.SyncBuffer
	if err := run(context.Background(), []string{"urltracker", "check"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "✓ "); n != 7 || strings.Contains(out.String(), "✗") {
		t.Errorf("human report:\n%s\nwant 7 ✓ lines (the browser engine's is ✓ with or without Chromium)", out.String())
	}
}

func TestCheckFailsWith78ForEachFailingCondition(t *testing.T) {
	cases := []struct {
		name   string
		failed string // the check that must fail
		setup  func(t *testing.T, env map[string]string)
	}{
		{"invalid configuration", "configuration", func(t *testing.T, env map[string]string) {
			env["URLTRACKER_MAX_HOPS"] = "lots"
		}},
		{"PostgreSQL without admin token", "configuration", func(t *testing.T, env map[string]string) {
			env["URLTRACKER_DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
			delete(env, "URLTRACKER_ADMIN_TOKEN")
		}},
		{"URLTRACKER_CHROMIUM names no browser", "browser engine", func(t *testing.T, env map[string]string) {
			env["URLTRACKER_CHROMIUM"] = "/nonexistent/chromium"
		}},
		{"database unreachable", "database", func(t *testing.T, env map[string]string) {
			env["URLTRACKER_DATABASE_URL"] = "postgres://postgres@" + freeAddr(t) + "/none?sslmode=disable&connect_timeout=2"
		}},
		{"database file not SQLite", "database", func(t *testing.T, env map[string]string) {
			path := strings.TrimPrefix(env["URLTRACKER_DATABASE_URL"], "sqlite:")
			if err := os.WriteFile(path, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"database of another application", "migrations", func(t *testing.T, env map[string]string) {
			// golang-migrate's bookkeeping table has the same name as ours.
			db, err := sql.Open("sqlite", strings.TrimPrefix(env["URLTRACKER_DATABASE_URL"], "sqlite:"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, dirty BOOLEAN NOT NULL)`); err != nil {
				t.Fatal(err)
			}
		}},
		{"PostgreSQL refuses writes", "database", func(t *testing.T, env map[string]string) {
			env["URLTRACKER_DATABASE_URL"] = testutil.PostgresURL(t) + "&default_transaction_read_only=on"
		}},
		{"port in use", "port", func(t *testing.T, env map[string]string) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			env["URLTRACKER_ADDR"] = ln.Addr().String()
		}},
		{"lock held", "instance lock", func(t *testing.T, env map[string]string) {
			lock, err := acquireInstanceLock(strings.TrimPrefix(env["URLTRACKER_DATABASE_URL"], "sqlite:"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(lock.Release)
		}},
		{"data directory not writable", "data directory", func(t *testing.T, env map[string]string) {
			// Permissions do not stop root, so the directory does not exist.
			env["URLTRACKER_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "missing", "urltracker.db")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := appEnv(t.TempDir())
			env["URLTRACKER_ADDR"] = freeAddr(t)
			tc.setup(t, env)
			code, ok, lines := checkReport(t, env)
			if code != ExitConfig || ok {
				t.Errorf("exit %d, ok %t; want %d, false", code, ok, ExitConfig)
			}
			c, found := lines[tc.failed]
			if !found || c.OK || c.Detail == "" {
				t.Errorf("check %q: %+v (found %t), want ✗ with a reason; report %v", tc.failed, c, found, lines)
			}
			t.Logf("✗ %s: %s", c.Name, c.Detail)
		})
	}
}

// TestRetentionJobPrunesOnStart runs the periodic retention job through River
// in a real instance: expired events and surplus checks go, the rest stays.
func TestRetentionJobPrunesOnStart(t *testing.T) {
	ctx := context.Background()
	env := appEnv(t.TempDir())
	env["URLTRACKER_RETENTION"] = "24h"
	env["URLTRACKER_RETENTION_KEEP"] = "2"

	db, err := store.Open(ctx, env["URLTRACKER_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	offer, err := db.CreateOffer(ctx, urltracker.Offer{Name: "kept", URL: "http://127.0.0.1:1/x", UpdateIntervalSeconds: 3600, Enabled: true})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	// Prepare the hot-path statements outside a transaction first, as the
	// webhook handler does (see store.DB.InsertEventTx).
	_, _ = db.OfferByToken(ctx, "warm-up")
	for i, age := range []time.Duration{72 * time.Hour, 25 * time.Hour, time.Hour, 0} {
		e := urltracker.Event{OfferID: offer.ID, ReceivedAt: now.Add(-age), ClickID: fmt.Sprintf("age-%d", i),
			Payload: map[string]string{}, Outcome: urltracker.OutcomeDebounced}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, _, err := db.InsertEventTx(ctx, tx, e)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var newest []int64
	for i := range 4 {
		c := urltracker.Check{OfferID: offer.ID, StartedAt: now.Add(time.Duration(i) * time.Second), Verdict: urltracker.VerdictHealthy, Chain: []urltracker.Hop{}}
		if err := db.SaveCheck(ctx, &c); err != nil {
			t.Fatal(err)
		}
		newest = append([]int64{c.ID}, newest...)
	}
	db.Close()

	a := startApp(t, env)
	testutil.Eventually(t, 30*time.Second, "the retention job to run", func() bool {
		return strings.Contains(a.Logs.String(), `"msg":"retention done"`)
	})
	var events struct {
		Events []urltracker.Event `json:"events"`
	}
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/events", offer.ID), nil, true, http.StatusOK, &events)
	var clicks []string
	for _, e := range events.Events {
		clicks = append(clicks, e.ClickID)
	}
	if strings.Join(clicks, ",") != "age-3,age-2" {
		t.Errorf("events kept: %v, want the two younger than 24h", clicks)
	}
	var checks struct {
		Checks []urltracker.Check `json:"checks"`
	}
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/checks", offer.ID), nil, true, http.StatusOK, &checks)
	if len(checks.Checks) != 2 || checks.Checks[0].ID != newest[0] || checks.Checks[1].ID != newest[1] {
		t.Errorf("checks kept: %+v, want the newest two %v", checks.Checks, newest[:2])
	}
}

// TestReadOnlyDatabaseExits78 is issue 13: `urltracker check` passed a
// database file the service user may not write, and serve then failed on it
// with exit 1, which supervisors restart forever. Both must say so and exit
// 78. The file is root's and the service runs as nobody (or, when the test
// is not root, the file is made read-only), the directory stays writable.
func TestReadOnlyDatabaseExits78(t *testing.T) {
	binDir := t.TempDir()
	bin := buildBinary(t, binDir)
	dir := t.TempDir()
	env := appEnv(dir)
	env["URLTRACKER_ADDR"] = freeAddr(t)
	if err := run(context.Background(), []string{"urltracker", "migrate"}, func(k string) string { return env[k] }, &testutil.SyncBuffer{}, &testutil.SyncBuffer{}); err != nil {
		t.Fatal(err)
	}
	var cred *syscall.Credential
	if os.Getuid() == 0 {
		// nobody must reach the binary and the directory, and write there.
		for _, d := range []string{binDir, filepath.Dir(binDir), dir, filepath.Dir(dir)} {
			chmod(t, d, 0o755)
		}
		chmod(t, dir, 0o777)
		cred = &syscall.Credential{Uid: 65534, Gid: 65534}
	} else {
		chmod(t, filepath.Join(dir, "urltracker.db"), 0o444)
	}
	for _, command := range []string{"check", "serve"} {
		cmd := exec.Command(bin, command)
		cmd.Env = procEnv(env)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, err := cmd.CombinedOutput()
		code := cmd.ProcessState.ExitCode()
		if code != ExitConfig || !strings.Contains(string(out), "not writable by this user") {
			t.Errorf("%s on a read-only database: exit %d (%v), want %d saying it is not writable\n%s", command, code, err, ExitConfig, out)
		}
	}
}

// TestReadyzFailsWhileTheDatabaseRefusesWrites is issue 13: /readyz only
// pinged the database, so an instance whose every write failed (disk full)
// stayed in the load balancer. Here another connection holds SQLite's write
// lock: reads and pings still work, writes do not.
func TestReadyzFailsWhileTheDatabaseRefusesWrites(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	a.JSON(t, "GET", "/readyz", nil, false, http.StatusOK, nil)

	other, err := sql.Open("sqlite", "file:"+filepath.Join(a.Dir, "urltracker.db")+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	// Past a scheduler tick, the instance's one SQLite connection is likely
	// held by its own writer waiting on the lock: readyz must still say why.
	time.Sleep(1500 * time.Millisecond)
	var ready struct {
		Ready  bool   `json:"ready"`
		Reason string `json:"reason"`
	}
	a.JSON(t, "GET", "/readyz", nil, false, http.StatusServiceUnavailable, &ready)
	if ready.Ready || !strings.Contains(ready.Reason, "does not accept writes") {
		t.Errorf("readyz while writes fail = %+v, want not ready because writes fail", ready)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	a.JSON(t, "GET", "/readyz", nil, false, http.StatusOK, nil)
}

// TestServeOnAReadOnlyPostgreSQLExits78: a URL naming a standby (here a
// session that refuses writes) is a setup to fix, not a crash to restart.
func TestServeOnAReadOnlyPostgreSQLExits78(t *testing.T) {
	env := appEnv(t.TempDir())
	env["URLTRACKER_ADDR"] = freeAddr(t)
	env["URLTRACKER_DATABASE_URL"] = testutil.PostgresURL(t) + "&default_transaction_read_only=on"
	err := run(context.Background(), []string{"urltracker", "serve"}, func(k string) string { return env[k] }, &testutil.SyncBuffer{}, &testutil.SyncBuffer{})
	if exitCode(err) != ExitConfig || !strings.Contains(fmt.Sprint(err), "cannot be written") {
		t.Errorf("serve on a read-only PostgreSQL: %v (exit %d), want exit %d saying it cannot be written", err, exitCode(err), ExitConfig)
	}
}
