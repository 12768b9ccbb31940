package store

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// BenchmarkWriteEvents measures what a batch of 25 new webhook events costs
// the intake's writer, side by side: one statement per event and a counter
// update in a transaction (the write path before issue 17), and WriteEvents
// (one statement, committing on its own, on PostgreSQL).
//
//	go test ./store -run '^$' -bench WriteEvents -benchtime 2s
func BenchmarkWriteEvents(b *testing.B) {
	const batch = 25
	for _, backend := range testutil.Backends {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			db := openTestDB(b, backend)
			offer, err := db.CreateOffer(ctx, urltracker.Offer{Name: "busy", URL: "https://offer.example/", UpdateIntervalSeconds: 300, Enabled: true})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			next := func() []NewEvent {
				events := make([]NewEvent, batch)
				for i := range events {
					n++
					events[i] = NewEvent{
						Event:   urltracker.Event{OfferID: offer.ID, ReceivedAt: time.Now(), ClickID: fmt.Sprintf("click-%d", n), CampaignID: "c1", Outcome: urltracker.OutcomeDebounced},
						Payload: []byte(`{"click_id":"x","campaign_id":"c1","p1":"sub"}`),
					}
				}
				return events
			}
			b.Run("per-event", func(b *testing.B) {
				for b.Loop() {
					events := next()
					err := db.InTx(ctx, func(tx *sql.Tx) error {
						w := db.EventWriter(ctx, tx)
						for _, e := range events {
							if _, _, err := w.Insert(ctx, e.Event, e.Payload); err != nil {
								return err
							}
						}
						return w.CountWebhooks(ctx, offer.ID, batch, time.Now())
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/event")
			})
			b.Run("batch", func(b *testing.B) {
				for b.Loop() {
					if _, err := db.WriteEvents(ctx, nil, next()); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*batch), "µs/event")
			})
		})
	}
}
