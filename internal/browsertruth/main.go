// Command browsertruth records where headless Chromium lands on the cases
// of the agreement corpus, and writes internal/agreement/truth.json. Run it
// from the repository root after adding cases (only new ones are recorded),
// with -match to record some again, or -all for every case:
//
//	go run ./internal/browsertruth [-all] [-match NAME] [-chromium /usr/bin/chromium] [-parallel 4]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/urltracker/urltracker/internal/agreement"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "browsertruth:", err)
		os.Exit(1)
	}
}

func run() error {
	chromium := flag.String("chromium", "", "Chromium executable (default: chromium on PATH)")
	parallel := flag.Int("parallel", 4, "tabs at a time")
	out := flag.String("out", "internal/agreement/truth.json", "file to write")
	match := flag.String("match", "", "record again the cases whose name contains this")
	all := flag.Bool("all", false, "record every case again; by default only the cases not in the file yet")
	flag.Parse()
	path := *chromium
	if path == "" {
		p, err := exec.LookPath("chromium")
		if err != nil {
			return fmt.Errorf("chromium not found: apt-get install -y chromium, or pass -chromium")
		}
		path = p
	}
	profile, err := os.MkdirTemp("", "browsertruth-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	browser, stop, err := agreement.StartChromium(ctx, path, profile)
	if err != nil {
		return err
	}
	defer stop()

	// Cases already in the file are kept unless -match or -all picks them.
	var truth agreement.Truth
	if b, err := os.ReadFile(*out); err == nil {
		if err := json.Unmarshal(b, &truth); err != nil {
			return fmt.Errorf("read %s: %w", *out, err)
		}
	}
	if truth.Landings == nil || *all {
		truth.Landings = map[string]string{}
	}
	cases := agreement.Cases()
	var todo []agreement.Case
	for _, c := range cases {
		_, known := truth.Landings[c.Name]
		if *match != "" && strings.Contains(c.Name, *match) || *match == "" && !known {
			todo = append(todo, c)
		}
	}
	srv := agreement.NewServer(cases)
	defer srv.Close()
	start := time.Now()
	landings, runErr := agreement.Landings(browser, srv.URL, todo, *parallel)
	for name, l := range landings {
		truth.Landings[name] = l
	}
	truth.Browser = agreement.Version(browser)
	b, err := json.MarshalIndent(truth, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Printf("%d cases recorded with %s in %s\n", len(landings), truth.Browser, time.Since(start).Round(time.Second))
	return runErr
}
