package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"text/tabwriter"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/config"
	"github.com/urltracker/urltracker/internal/jsonenc"
	"github.com/urltracker/urltracker/tracer"
)

const traceUsage = `usage: urltracker trace [--json] [--expected-host HOST] [--engine http|browser] URL

Follows URL's redirect chain as a check does (same tracer, same limits and
address guard, configured by the URLTRACKER_* variables) and prints every hop
and the verdict. Flags may also follow the URL.

flags:
  --json                 print the Check as JSON
  --expected-host HOST   judge the landing host against HOST
  --engine ENGINE        http (default) or browser: a headless Chromium
                         (URLTRACKER_CHROMIUM), through the same address guard

exit codes: 0 healthy, 1 any other verdict, 2 usage.
`

// traceCmd follows one URL and prints its chain: exit 0 when healthy, 1
// otherwise, 2 on usage errors.
func traceCmd(ctx context.Context, p cmdEnv, args []string) error {
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "")
	expected := fs.String("expected-host", "", "")
	engine := fs.String("engine", urltracker.EngineHTTP, "")
	// Accept flags after the URL too: `urltracker trace URL --json`.
	var positional []string
	rest := args
	for len(rest) > 0 {
		if err := parseFlags(fs, rest, traceUsage, p.stdout, p.stderr); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(positional) != 1 {
		return usageError(p.stderr, traceUsage, errors.New("trace needs exactly one URL"))
	}
	target := positional[0]
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError(p.stderr, traceUsage, fmt.Errorf("%q is not an absolute http(s) URL", target))
	}
	if *engine != urltracker.EngineHTTP && *engine != urltracker.EngineBrowser {
		return usageError(p.stderr, traceUsage, fmt.Errorf("--engine %q: want http or browser", *engine))
	}
	cfg, err := loadConfig(p)
	if err != nil {
		return err
	}
	engines := newEngines(cfg)
	defer engines.Close()
	if *engine == urltracker.EngineBrowser {
		if err := engines.Browser.Available(); err != nil {
			return exitWith(1, err)
		}
	}
	check := engines.Trace(ctx, *engine, tracer.Request{URL: target, ExpectedHost: *expected})
	if *asJSON {
		if err := jsonenc.EncodeIndent(p.stdout, check); err != nil {
			return err
		}
	} else {
		printCheck(p.stdout, check)
	}
	if check.Verdict != urltracker.VerdictHealthy {
		return exitWith(1, fmt.Errorf("verdict %s", check.Verdict))
	}
	return nil
}

func printCheck(w io.Writer, c urltracker.Check) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSTATUS\tTYPE\tTIME\tURL")
	for i, h := range c.Chain {
		status := fmt.Sprint(h.Status)
		if h.Status == 0 {
			status = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%dms\t%s\n", i+1, status, h.RedirectType, h.TimingMS, h.URL)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nverdict: %s in %d ms\n", c.Verdict, c.DurationMS)
	if c.FinalURL != "" {
		fmt.Fprintf(w, "final:   %s\n", c.FinalURL)
	}
	if c.Error != "" {
		fmt.Fprintf(w, "error:   %s\n", c.Error)
	}
}

// tracerConfig maps the URLTRACKER_* tracer variables to the tracer's Config.
func tracerConfig(cfg config.Config) tracer.Config {
	return tracer.Config{
		Timeout:             cfg.TraceTimeout,
		HopTimeout:          cfg.HopTimeout,
		MaxHops:             cfg.MaxHops,
		AllowCIDRs:          cfg.TraceAllowCIDRs,
		UserAgent:           cfg.UserAgent,
		MaxMetaRefreshDelay: cfg.MaxMetaRefreshDelay,
	}
}
