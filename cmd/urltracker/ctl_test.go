package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// runCtl runs `urltracker ctl args…` against a and answers its output and
// exit code.
func runCtl(t *testing.T, a *app, env map[string]string, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string { return env[k] }
	argv := append([]string{"urltracker", "ctl", "--url", a.BaseURL}, args...)
	err := run(context.Background(), argv, getenv, &out, &errOut)
	code := 0
	if err != nil {
		code = exitCode(err)
		errOut.WriteString(err.Error())
	}
	return out.String() + errOut.String(), code
}

// TestCtlDrivesAnIncident walks the incident steps of docs/OPERATIONS.md:
// status, check an offer, stop automation, read the actions, restart
// automation, each with the exit code a script relies on.
func TestCtlDrivesAnIncident(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !healthy.Load() {
			http.Error(w, "gone", http.StatusNotFound)
			return
		}
		fmt.Fprint(w, "<html><body>offer</body></html>")
	}))
	defer upstream.Close()
	a := startApp(t, appEnv(t.TempDir()))
	offerID, _ := createTestOffer(t, a.Client, map[string]any{
		"name": "spring-sale", "url": upstream.URL + "/offer", "update_interval_seconds": 3600,
	})
	env := map[string]string{"URLTRACKER_ADMIN_TOKEN": testAdminToken}
	id := fmt.Sprint(offerID)

	out, code := runCtl(t, a, env, "status")
	if code != 0 || !strings.Contains(out, "automation:   ON") {
		t.Fatalf("status on a quiet instance: exit %d\n%s", code, out)
	}

	out, code = runCtl(t, a, env, "offers", "check", id)
	if code != 0 || !strings.Contains(out, "healthy") || !strings.Contains(out, upstream.URL+"/offer") {
		t.Fatalf("check of a healthy offer: exit %d\n%s", code, out)
	}

	healthy.Store(false)
	out, code = runCtl(t, a, env, "offers", "check", id)
	if code != ctlExitFailureFound || !strings.Contains(out, "broken") {
		t.Fatalf("check of a broken offer: exit %d, want %d\n%s", code, ctlExitFailureFound, out)
	}
	out, code = runCtl(t, a, env, "offers")
	if code != ctlExitFailureFound || !strings.Contains(out, "spring-sale") || !strings.Contains(out, "broken") {
		t.Fatalf("offers list with a broken offer: exit %d\n%s", code, out)
	}
	out, code = runCtl(t, a, env, "offers", "show", id)
	if code != ctlExitFailureFound || strings.Count(out, "broken") < 1 || !strings.Contains(out, "healthy") {
		t.Fatalf("offers show: exit %d, want both checks listed\n%s", code, out)
	}

	if out, code = runCtl(t, a, env, "killswitch", "off"); code != ctlExitUsage || !strings.Contains(out, "--reason is required") {
		t.Fatalf("killswitch off without a reason: exit %d\n%s", code, out)
	}
	out, code = runCtl(t, a, env, "killswitch", "off", "--reason", "advertiser outage")
	if code != 0 || !strings.Contains(out, "was on, is now off") {
		t.Fatalf("killswitch off: exit %d\n%s", code, out)
	}
	out, code = runCtl(t, a, env, "--json", "status")
	var st struct {
		Enabled bool `json:"enabled"`
	}
	if code != ctlExitFailureFound || json.NewDecoder(strings.NewReader(out)).Decode(&st) != nil || st.Enabled {
		t.Fatalf("status --json while off: exit %d, want %d and enabled=false\n%s", code, ctlExitFailureFound, out)
	}
	if out, code = runCtl(t, a, env, "killswitch", "on", "--reason", "outage over"); code != 0 || !strings.Contains(out, "was off, is now on") {
		t.Fatalf("killswitch on: exit %d\n%s", code, out)
	}
	if out, code = runCtl(t, a, env, "actions", id); code != 0 || !strings.Contains(out, "ACTION") {
		t.Fatalf("actions: exit %d\n%s", code, out)
	}
}

// TestCtlExitCodes checks the codes scripts branch on: usage 2, an instance
// that cannot be reached or refuses the token 3.
func TestCtlExitCodes(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	good := map[string]string{"URLTRACKER_ADMIN_TOKEN": testAdminToken}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"no command", good, nil, ctlExitUsage},
		{"unknown command", good, []string{"bogus"}, ctlExitUsage},
		{"offer id not a number", good, []string{"offers", "show", "x"}, ctlExitUsage},
		{"killswitch without on or off", good, []string{"killswitch", "maybe", "--reason", "r"}, ctlExitUsage},
		{"no token", map[string]string{}, []string{"status"}, ctlExitUsage},
		{"wrong token", map[string]string{"URLTRACKER_ADMIN_TOKEN": "wrong"}, []string{"status"}, ctlExitUnreachable},
		{"unknown offer", good, []string{"offers", "show", "999"}, ctlExitFailureFound},
		{"help", good, []string{"--help"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if out, code := runCtl(t, a, c.env, c.args...); code != c.want {
				t.Errorf("exit %d, want %d\n%s", code, c.want, out)
			}
		})
	}

	// Nothing listens: exit 3 with a message naming the address.
	var out bytes.Buffer
	err := run(context.Background(), []string{"urltracker", "ctl", "--url", "http://" + freeAddr(t), "--timeout", "2s", "status"},
		func(k string) string { return good[k] }, &out, &out)
	if exitCode(err) != ctlExitUnreachable || !strings.Contains(err.Error(), "cannot reach urltracker") {
		t.Errorf("unreachable instance: exit %d, err %v", exitCode(err), err)
	}

	// The token can come from the file serve writes.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testAdminToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runCtl(t, a, map[string]string{}, "--token-file", tokenFile, "status"); code != 0 {
		t.Errorf("status with --token-file: exit %d\n%s", code, out)
	}
}

// TestCtlTailFollowsNewChecks starts `ctl tail`, runs a check, and expects
// tail to print it.
func TestCtlTailFollowsNewChecks(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><body>offer</body></html>")
	}))
	defer upstream.Close()
	a := startApp(t, appEnv(t.TempDir()))
	offerID, _ := createTestOffer(t, a.Client, map[string]any{
		"name": "tail-me", "url": upstream.URL + "/landing", "update_interval_seconds": 3600,
	})
	a.JSON(t, "POST", fmt.Sprintf("/api/trackier-trigger/%d", offerID), nil, true, http.StatusOK, nil)

	ctx, cancel := context.WithCancel(context.Background())
	out := &testutil.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"urltracker", "ctl", "--url", a.BaseURL, "tail"},
			func(k string) string { return map[string]string{"URLTRACKER_ADMIN_TOKEN": testAdminToken}[k] }, out, out)
	}()
	// The check that ran before tail started is not news; the next one is.
	testutil.Eventually(t, 20*time.Second, "tail to start following", func() bool {
		return strings.Contains(out.String(), "following checks and actions of 1 offers")
	})
	var check struct {
		ID int64 `json:"id"`
	}
	a.JSON(t, "POST", fmt.Sprintf("/api/trackier-trigger/%d", offerID), nil, true, http.StatusOK, &check)
	testutil.Eventually(t, 20*time.Second, "tail to print the new check", func() bool {
		return strings.Contains(out.String(), `"tail-me": healthy`)
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail ended with %v", err)
	}
	if n := strings.Count(out.String(), "check   offer"); n != 1 {
		t.Errorf("tail printed %d checks, want only the new one:\n%s", n, out.String())
	}
}
