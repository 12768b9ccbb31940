package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/intake"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/metrics"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/tracer"
)

// BenchmarkWebhookIngest measures the whole webhook path in process: routing,
// macro parsing, token lookup, group commit to SQLite and the JSON answer.
//
//	go test ./server -run '^$' -bench WebhookIngest -benchmem -cpu 2
func BenchmarkWebhookIngest(b *testing.B) {
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	trc := tracer.New(tracer.Config{})
	runner := &jobs.Runner{DB: db, Tracer: trc, Logger: logger}
	queue, err := jobs.NewQueue(db, runner, jobs.Options{CheckConcurrency: 1, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	intake := intake.New(db, queue, logger, time.Now)
	defer intake.Close()
	offer, err := db.CreateOffer(ctx, urltracker.Offer{Name: "bench", URL: "https://offer.example/", UpdateIntervalSeconds: 3600, Enabled: true})
	if err != nil {
		b.Fatal(err)
	}
	h := NewServer(Deps{DB: db, Intake: intake, Queue: queue, Runner: runner, Tracer: trc, Logger: logger,
		AdminToken: "bench-admin-token-0123456789", PublicURL: "http://localhost", Instance: "bench", Now: time.Now, Draining: new(atomic.Bool), Metrics: metrics.New(db, logger)})
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(25) // 50 concurrent requests with -cpu 2, like the load test
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("GET", fmt.Sprintf("/api/trackier-webhook?token=%s&click_id=c%d&campaign_id=1&p1=x", offer.WebhookToken, n.Add(1)), nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
			}
		}
	})
}
