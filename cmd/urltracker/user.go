package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/store"
)

const userUsage = `usage: urltracker user <add|list|disable|enable|reset|totp> [flags] [NAME]

Manages the people who sign in to the dashboard and the API, directly in
URLTRACKER_DATABASE_URL (a running serve needs no restart). Creates the
first admin of a new installation; the generated admin token (or
URLTRACKER_ADMIN_TOKEN) also signs in, as break-glass.

  user add NAME --role viewer|operator|admin [--password-stdin]
      adds a user; without --password-stdin a password is generated and
      printed once
  user list [--json]
      lists users: name, role, second factor, disabled
  user disable NAME
      refuses the user's sign-ins and tokens and ends their sessions
  user enable NAME
      lets a disabled user in again
  user reset NAME [--password-stdin]
      sets a new password (generated and printed unless given), removes
      the second factor and ends the user's sessions
  user totp NAME
      gives the user a new second factor; prints the secret, its
      otpauth:// URI and ten one-time recovery codes, once

Every change is recorded in the audit log as "cli:$USER".

exit codes: 0 done, 1 failed, 2 usage, 78 invalid configuration.
`

func userCmd(ctx context.Context, p cmdEnv, args []string) error {
	fs := flag.NewFlagSet("user", flag.ContinueOnError)
	role := fs.String("role", "", "")
	passwordStdin := fs.Bool("password-stdin", false, "")
	asJSON := fs.Bool("json", false, "")
	// Flags may come before or after the subcommand and the name.
	var positional []string
	for {
		if err := parseFlags(fs, args, userUsage, p.stdout, p.stderr); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(positional) == 0 {
		return usageError(p.stderr, userUsage, errors.New("user: want add, list, disable, enable, reset or totp"))
	}
	sub, rest := positional[0], positional[1:]
	wantArgs := 1
	switch sub {
	case "list":
		wantArgs = 0
	case "add", "disable", "enable", "reset", "totp":
	default:
		return usageError(p.stderr, userUsage, fmt.Errorf("user: unknown subcommand %q", sub))
	}
	if len(rest) != wantArgs {
		return usageError(p.stderr, userUsage, fmt.Errorf("user %s: want %d argument(s), got %q", sub, wantArgs, rest))
	}
	if *role != "" && sub != "add" {
		return usageError(p.stderr, userUsage, fmt.Errorf("user %s: --role is for add", sub))
	}
	cfg, err := loadConfig(p)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	u := userTool{db: db, p: p, by: store.Actor{Name: "cli:" + osUser(p.getenv), Instance: cfg.Instance}}
	name := ""
	if len(rest) > 0 {
		name = rest[0]
	}
	readPassword := func() (string, bool, error) {
		if !*passwordStdin {
			return auth.NewPassword(), true, nil
		}
		line, err := bufio.NewReader(p.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), false, nil
	}
	switch sub {
	case "list":
		return u.list(ctx, *asJSON)
	case "add":
		r, err := urltracker.ParseRole(*role)
		if err != nil {
			return usageError(p.stderr, userUsage, fmt.Errorf("user add: --role: %w", err))
		}
		if msg := urltracker.ValidUserName(name); msg != "" {
			return usageError(p.stderr, userUsage, fmt.Errorf("user add: name %q: %s", name, msg))
		}
		password, generated, err := readPassword()
		if err != nil {
			return err
		}
		return u.add(ctx, name, r, password, generated)
	case "disable", "enable":
		return u.setDisabled(ctx, name, sub == "disable")
	case "reset":
		password, generated, err := readPassword()
		if err != nil {
			return err
		}
		return u.reset(ctx, name, password, generated)
	case "totp":
		return u.totp(ctx, name)
	}
	return nil
}

func osUser(getenv func(string) string) string {
	if v := getenv("USER"); v != "" {
		return v
	}
	if v := os.Getenv("USER"); v != "" {
		return v
	}
	return fmt.Sprint(os.Getuid())
}

type userTool struct {
	db *store.DB
	p  cmdEnv
	by store.Actor
}

func (u userTool) list(ctx context.Context, asJSON bool) error {
	users, err := u.db.Users(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		b, _ := json.MarshalIndent(map[string]any{"users": users}, "", "  ")
		fmt.Fprintln(u.p.stdout, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(u.p.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tSECOND FACTOR\tSTATE")
	for _, x := range users {
		state, tf := "active", "no"
		if x.Disabled {
			state = "disabled"
		}
		if x.TOTP {
			tf = fmt.Sprintf("yes (%d recovery codes)", len(x.RecoveryCodes))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", x.Name, x.Role, tf, state)
	}
	return tw.Flush()
}

func (u userTool) add(ctx context.Context, name string, role urltracker.Role, password string, generated bool) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return exitWith(2, err)
	}
	x, err := u.db.CreateUser(ctx, name, role, hash)
	if errors.Is(err, urltracker.ErrConflict) {
		return fmt.Errorf("user %s exists already: use `urltracker user reset %s` for a new password", name, name)
	}
	if err != nil {
		return err
	}
	if err := u.db.Audit(ctx, u.by, "user_added", map[string]any{"user_id": x.ID, "name": x.Name, "role": x.Role}); err != nil {
		return err
	}
	fmt.Fprintf(u.p.stdout, "added %s (%s)\n", x.Name, x.Role)
	if generated {
		fmt.Fprintf(u.p.stdout, "password: %s\n(shown once: hand it over safely; they can sign in at the dashboard now)\n", password)
	}
	return nil
}

func (u userTool) find(ctx context.Context, name string) (store.User, error) {
	x, err := u.db.UserByName(ctx, name)
	if errors.Is(err, urltracker.ErrNotFound) {
		return x, fmt.Errorf("no user %q: `urltracker user list` shows who exists", name)
	}
	return x, err
}

func (u userTool) setDisabled(ctx context.Context, name string, disabled bool) error {
	x, err := u.find(ctx, name)
	if err != nil {
		return err
	}
	if _, err := u.db.UpdateUser(ctx, x.ID, store.UserChange{Disabled: &disabled}); err != nil {
		return err
	}
	action, done := "user_enabled", "enabled"
	if disabled {
		action, done = "user_disabled", "disabled (sessions ended, tokens refused)"
	}
	if err := u.db.Audit(ctx, u.by, action, map[string]any{"user_id": x.ID, "name": x.Name}); err != nil {
		return err
	}
	fmt.Fprintf(u.p.stdout, "%s %s\n", x.Name, done)
	return nil
}

func (u userTool) reset(ctx context.Context, name, password string, generated bool) error {
	x, err := u.find(ctx, name)
	if err != nil {
		return err
	}
	hash, err := auth.HashPassword(password)
	if err != nil {
		return exitWith(2, err)
	}
	empty, none := "", []string{}
	if _, err := u.db.UpdateUser(ctx, x.ID, store.UserChange{PasswordHash: &hash, TOTPSecret: &empty, TOTPPending: &empty, RecoveryCodes: &none}); err != nil {
		return err
	}
	if err := u.db.Audit(ctx, u.by, "user_reset", map[string]any{"user_id": x.ID, "name": x.Name, "second_factor_removed": x.TOTP}); err != nil {
		return err
	}
	fmt.Fprintf(u.p.stdout, "%s: new password set, second factor removed, sessions ended\n", x.Name)
	if generated {
		fmt.Fprintf(u.p.stdout, "password: %s\n(shown once)\n", password)
	}
	return nil
}

func (u userTool) totp(ctx context.Context, name string) error {
	x, err := u.find(ctx, name)
	if err != nil {
		return err
	}
	secret := auth.NewTOTPSecret()
	codes, hashes := auth.NewRecoveryCodes(10)
	empty := ""
	if _, err := u.db.UpdateUser(ctx, x.ID, store.UserChange{TOTPSecret: &secret, TOTPPending: &empty, RecoveryCodes: &hashes}); err != nil {
		return err
	}
	if err := u.db.Audit(ctx, u.by, "user_totp_set", map[string]any{"user_id": x.ID, "name": x.Name}); err != nil {
		return err
	}
	fmt.Fprintf(u.p.stdout, "%s now signs in with a code from an authenticator app (sessions ended).\n", x.Name)
	fmt.Fprintf(u.p.stdout, "secret: %s\nuri:    %s\nrecovery codes (each works once; shown once):\n", secret, auth.TOTPURI("urltracker", x.Name, secret))
	for _, c := range codes {
		fmt.Fprintf(u.p.stdout, "  %s\n", c)
	}
	return nil
}
