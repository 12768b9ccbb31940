package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/config"
)

// command is one subcommand of urltracker. Its run parses its own flags
// (parseFlags) and loads the configuration only afterwards, so that --help,
// an unknown flag or an extra argument never touches a database or a port.
type command struct {
	name    string
	summary string // its line in the overview
	// service commands (serve, migrate) report a failure as one JSON log
	// line, like the rest of their output, for supervisors' log collectors;
	// every other failure is reported as text for people.
	service bool
	run     func(ctx context.Context, p cmdEnv, args []string) error
}

// cmdEnv is what a command may use of the process.
type cmdEnv struct {
	getenv func(string) string
	// environ lists the process's variables that getenv sees, as
	// "NAME=value", to find misspelt URLTRACKER_* names.
	environ        []string
	stdin          io.Reader
	stdout, stderr io.Writer
}

// commands is the command table; `urltracker help` lists it in this order.
func commands() []command {
	return []command{
		{name: "serve", summary: "run the service (webhooks, checks, admin API, dashboard)", service: true, run: serveCmd},
		{name: "migrate", summary: "apply pending database migrations and exit", service: true, run: migrateCmd},
		{name: "check", summary: "preflight: would serve start here? (--json); exit 0 or 78", run: checkCmd},
		{name: "trace", summary: "follow a URL's redirect chain and print it (--json for the Check)", run: traceCmd},
		{name: "apply", summary: "make a running instance match offers declared in YAML (-f FILE, --dry-run, --prune)", run: func(ctx context.Context, p cmdEnv, args []string) error {
			return applyCmd(ctx, args, p.getenv, p.stdin, p.stdout, p.stderr)
		}},
		{name: "export", summary: "write a running instance's offers as YAML for apply", run: func(ctx context.Context, p cmdEnv, args []string) error {
			return exportCmd(ctx, args, p.getenv, p.stdout, p.stderr)
		}},
		{name: "ctl", summary: "operate a running instance over its admin API (status, killswitch, offers, actions, tail)", run: func(ctx context.Context, p cmdEnv, args []string) error {
			return ctlCmd(ctx, args, p.getenv, p.stdout, p.stderr)
		}},
		{name: "user", summary: "manage users who sign in (add, list, disable, enable, reset, totp)", run: userCmd},
		{name: "version", summary: "print the version", run: versionCmd},
		{name: "help", summary: "print this overview, or a command's help: urltracker help COMMAND", run: helpCmd},
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// overview is the usage of urltracker itself.
func overview() string {
	var b strings.Builder
	b.WriteString("usage: urltracker <command> [flags] [arguments]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\n`urltracker help COMMAND` or `urltracker COMMAND --help` prints a command's help.\n" +
		"Configuration comes from URLTRACKER_* environment variables; see README.md.\n")
	return b.String()
}

// run is the whole program; main only calls it, so that tests can start
// urltracker in-process with their own environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithStdin(ctx, args, getenv, os.Stdin, stdout, stderr)
}

// runWithStdin is run reading standard input from stdin.
func runWithStdin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, overview())
		return exitWith(2, errors.New("missing command"))
	}
	name, rest := args[1], args[2:]
	switch name {
	case "--version", "-v":
		name = "version"
	case "--help", "-help", "-h":
		name = "help"
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprint(stderr, overview())
		return exitWith(2, fmt.Errorf("unknown command %q", name))
	}
	var environ []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); getenv(name) != "" {
			environ = append(environ, kv)
		}
	}
	err := cmd.run(ctx, cmdEnv{getenv: getenv, environ: environ, stdin: stdin, stdout: stdout, stderr: stderr}, rest)
	if errors.Is(err, errHelp) {
		return nil
	}
	return err
}

// errHelp ends a command that printed its help on request: exit 0.
var errHelp = errors.New("help printed")

// parseFlags parses a command's flags. -h or --help prints usage to stdout
// and returns errHelp; an unknown flag or a bad value prints usage to
// stderr and returns a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return errHelp
	case err != nil:
		fmt.Fprint(stderr, usage)
		return exitWith(2, err)
	}
	return nil
}

// usageError prints usage to stderr and returns err as a usage error.
func usageError(stderr io.Writer, usage string, err error) error {
	fmt.Fprint(stderr, usage)
	return exitWith(2, err)
}

// noArgs parses the flags of a command that takes no arguments.
func noArgs(fs *flag.FlagSet, args []string, usage string, p cmdEnv) error {
	if err := parseFlags(fs, args, usage, p.stdout, p.stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError(p.stderr, usage, fmt.Errorf("%s takes no arguments, got %q", fs.Name(), fs.Args()))
	}
	return nil
}

// loadConfig reads the configuration; an invalid one exits 78.
func loadConfig(p cmdEnv) (config.Config, error) {
	cfg, err := config.Load(p.getenv)
	if err != nil {
		return cfg, exitWith(ExitConfig, err)
	}
	return cfg, nil
}

const serveUsage = `usage: urltracker serve

Runs the service: the Trackier webhook, the link checks and the actions they
decide, the admin API and the dashboard, on URLTRACKER_ADDR (default :3000).
Applies pending database migrations first. Configuration comes from
URLTRACKER_* environment variables (README.md, "Configuration").

exit codes: 0 stopped by SIGTERM or SIGINT; 78 do not restart (invalid
configuration, port in use, another instance holding this one's lock);
1 any other failure.
`

func serveCmd(ctx context.Context, p cmdEnv, args []string) error {
	if err := noArgs(flag.NewFlagSet("serve", flag.ContinueOnError), args, serveUsage, p); err != nil {
		return err
	}
	cfg, err := loadConfig(p)
	if err != nil {
		return err
	}
	logger := newLogger(p.stdout, cfg.LogLevel).With("instance", cfg.Instance)
	for _, w := range config.Unknown(p.environ) {
		logger.Warn(w)
	}
	return serve(ctx, cfg, logger)
}

const migrateUsage = `usage: urltracker migrate

Applies pending database migrations to URLTRACKER_DATABASE_URL (default
sqlite:urltracker.db) and exits; serve also applies them at start. Safe to
run on several instances of a fleet at once.
`

func migrateCmd(ctx context.Context, p cmdEnv, args []string) error {
	if err := noArgs(flag.NewFlagSet("migrate", flag.ContinueOnError), args, migrateUsage, p); err != nil {
		return err
	}
	cfg, err := loadConfig(p)
	if err != nil {
		return err
	}
	return migrate(ctx, cfg, p.stdout)
}

const checkUsage = `usage: urltracker check [--json]

Preflight: would serve start here and now? Checks the configuration, the
database, its migrations, the port, the instance lock and the data directory,
changing nothing; prints one ✓/✗ line each.

flags:
  --json   print the results as JSON

exit codes: 0 every check passed, 78 one failed, 2 usage.
`

func checkCmd(ctx context.Context, p cmdEnv, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	if err := noArgs(fs, args, checkUsage, p); err != nil {
		return err
	}
	// check reports an invalid configuration as one of its lines.
	return preflight(ctx, *asJSON, p.getenv, p.environ, p.stdout)
}

const versionUsage = `usage: urltracker version

Prints the version of this build.
`

func versionCmd(_ context.Context, p cmdEnv, args []string) error {
	if err := noArgs(flag.NewFlagSet("version", flag.ContinueOnError), args, versionUsage, p); err != nil {
		return err
	}
	fmt.Fprintln(p.stdout, "urltracker", urltracker.BuildVersion())
	return nil
}

const helpUsage = `usage: urltracker help [COMMAND]

Prints the overview of commands, or COMMAND's help.
`

func helpCmd(ctx context.Context, p cmdEnv, args []string) error {
	fs := flag.NewFlagSet("help", flag.ContinueOnError)
	if err := parseFlags(fs, args, helpUsage, p.stdout, p.stderr); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
		fmt.Fprint(p.stdout, overview())
		return nil
	case 1:
		cmd, ok := lookup(fs.Arg(0))
		if !ok {
			fmt.Fprint(p.stderr, overview())
			return exitWith(2, fmt.Errorf("unknown command %q", fs.Arg(0)))
		}
		return cmd.run(ctx, p, []string{"--help"})
	}
	return usageError(p.stderr, helpUsage, errors.New("help takes at most one command"))
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
