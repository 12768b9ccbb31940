package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/urltracker/urltracker/internal/statusrec"
)

// requestLog writes one line per request. It logs the path but never the
// query string (it holds webhook tokens and visitors' data); a webhook token
// appears shortened, enough to tell offers apart.
func requestLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 64 {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		rec := &statusrec.Recorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if !logger.Enabled(r.Context(), slog.LevelInfo) {
			// URLTRACKER_LOG_LEVEL=warn or error: nothing to build, and no
			// second parse of the query string on the webhook path.
			return
		}
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.Status),
			slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
			slog.String("request_id", id),
		}
		if tok := r.URL.Query().Get("token"); tok != "" {
			attrs = append(attrs, slog.String("token", ShortToken(tok)))
		}
		logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
	})
}

// logFailure logs a request that failed on the service's side at ERROR, or
// at DEBUG when the client went away first: a cancelled request (a closed
// tab, a dashboard refresh cut by navigation) is not the service's failure.
func logFailure(logger *slog.Logger, r *http.Request, msg string, args ...any) {
	level := slog.LevelError
	if r.Context().Err() != nil {
		level = slog.LevelDebug
		args = append(args, "client_gone", true)
	}
	logger.Log(context.WithoutCancel(r.Context()), level, msg, args...)
}

// ShortToken keeps the first 6 characters of a token, for logs.
func ShortToken(tok string) string {
	if len(tok) <= 6 {
		return "…"
	}
	return tok[:6] + "…"
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
