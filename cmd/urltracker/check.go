package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urltracker/urltracker/config"
	"github.com/urltracker/urltracker/internal/jsonenc"
	"github.com/urltracker/urltracker/store"
)

// checkResult is one line of the preflight report.
type checkResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Warning marks a line that passes but needs a look.
	Warning bool `json:"warning,omitempty"`
}

// preflight runs `urltracker check`: it answers whether `serve` would start
// here and now, changing nothing and signalling no process. Exit 0 when
// every check passes, 78 otherwise.
func preflight(ctx context.Context, asJSON bool, getenv func(string) string, environ []string, stdout io.Writer) error {
	results := runChecks(ctx, getenv)
	// A misspelt variable is a warning: serve would start, without it.
	for _, w := range config.Unknown(environ) {
		results = append(results, checkResult{Name: "variables", OK: true, Warning: true, Detail: w})
	}
	ok := true
	for _, r := range results {
		ok = ok && r.OK
	}
	if asJSON {
		_ = jsonenc.EncodeIndent(stdout, map[string]any{"ok": ok, "checks": results})
	} else {
		for _, r := range results {
			mark := "✓"
			switch {
			case !r.OK:
				mark = "✗"
			case r.Warning:
				mark = "!"
			}
			fmt.Fprintf(stdout, "%s %-20s %s\n", mark, r.Name, r.Detail)
		}
	}
	if !ok {
		return exitWith(ExitConfig, errors.New("preflight check failed: fix what the ✗ lines say, then run urltracker check again"))
	}
	return nil
}

func runChecks(ctx context.Context, getenv func(string) string) []checkResult {
	cfg, err := config.Load(getenv)
	if err != nil {
		// Without a valid configuration nothing else can be checked.
		return []checkResult{{Name: "configuration", Detail: err.Error()}}
	}
	if !cfg.IsSQLite() {
		// With PostgreSQL serve refuses to generate an admin token.
		if _, _, err := adminToken(cfg); err != nil {
			return []checkResult{{Name: "configuration", Detail: err.Error()}}
		}
	}
	results := []checkResult{{Name: "configuration", OK: true,
		Detail: fmt.Sprintf("valid (database %s, address %s)", cfg.DatabaseKind(), cfg.Addr)}}
	if cfg.IsSQLite() && cfg.AdminToken == "" {
		results = append(results, checkTokenFile(cfg))
	}
	results = append(results, checkDatabase(ctx, cfg)...)
	results = append(results, checkPort(cfg))
	if cfg.IsSQLite() {
		results = append(results, checkLock(cfg), checkDataDir(cfg))
	}
	return results
}

// checkDatabase reports whether the database answers and which migrations
// `serve` would apply. A missing SQLite file is fine: serve creates it.
func checkDatabase(ctx context.Context, cfg config.Config) []checkResult {
	if cfg.IsSQLite() {
		path := cfg.SQLitePath()
		if _, err := os.Stat(filepath.Dir(path)); err != nil {
			return []checkResult{{Name: "database", Detail: "cannot use the directory of sqlite file " + path + ": " + err.Error()}}
		}
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			ms, err := store.Migrations()
			if err != nil {
				return []checkResult{{Name: "migrations", Detail: err.Error()}}
			}
			return []checkResult{
				{Name: "database", OK: true, Detail: "sqlite file " + path + " does not exist yet; serve creates it"},
				{Name: "migrations", OK: true, Detail: strconv.Itoa(len(ms)) + " pending; serve applies them at start"},
			}
		}
	}
	if cfg.IsSQLite() {
		if err := sqliteWritable(cfg.SQLitePath()); err != nil {
			return []checkResult{{Name: "database", Detail: err.Error()}}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return []checkResult{{Name: "database", Detail: "unreachable: " + err.Error()}}
	}
	defer db.Close()
	if readOnly, err := db.ReadOnly(ctx); err != nil || readOnly {
		detail := "refuses writes (a standby, or default_transaction_read_only): point URLTRACKER_DATABASE_URL at the primary"
		if err != nil {
			detail = "cannot tell whether it takes writes: " + err.Error()
		}
		return []checkResult{{Name: "database", Detail: detail}}
	}
	results := []checkResult{{Name: "database", OK: true, Detail: string(db.Dialect()) + " reachable and writable"}}
	st, err := db.Status(ctx)
	switch {
	case err != nil:
		results = append(results, checkResult{Name: "migrations", Detail: "cannot read migration state: " + err.Error()})
	case len(st.Pending) > 0 || st.RiverPending:
		results = append(results, checkResult{Name: "migrations", OK: true,
			Detail: fmt.Sprintf("%d applied, %d pending (job queue pending: %t); serve or urltracker migrate applies them", len(st.Applied), len(st.Pending), st.RiverPending)})
	default:
		results = append(results, checkResult{Name: "migrations", OK: true, Detail: fmt.Sprintf("all %d applied", len(st.Applied))})
	}
	return results
}

// sqliteWritable tells whether this user may write the SQLite file and the
// WAL files beside it, as serve will: SQLite opens a file it may not write
// read-only without a word, and the first write fails.
func sqliteWritable(path string) error {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("sqlite file %s is not writable by this user (%v): fix its owner or mode, or the mount", p, err)
		}
		f.Close()
	}
	return nil
}

// checkTokenFile checks the generated admin token file, if there is one, as
// serve will read it.
func checkTokenFile(cfg config.Config) checkResult {
	file := adminTokenFile(cfg)
	if _, err := readPrivateFile(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return checkResult{Name: "admin token", Detail: fmt.Sprintf("admin token file %s: %v", file, err)}
	}
	return checkResult{Name: "admin token", OK: true, Detail: "URLTRACKER_ADMIN_TOKEN unset: serve uses or generates " + file}
}

func checkPort(cfg config.Config) checkResult {
	ln, err := listen(cfg.Addr)
	if err != nil {
		return checkResult{Name: "port", Detail: err.Error()}
	}
	ln.Close()
	return checkResult{Name: "port", OK: true, Detail: cfg.Addr + " is free"}
}

func checkLock(cfg config.Config) checkResult {
	if err := probeInstanceLock(cfg.SQLitePath()); err != nil {
		return checkResult{Name: "instance lock", Detail: err.Error()}
	}
	return checkResult{Name: "instance lock", OK: true, Detail: "free (" + cfg.SQLitePath() + ")"}
}

// checkDataDir proves the directory of the SQLite file takes new files: the
// database, its WAL, the lock and the generated admin token live there.
func checkDataDir(cfg config.Config) checkResult {
	dir := filepath.Dir(cfg.SQLitePath())
	f, err := os.CreateTemp(dir, ".urltracker-check-*")
	if err != nil {
		return checkResult{Name: "data directory", Detail: fmt.Sprintf("%s is not writable: %v", dir, err)}
	}
	f.Close()
	os.Remove(f.Name())
	return checkResult{Name: "data directory", OK: true, Detail: dir + " is writable"}
}
