package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	cfg, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != ":3000" || cfg.DatabaseURL != "sqlite:urltracker.db" || cfg.TraceTimeout != 30*time.Second ||
		cfg.HopTimeout != 10*time.Second || cfg.MaxHops != 20 || cfg.APITimeout != 30*time.Second ||
		cfg.CheckConcurrency != 8 || cfg.PublicURL != "http://localhost:3000" || cfg.Instance == "" ||
		cfg.MemoryLimit != 400<<20 || len(cfg.TraceAllowCIDRs) != 0 || cfg.SQLiteSynchronous != "NORMAL" {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestInvalidValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"URLTRACKER_ADDR":               "3000",
		"URLTRACKER_DATABASE_URL":       "mysql://x",
		"URLTRACKER_ADMIN_TOKEN":        "short",
		"URLTRACKER_TRACE_ALLOW_CIDRS":  "10.0.0.0/8,not-a-cidr",
		"URLTRACKER_TRACE_TIMEOUT":      "30",
		"URLTRACKER_HOP_TIMEOUT":        "-1s",
		"URLTRACKER_MAX_HOPS":           "0",
		"URLTRACKER_API_TIMEOUT":        "soon",
		"URLTRACKER_CHECK_CONCURRENCY":  "many",
		"URLTRACKER_PUBLIC_URL":         "tracker.example.com",
		"URLTRACKER_LOG_LEVEL":          "loud",
		"URLTRACKER_MEMORY_LIMIT":       "1KB",
		"URLTRACKER_SQLITE_SYNCHRONOUS": "OFF",
	}
	for name, value := range cases {
		_, err := Load(env(map[string]string{name: value}))
		var cerr *Error
		if !errors.As(err, &cerr) || cerr.Var != name || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v, want one naming the variable", name, value, err)
		}
	}
}

// TestReadmeDocumentsEveryVariable keeps the README's configuration table
// true: every variable Load reads is listed there.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Variables {
		if !strings.Contains(string(readme), "`"+v.Name+"`") {
			t.Errorf("README.md does not document %s", v.Name)
		}
	}
}
