package server

import (
	"fmt"
	"net/http"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/tracer"
)

// Caps of the ad-hoc trace endpoint, so an admin cannot make one request hold
// a worker for long.
const (
	maxTraceRedirects = 50
	maxTraceTimeoutMS = 60000
)

type traceInput struct {
	URL          string `json:"url"`
	MaxRedirects int    `json:"max_redirects"`
	TimeoutMS    int    `json:"timeout_ms"`
	ExpectedHost string `json:"expected_host"`
}

type traceAnswer struct {
	urltracker.Check
	TotalSteps int `json:"total_steps"`
}

// handleTrace traces a URL that belongs to no offer and answers the Check.
func handleTrace(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in traceInput
		if !decodeJSON(w, r, &in) {
			return
		}
		fe := urltracker.FieldErrors{}
		if msg := urltracker.CheckHTTPURL(in.URL); msg != "" {
			fe["url"] = msg
		}
		if in.MaxRedirects < 0 {
			fe["max_redirects"] = fmt.Sprintf("must be from 0 (default) to %d", maxTraceRedirects)
		}
		if in.TimeoutMS < 0 {
			fe["timeout_ms"] = fmt.Sprintf("must be from 0 (default) to %d", maxTraceTimeoutMS)
		}
		if len(fe) > 0 {
			writeFieldErrors(w, fe)
			return
		}
		req := tracer.Request{
			URL:          in.URL,
			ExpectedHost: in.ExpectedHost,
			MaxHops:      min(in.MaxRedirects, maxTraceRedirects),
			Timeout:      time.Duration(min(in.TimeoutMS, maxTraceTimeoutMS)) * time.Millisecond,
		}
		check := d.Tracer.Trace(r.Context(), req)
		writeJSON(w, http.StatusOK, traceAnswer{Check: check, TotalSteps: len(check.Chain)})
	})
}
