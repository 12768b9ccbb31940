package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
)

// testAdminToken is the admin token of in-process test instances.
const testAdminToken = "test-admin-token-0123456789abcdef"

// app is one urltracker `serve` running in-process through run().
type app struct {
	*testutil.Client
	Dir    string
	Env    map[string]string
	Logs   *testutil.SyncBuffer
	cancel context.CancelFunc
	done   chan error
}

// appEnv returns the environment of a test instance with its data in dir.
func appEnv(dir string) map[string]string {
	return map[string]string{
		"URLTRACKER_ADDR":              "127.0.0.1:0",
		"URLTRACKER_DATABASE_URL":      "sqlite:" + filepath.Join(dir, "urltracker.db"),
		"URLTRACKER_ADMIN_TOKEN":       testAdminToken,
		"URLTRACKER_TRACE_ALLOW_CIDRS": "127.0.0.0/8,::1/128",
		"URLTRACKER_TRACE_TIMEOUT":     "5s",
		"URLTRACKER_HOP_TIMEOUT":       "2s",
		"URLTRACKER_DRAIN_DELAY":       "0s",
		"URLTRACKER_INSTANCE":          "test",
	}
}

// startApp runs `urltracker serve` with env and waits until it listens. It is
// stopped at the end of the test.
func startApp(t *testing.T, env map[string]string) *app {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a := &app{Env: env, Logs: &testutil.SyncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	a.Dir = filepath.Dir(strings.TrimPrefix(env["URLTRACKER_DATABASE_URL"], "sqlite:"))
	getenv := func(k string) string { return env[k] }
	go func() { a.done <- run(ctx, []string{"urltracker", "serve"}, getenv, a.Logs, a.Logs) }()
	var addr string
	testutil.Eventually(t, 20*time.Second, "urltracker to start", func() bool {
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("serve exited early: %v\n%s", err, a.Logs.String())
		default:
		}
		for _, line := range a.Logs.LogLines(t) {
			if line["msg"] == "urltracker started" {
				addr, _ = line["addr"].(string)
				return true
			}
		}
		return false
	})
	token := env["URLTRACKER_ADMIN_TOKEN"]
	if token == "" {
		b, err := os.ReadFile(filepath.Join(a.Dir, "urltracker.admin-token"))
		if err != nil {
			t.Fatal(err)
		}
		token = strings.TrimSpace(string(b))
	}
	a.Client = &testutil.Client{BaseURL: "http://" + addr, AdminToken: token}
	t.Cleanup(func() { _ = a.Stop() })
	return a
}

// Stop shuts the instance down gracefully and returns run's error.
func (a *app) Stop() error {
	if a.cancel == nil {
		return nil
	}
	a.cancel()
	a.cancel = nil
	select {
	case err := <-a.done:
		return err
	case <-time.After(60 * time.Second):
		return errors.New("serve did not stop within 60s")
	}
}
