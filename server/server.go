// Package server is urltracker's HTTP interface: the Trackier webhook, the
// admin API, status, health and metrics. Every route is listed in routes.go.
package server

import (
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
	"github.com/urltracker/urltracker/trackier"
)

// Deps are everything the HTTP handlers use. All fields are required.
type Deps struct {
	DB     *store.DB
	Intake *intake.Intake
	// Queue deletes offers, so that their pending jobs are cancelled too.
	Queue    *jobs.Queue
	Runner   *jobs.Runner
	Tracer   *tracer.Tracer
	Trackier *trackier.Client
	Logger   *slog.Logger
	// AdminToken is the break-glass admin token. Auth, when nil, is built
	// from it with the default session lifetimes and no trusted proxies.
	AdminToken string
	Auth       *auth.Service
	PublicURL  string
	Instance   string
	Now        func() time.Time
	// Draining is set when shutdown begins; /readyz then answers 503.
	Draining *atomic.Bool
	Metrics  *metrics.Metrics
}

// NewServer returns the HTTP handler of urltracker.
func NewServer(d Deps) http.Handler {
	if d.Auth == nil {
		d.Auth = auth.New(d.DB, auth.Config{AdminToken: d.AdminToken, SessionIdle: auth.DefaultSessionIdle, SessionLifetime: auth.DefaultSessionLifetime}, d.Now, d.Logger)
	}
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return requestLog(d.Logger, mux)
}
