package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/config"
)

const usage = `usage: urltracker <command> [flags]

commands:
  serve      run the service (webhooks, checks, admin API)
  migrate    apply pending database migrations and exit
  check      preflight: would serve start here? (--json); exit 0 or 78
  trace URL  follow URL's redirect chain and print it (--json for the Check)
  apply -f F make a running instance match offers declared in YAML (--dry-run, --prune)
  export     write a running instance's offers as YAML for apply
  ctl        operate a running instance over its admin API (status, killswitch, offers, actions, tail)
  version    print the version

configuration comes from URLTRACKER_* environment variables; see README.md.
`

// run is the whole program; main only calls it, so that tests can start
// urltracker in-process with their own environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return exitWith(2, errors.New("missing command"))
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "urltracker", urltracker.Version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	case "check":
		// check reports an invalid configuration as one of its lines.
		return preflight(ctx, rest, getenv, stdout)
	case "ctl":
		// ctl talks to a running instance; it needs no configuration.
		return ctlCmd(ctx, rest, getenv, stdout, stderr)
	case "apply":
		return applyCmd(ctx, rest, getenv, os.Stdin, stdout, stderr)
	case "export":
		return exportCmd(ctx, rest, getenv, stdout, stderr)
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return exitWith(ExitConfig, err)
	}
	logger := newLogger(stdout, cfg.LogLevel).With("instance", cfg.Instance)
	switch cmd {
	case "serve":
		return serve(ctx, cfg, rest, logger)
	case "migrate":
		return migrate(ctx, cfg, stdout)
	case "trace":
		return traceCmd(ctx, cfg, rest, stdout, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return exitWith(2, fmt.Errorf("unknown command %q", cmd))
	}
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
