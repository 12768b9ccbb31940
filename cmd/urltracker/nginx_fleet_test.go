package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// TestNginxFleet runs the real binary three times on one PostgreSQL database
// behind nginx configured by deploy/nginx.conf, and checks what the fleet
// promises: one check per interval whichever instance gets the webhooks, the
// kill switch everywhere within a second, and no acknowledged webhook lost
// when an instance is killed mid-traffic.
func TestNginxFleet(t *testing.T) {
	nginxBin := findNginxBinary(t)
	databaseURL := testutil.PostgresURL(t)
	bin := buildFleetBinary(t)
	upstream := httptest.NewServer(testutil.RedirectChain(2))
	defer upstream.Close()

	fleet := make([]*fleetProcess, 3)
	for i := range fleet {
		fleet[i] = startFleetProcess(t, bin, databaseURL, fmt.Sprintf("node-%d", i+1))
	}
	lb := startNginx(t, nginxBin, fleet)
	instances := make([]*testutil.Client, len(fleet))
	for i, p := range fleet {
		instances[i] = p.Client
	}

	t.Run("one check for 60 webhooks spread over the instances", func(t *testing.T) {
		offer := createOfferVia(t, lb, map[string]any{"name": "spread", "url": upstream.URL + "/hop/1", "update_interval_seconds": fleetInterval,
			// Only clicks schedule its checks: the scheduler would otherwise
			// check the new offer at once, racing the webhooks.
			"check_every_seconds": 0})
		const webhooks = 60
		var scheduled atomic.Int32
		var wg sync.WaitGroup
		for i := range webhooks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status, ans := sendFleetWebhook(t, instances[i%3], offer.WebhookToken, fmt.Sprintf("spread-%d", i), i%2 == 0)
				if status != http.StatusOK {
					t.Errorf("webhook %d: status %d %v", i, status, ans)
				}
				if ans["outcome"] == string(urltracker.OutcomeCheckScheduled) {
					scheduled.Add(1)
				}
			}()
		}
		wg.Wait()
		answered := time.Now()
		if n := scheduled.Load(); n != 1 {
			t.Errorf("%d webhooks scheduled a check, want 1", n)
		}
		var checks []urltracker.Check
		testutil.Eventually(t, 30*time.Second, "the check", func() bool {
			checks = fleetChecks(t, lb, offer.ID)
			return len(checks) > 0
		})
		t.Logf("the check was recorded %s after the last webhook was answered", time.Since(answered).Round(10*time.Millisecond))
		if len(checks) != 1 {
			t.Errorf("%d checks, want 1", len(checks))
		}
		if n := len(fleetEvents(t, lb, offer.ID)); n != webhooks {
			t.Errorf("%d events stored, want %d", n, webhooks)
		}
	})

	t.Run("kill switch toggled through nginx reaches every instance within 1s", func(t *testing.T) {
		delays := measureKillSwitch(t, instances, func(int) *testutil.Client { return lb }, 6)
		t.Logf("kill switch propagation through nginx over %d observations: median %s, max %s", len(delays), medianDuration(delays), slices.Max(delays))
		if fleetStatusOf(t, lb).Enabled != true {
			t.Fatal("automation is off after an even number of toggles")
		}
	})

	t.Run("SIGKILL of an instance loses no acknowledged webhook", func(t *testing.T) {
		offer := createOfferVia(t, lb, map[string]any{"name": "sigkill", "url": upstream.URL + "/hop/1", "update_interval_seconds": fleetInterval})
		const webhooks, senders = 400, 8
		servedBefore := fleet[1].webhooksAnswered(t)
		acked := make([]bool, webhooks)
		var answered atomic.Int32
		killed := make(chan struct{})
		go func() {
			defer close(killed)
			for answered.Load() < webhooks/4 {
				time.Sleep(5 * time.Millisecond)
			}
			fleet[1].Kill(t)
		}()
		hc := &http.Client{Timeout: 30 * time.Second}
		next := make(chan int)
		var wg sync.WaitGroup
		for range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					acked[i] = postFleetWebhook(hc, lb.BaseURL, offer.WebhookToken, fmt.Sprintf("kill-%d", i)) == http.StatusOK
					answered.Add(1)
				}
			}()
		}
		for i := range webhooks {
			next <- i
		}
		close(next)
		wg.Wait()
		<-killed

		stored := map[string]bool{}
		for _, e := range fleetEvents(t, lb, offer.ID) {
			stored[e.ClickID] = true
		}
		ackCount, lost := 0, 0
		for i, ok := range acked {
			if !ok {
				continue
			}
			ackCount++
			if !stored[fmt.Sprintf("kill-%d", i)] {
				lost++
			}
		}
		served := fleet[1].webhooksAnswered(t) - servedBefore // by the killed instance, in this test
		t.Logf("SIGKILL during %d webhooks through nginx: %d acknowledged, %d stored, %d failed, %d acknowledged but lost; %s had answered %d of them",
			webhooks, ackCount, len(stored), webhooks-ackCount, lost, fleet[1].Name, served)
		if served == 0 {
			t.Errorf("%s answered no webhook before it was killed: the test did not kill an instance under traffic", fleet[1].Name)
		}
		if lost > 0 {
			t.Errorf("%d acknowledged webhooks are not stored", lost)
		}
		if ackCount*100 < webhooks*95 {
			t.Errorf("only %d of %d webhooks got a 200, want at least 95%%", ackCount, webhooks)
		}
	})
}

// postFleetWebhook delivers one click as a JSON POST and returns the status,
// or 0 when no answer came.
func postFleetWebhook(hc *http.Client, baseURL, token, clickID string) int {
	body := fmt.Sprintf(`{"click_id":%q,"campaign_id":"c1"}`, clickID)
	resp, err := hc.Post(baseURL+"/api/trackier-webhook?token="+url.QueryEscape(token), "application/json", strings.NewReader(body))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func createOfferVia(t *testing.T, c *testutil.Client, body map[string]any) offerAnswer {
	t.Helper()
	var o offerAnswer
	c.JSON(t, "POST", "/api/offers", body, true, http.StatusCreated, &o)
	return o
}

func fleetChecks(t *testing.T, c *testutil.Client, offerID int64) []urltracker.Check {
	t.Helper()
	var ans struct{ Checks []urltracker.Check }
	c.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/checks", offerID), nil, true, http.StatusOK, &ans)
	return ans.Checks
}

func fleetEvents(t *testing.T, c *testutil.Client, offerID int64) []urltracker.Event {
	t.Helper()
	var ans struct{ Events []urltracker.Event }
	c.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/events?limit=1000", offerID), nil, true, http.StatusOK, &ans)
	return ans.Events
}

// findNginxBinary returns the nginx binary, or skips the test without one unless
// URLTRACKER_REQUIRE_NGINX=1.
func findNginxBinary(t *testing.T) string {
	t.Helper()
	for _, candidate := range []string{"nginx", "/usr/sbin/nginx"} {
		if path, err := exec.LookPath(candidate); err == nil {
			return path
		}
	}
	if os.Getenv("URLTRACKER_REQUIRE_NGINX") == "1" {
		t.Fatal("nginx is required (URLTRACKER_REQUIRE_NGINX=1) but not installed: apt-get install nginx")
	}
	t.Skip("nginx not installed (apt-get install nginx); set URLTRACKER_REQUIRE_NGINX=1 to fail instead")
	return ""
}

// buildFleetBinary builds urltracker into a temporary directory.
func buildFleetBinary(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "urltracker")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// fleetProcess is one urltracker serve started from the built binary.
type fleetProcess struct {
	*testutil.Client
	Name string
	Logs *testutil.SyncBuffer
	cmd  *exec.Cmd
	done chan error
}

// startFleetProcess starts `urltracker serve` on a free loopback port and waits
// until it listens. It is stopped (SIGTERM) at the end of the test.
func startFleetProcess(t *testing.T, bin, databaseURL, name string) *fleetProcess {
	t.Helper()
	p := &fleetProcess{Name: name, Logs: &testutil.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd = exec.Command(bin, "serve")
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "URLTRACKER_") {
			env = append(env, kv)
		}
	}
	p.cmd.Env = append(env,
		"URLTRACKER_ADDR=127.0.0.1:0",
		"URLTRACKER_DATABASE_URL="+databaseURL,
		"URLTRACKER_ADMIN_TOKEN="+testAdminToken,
		"URLTRACKER_INSTANCE="+name,
		"URLTRACKER_TRACE_ALLOW_CIDRS=127.0.0.0/8,::1/128",
		"URLTRACKER_DRAIN_DELAY=0s",
		"URLTRACKER_SHUTDOWN_TIMEOUT=10s",
	)
	p.cmd.Stdout, p.cmd.Stderr = p.Logs, p.Logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.Stop(t) })
	var addr string
	testutil.Eventually(t, 30*time.Second, name+" to start", func() bool {
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited early: %v\n%s", name, err, p.Logs.String())
		default:
		}
		for _, line := range p.Logs.LogLines(t) {
			if line["msg"] == "urltracker started" {
				addr, _ = line["addr"].(string)
				return true
			}
		}
		return false
	})
	p.Client = &testutil.Client{BaseURL: "http://" + addr, AdminToken: testAdminToken}
	return p
}

// webhooksAnswered counts the webhook requests the process has logged.
func (p *fleetProcess) webhooksAnswered(t *testing.T) int {
	n := 0
	for _, line := range p.Logs.LogLines(t) {
		if line["msg"] == "request" && line["path"] == "/api/trackier-webhook" {
			n++
		}
	}
	return n
}

// Kill ends the process with SIGKILL, as a crash or the OOM killer would.
func (p *fleetProcess) Kill(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("kill %s: %v", p.Name, err)
	}
	<-p.done
	p.done <- nil
}

// Stop asks the process to shut down and waits for it.
func (p *fleetProcess) Stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s did not stop within 30s after SIGTERM; killing it", p.Name)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// startNginx runs nginx with deploy/nginx.conf, pointed at fleet and
// listening on a free loopback port, in a prefix directory of its own. It is
// stopped at the end of the test.
func startNginx(t *testing.T, nginxBin string, fleet []*fleetProcess) *testutil.Client {
	t.Helper()
	shipped, err := os.ReadFile(filepath.Join("..", "..", "deploy", "nginx.conf"))
	if err != nil {
		t.Fatal(err)
	}
	site := string(shipped)
	for i, p := range fleet {
		shippedAddr := fmt.Sprintf("server 127.0.0.1:%d ", 3001+i)
		if !strings.Contains(site, shippedAddr) {
			t.Fatalf("deploy/nginx.conf no longer has the line %q the test rewrites", shippedAddr)
		}
		site = strings.Replace(site, shippedAddr, "server "+strings.TrimPrefix(p.BaseURL, "http://")+" ", 1)
	}
	port := freeLoopbackPort(t)
	if !strings.Contains(site, "listen 80;") {
		t.Fatal(`deploy/nginx.conf no longer has the line "listen 80;" the test rewrites`)
	}
	site = strings.Replace(site, "listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port), 1)

	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers must reach the test's private temp directory
	}
	mainConf := fmt.Sprintf(`%s
worker_processes 1;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log %[2]s/access.log;
    client_body_temp_path %[2]s/client_body;
    proxy_temp_path %[2]s/proxy;
    fastcgi_temp_path %[2]s/fastcgi;
    uwsgi_temp_path %[2]s/uwsgi;
    scgi_temp_path %[2]s/scgi;
    include %[2]s/urltracker.conf;
}
`, user, dir)
	for name, content := range map[string]string{"urltracker.conf": site, "nginx.conf": mainConf} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(nginxBin, "-t", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf")).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects deploy/nginx.conf: %v\n%s", err, out)
	}
	var logs testutil.SyncBuffer
	cmd := exec.Command(nginxBin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", filepath.Join(dir, "nginx.conf"))
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT) // graceful stop
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			errorLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error log:\n%s", errorLog)
		}
	})
	lb := &testutil.Client{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", port), AdminToken: testAdminToken}
	testutil.Eventually(t, 10*time.Second, "nginx to answer", func() bool {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("nginx exited: %v\n%s", err, logs.String())
		default:
		}
		resp, err := http.Get(lb.BaseURL + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return lb
}

// freeLoopbackPort returns a loopback port that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
