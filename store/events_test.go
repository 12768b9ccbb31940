package store_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// ingest stores one event the way webhook intake does: the event and its
// count in one transaction, and a redelivered click answered from the stored
// event.
func ingest(ctx context.Context, db *store.DB, e urltracker.Event) (store.IngestResult, error) {
	ids, err := db.WriteEvents(ctx, nil, []store.NewEvent{{Event: e}})
	if err != nil {
		return store.IngestResult{}, err
	}
	if ids[0] == 0 {
		return db.EventByClick(ctx, e.OfferID, e.ClickID)
	}
	return store.IngestResult{EventID: ids[0], Outcome: e.Outcome}, nil
}

func TestIngestEvent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		offer := createOffer(t, db, "ingest")
		at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

		tests := []struct {
			clickID       string
			wantDuplicate bool
		}{
			{"click-1", false},
			{"click-2", false},
			{"click-1", true}, // Trackier redelivered
			{"", false},       // no click id: never a duplicate
			{"", false},
			{"click-2", true},
		}
		ids := map[string]int64{}
		for i, tt := range tests {
			e := urltracker.Event{
				OfferID: offer.ID, ReceivedAt: at.Add(time.Duration(i) * time.Second), ClickID: tt.clickID,
				CampaignID: "7", Payload: map[string]string{"click_id": tt.clickID, "p1": "x"}, Outcome: urltracker.OutcomeDebounced,
			}
			res, err := ingest(ctx, db, e)
			if err != nil {
				t.Fatalf("event %d: %v", i, err)
			}
			if res.Duplicate != tt.wantDuplicate {
				t.Errorf("event %d (click %q): duplicate = %v, want %v", i, tt.clickID, res.Duplicate, tt.wantDuplicate)
			}
			if tt.wantDuplicate && (res.EventID != ids[tt.clickID] || res.Outcome != urltracker.OutcomeDebounced) {
				t.Errorf("duplicate of %q answered %+v, want the stored event %d", tt.clickID, res, ids[tt.clickID])
			}
			if tt.clickID != "" && !tt.wantDuplicate {
				ids[tt.clickID] = res.EventID
			}
		}

		events, err := db.Events(ctx, offer.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 4 {
			t.Fatalf("%d events stored, want 4 (duplicates stored once)", len(events))
		}
		if events[0].ID < events[1].ID {
			t.Error("events are not listed newest first")
		}
		last := events[len(events)-1]
		if last.ClickID != "click-1" || last.CampaignID != "7" || last.Payload["p1"] != "x" || !last.ReceivedAt.Equal(at) {
			t.Errorf("first event read back as %+v", last)
		}
		got, _ := db.Offer(ctx, offer.ID)
		if got.Stats.WebhookCount != 4 || got.Stats.LastWebhookAt == nil || !got.Stats.LastWebhookAt.Equal(at.Add(4*time.Second)) {
			t.Errorf("offer stats %+v, want 4 webhooks, the last at %s", got.Stats, at.Add(4*time.Second))
		}
	})
}

// TestIngestRollsBack checks that an event whose transaction fails leaves
// nothing behind, so that nothing is stored that was not acknowledged.
func TestIngestRollsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		offer := createOffer(t, db, "rollback")
		e := urltracker.Event{OfferID: offer.ID, ReceivedAt: time.Now(), ClickID: "c", Payload: map[string]string{}}

		boom := errors.New("queue unavailable")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := db.WriteEvents(ctx, tx, []store.NewEvent{{Event: e}}); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx error = %v, want the failing step's", err)
		}
		if events, _ := db.Events(ctx, offer.ID, 10); len(events) != 0 {
			t.Fatalf("%d events stored although the transaction failed", len(events))
		}
		if rec, _ := db.Offer(ctx, offer.ID); rec.Stats.WebhookCount != 0 {
			t.Errorf("webhook_count = %d after a failed transaction, want 0", rec.Stats.WebhookCount)
		}
		// The click is not taken: its redelivery is stored.
		if res, err := ingest(ctx, db, e); err != nil || res.Duplicate {
			t.Errorf("redelivery after a failed transaction: %+v, %v; want stored", res, err)
		}
	})
}

// TestIngestConcurrently stores the same clicks from many goroutines at once,
// as several instances receiving Trackier's retries would: each click is
// stored once and the counter matches the stored events.
func TestIngestConcurrently(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		offer := createOffer(t, db, "busy")

		const workers, clicks, anonymous = 8, 40, 5
		var wg sync.WaitGroup
		errs := make(chan error, workers*(clicks+anonymous))
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range clicks + anonymous {
					clickID := ""
					if i < clicks {
						clickID = fmt.Sprintf("click-%d", (i+w*5)%clicks) // every worker sends every click, in another order
					}
					e := urltracker.Event{OfferID: offer.ID, ReceivedAt: time.Now(), ClickID: clickID, Payload: map[string]string{"click_id": clickID}}
					if _, err := ingest(ctx, db, e); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}

		want := clicks + workers*anonymous
		events, err := db.Events(ctx, offer.ID, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != want {
			t.Errorf("%d events stored, want %d", len(events), want)
		}
		rec, _ := db.Offer(ctx, offer.ID)
		if rec.Stats.WebhookCount != int64(want) {
			t.Errorf("webhook_count = %d, want %d", rec.Stats.WebhookCount, want)
		}
		stats, _ := db.LastHour(ctx)
		if stats.Webhooks != int64(want) {
			t.Errorf("webhooks in the last hour = %d, want %d", stats.Webhooks, want)
		}
	})
}

// TestWriteEventsBatch stores one batch holding new clicks, a click stored
// by an earlier batch, the same new click twice and events without click
// id, for two offers: each id returned belongs to the event at its position,
// redeliveries are not stored, and each offer's webhook count grows by what
// was stored.
func TestWriteEventsBatch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		a, b := createOffer(t, db, "batch-a"), createOffer(t, db, "batch-b")
		at := time.Now().Truncate(time.Microsecond)
		ev := func(offer int64, click string, i int) store.NewEvent {
			return store.NewEvent{Event: urltracker.Event{OfferID: offer, ReceivedAt: at.Add(time.Duration(i) * time.Second), ClickID: click,
				CampaignID: "c1", Payload: map[string]string{"n": fmt.Sprint(i)}, Outcome: urltracker.OutcomeDebounced}}
		}
		if _, err := db.WriteEvents(ctx, nil, []store.NewEvent{ev(a.ID, "old", 0)}); err != nil {
			t.Fatal(err)
		}
		batch := []store.NewEvent{
			ev(b.ID, "b1", 1), ev(a.ID, "old", 2), ev(a.ID, "a1", 3), ev(a.ID, "a1", 4),
			ev(a.ID, "", 5), ev(b.ID, "", 6), ev(a.ID, "a2", 7), ev(b.ID, "old", 8),
		}
		ids, err := db.WriteEvents(ctx, nil, batch)
		if err != nil {
			t.Fatal(err)
		}
		wantStored := []bool{true, false, true, false, true, true, true, true}
		for i, id := range ids {
			if (id != 0) != wantStored[i] {
				t.Errorf("event %d (offer %d, click %q): id %d, want stored %t", i, batch[i].Event.OfferID, batch[i].Event.ClickID, id, wantStored[i])
			}
		}
		for _, offer := range []int64{a.ID, b.ID} {
			events, err := db.Events(ctx, offer, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range events {
				for i, id := range ids {
					if id == e.ID && (batch[i].Event.OfferID != offer || batch[i].Event.ClickID != e.ClickID || e.Payload["n"] != fmt.Sprint(i+1)) {
						t.Errorf("id %d returned for event %d (click %q) holds offer %d, click %q, payload %v", id, i, batch[i].Event.ClickID, offer, e.ClickID, e.Payload)
					}
				}
			}
		}
		for offer, want := range map[int64]int64{a.ID: 4, b.ID: 3} {
			rec, err := db.Offer(ctx, offer)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Stats.WebhookCount != want {
				t.Errorf("offer %d: webhook_count %d, want %d", offer, rec.Stats.WebhookCount, want)
			}
			if offer == b.ID && (rec.Stats.LastWebhookAt == nil || !rec.Stats.LastWebhookAt.Equal(at.Add(8*time.Second))) {
				t.Errorf("offer b: last_webhook_at %v, want %v", rec.Stats.LastWebhookAt, at.Add(8*time.Second))
			}
		}
	})
}
