package main

import (
	"context"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/chromium"
	"github.com/urltracker/urltracker/config"
	"github.com/urltracker/urltracker/tracer"
)

// engines are the two ways a check can follow a link.
type engines struct {
	HTTP    *tracer.Tracer
	Browser *chromium.Engine
}

func newEngines(cfg config.Config) engines {
	tc := tracerConfig(cfg)
	return engines{
		HTTP:    tracer.New(tc),
		Browser: chromium.New(chromium.Config{Path: cfg.Chromium, Concurrency: cfg.BrowserConcurrency, Tracer: tc}),
	}
}

// Trace runs req with the named engine; "" is the HTTP tracer.
func (e engines) Trace(ctx context.Context, engine string, req tracer.Request) urltracker.Check {
	if engine == urltracker.EngineBrowser {
		return e.Browser.Trace(ctx, req)
	}
	return e.HTTP.Trace(ctx, req)
}

// Close closes the HTTP tracer's idle connections; browsers stop with
// their checks.
func (e engines) Close() { e.HTTP.CloseIdleConnections() }
