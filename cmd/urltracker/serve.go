package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/alert"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/config"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/judge"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/server"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
	"github.com/urltracker/urltracker/trackier"
)

func serve(ctx context.Context, cfg config.Config, logger *slog.Logger) error {
	if !cfg.GoMemLimitSet {
		debug.SetMemoryLimit(cfg.MemoryLimit)
	}
	// A second copy of this instance must fail here, at once and for good
	// (exit 78), before it touches the database: first the SQLite file's
	// lock, then the port.
	if cfg.IsSQLite() {
		lock, err := acquireInstanceLock(cfg.SQLitePath())
		if err != nil {
			return exitWith(ExitConfig, err)
		}
		defer lock.Release()
	}
	ln, err := listen(cfg.Addr)
	if err != nil {
		return exitWith(ExitConfig, err)
	}
	defer ln.Close()
	adminToken, tokenFile, err := adminToken(cfg)
	if err != nil {
		return exitWith(ExitConfig, err)
	}

	db, err := store.Open(ctx, cfg.DatabaseURL, store.WithSQLiteSynchronous(cfg.SQLiteSynchronous))
	if err != nil {
		return readOnlyExit(err)
	}
	defer db.Close()
	applied, err := db.Migrate(ctx)
	if err != nil {
		return readOnlyExit(fmt.Errorf("migrate: %w", err))
	}
	if len(applied) > 0 {
		logger.Info("migrations applied", "migrations", applied)
	}

	trc := tracer.New(tracerConfig(cfg))
	defer trc.CloseIdleConnections()
	mtr := metrics.New(db, logger, jobs.QueueChecks, jobs.QueueActions)
	jdg, err := judge.New(judge.Config{Tracer: trc, CertWarn: time.Duration(cfg.CertWarnDays) * 24 * time.Hour})
	if err != nil {
		return err
	}
	runner := &jobs.Runner{DB: db, Tracer: trc, Judge: jdg, Logger: logger, Metrics: mtr}
	api := trackier.New(cfg.APITimeout)
	queue, err := jobs.NewQueue(db, runner, jobs.Options{
		CheckConcurrency: cfg.CheckConcurrency,
		JobTimeout:       cfg.TraceTimeout + 15*time.Second,
		Logger:           logger.With("component", "river"),
		Retention:        store.RetentionPolicy{MaxAge: cfg.Retention, KeepPerOffer: cfg.RetentionKeep},
		Metrics:          mtr,
		Trackier:         api,
		Alerts:           alert.NewSender(cfg.APITimeout),
		APITimeout:       cfg.APITimeout,
		// Actions are short HTTP calls; a few at a time keep a slow API
		// from holding many connections open.
		ActionConcurrency: 4,
	})
	if err != nil {
		return err
	}

	authn := auth.New(db, auth.Config{
		AdminToken: adminToken, SessionIdle: cfg.SessionIdle, SessionLifetime: cfg.SessionLifetime, TrustedProxies: cfg.TrustedProxies,
	}, time.Now, logger)
	if n, err := authn.EndFormerAdminTokenSessions(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Info("admin token changed: its dashboard sessions ended", "sessions", n)
	}
	intake := intake.New(db, queue, logger, time.Now)
	defer intake.Close()
	var draining atomic.Bool
	srv := &http.Server{
		Handler: server.NewServer(server.Deps{
			DB: db, Intake: intake, Queue: queue, Runner: runner, Tracer: trc, Trackier: api, Logger: logger,
			AdminToken: adminToken, Auth: authn, PublicURL: cfg.PublicURL, Instance: cfg.Instance,
			Now: time.Now, Draining: &draining, Metrics: mtr,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A triggered check may take the whole trace budget before answering.
		WriteTimeout: cfg.TraceTimeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// Serve first: webhooks only insert jobs, which needs no running queue,
	// and River's start (leader election, producers) takes longer than
	// everything before it.
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		return fmt.Errorf("start job queue: %w", err)
	}

	attrs := []any{"version", urltracker.BuildVersion(), "database", db.Dialect(), "addr", ln.Addr().String(), "public_url", cfg.PublicURL}
	if tokenFile != "" {
		attrs = append(attrs, "admin_token_file", tokenFile)
	}
	logger.Info("urltracker started", attrs...)

	select {
	case err := <-serveErr:
		stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		_ = queue.Stop(stopCtx)
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	// Drain: fail readiness first so load balancers stop sending traffic,
	// keep serving meanwhile, then let in-flight requests and jobs finish.
	draining.Store(true)
	logger.Info("shutting down: draining", "drain_delay", cfg.DrainDelay.String())
	time.Sleep(cfg.DrainDelay)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown incomplete", "err", err)
	}
	intake.Close()
	if err := queue.Stop(shutdownCtx); err != nil {
		logger.Warn("job queue stop incomplete; unfinished jobs will be retried", "err", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("urltracker stopped")
	return nil
}

// readOnlyExit gives a database that refuses writes exit code 78: a
// supervisor restarting into the same read-only file or standby would loop
// forever, while the setup needs a fix.
func readOnlyExit(err error) error {
	if store.IsReadOnly(err) {
		return exitWith(ExitConfig, fmt.Errorf("%w: the database cannot be written; fix the owner or mode of the database file and its directory, or point URLTRACKER_DATABASE_URL at a writable primary", err))
	}
	return err
}

// adminToken returns the configured admin token, or one generated on first
// start and stored (mode 0600) beside the SQLite file. It returns the file's
// path so that it can be logged; the token itself never is.
func adminToken(cfg config.Config) (token, file string, err error) {
	if cfg.AdminToken != "" {
		return cfg.AdminToken, "", nil
	}
	if !cfg.IsSQLite() {
		return "", "", &config.Error{Var: "URLTRACKER_ADMIN_TOKEN", Value: "", Allowed: "required with PostgreSQL, so that every instance of a fleet accepts the same token"}
	}
	file = adminTokenFile(cfg)
	if b, err := readPrivateFile(file); err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, file, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", "", fmt.Errorf("read admin token file %s: %w", file, err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	token = base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("store generated admin token in %s: %w", file, err)
	}
	return token, file, nil
}

// adminTokenFile is where serve keeps the admin token it generates.
func adminTokenFile(cfg config.Config) string {
	return filepath.Join(filepath.Dir(cfg.SQLitePath()), "urltracker.admin-token")
}

// readPrivateFile reads a secret file only if no one else could have read
// or replaced it, as ssh does with its keys: it must belong to this user
// and be neither group- nor world-accessible. A token others could read is
// no secret, and one another user can write could be swapped for theirs.
func readPrivateFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("it belongs to uid %d, not to this user (uid %d): chown it to this user, or delete it to have a new token generated", st.Uid, os.Getuid())
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("its mode %04o lets other users at it: chmod 600 %s, and rotate the token (delete the file and restart) if anyone may have read it", perm, path)
	}
	return io.ReadAll(f)
}
