// Command urltracker checks the links behind Trackier campaigns and acts on
// their health. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first signal starts a graceful drain; giving the signals back
		// to their default handling lets a second one end the process at once.
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		code := exitCode(err)
		if code != 2 && isService(os.Args) {
			// One JSON line like every other log line, so that supervisors'
			// log collectors parse the reason a start failed.
			slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error(err.Error(), "exit_code", code)
		} else {
			fmt.Fprintln(os.Stderr, "urltracker:", err)
		}
		os.Exit(code)
	}
}

// isService tells whether args run a service command (serve, migrate).
func isService(args []string) bool {
	if len(args) < 2 {
		return false
	}
	cmd, ok := lookup(args[1])
	return ok && cmd.service
}

// ExitConfig is the exit code meaning "do not restart me": invalid
// configuration, port in use, another instance holding the lock.
const ExitConfig = 78

// exitError carries the process exit code of an error.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitWith(code int, err error) error { return &exitError{code: code, err: err} }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}
