package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

// TestPagesStaySmallWhateverStoredPayloadsHold is issue 13: webhooks stored
// before the request bound carried up to a megabyte of macros each, and the
// offer page grew to 7.8 MB. Lists now show every value cut short.
func TestPagesStaySmallWhateverStoredPayloadsHold(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "fat", "url": "https://offer.example/x"})

	// Store what the old webhook let through, the way intake stores events.
	ctx := context.Background()
	db, err := store.Open(ctx, a.Env["URLTRACKER_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	const events = 20
	for i := range events {
		payload := map[string]string{"click_id": fmt.Sprintf("%d-%s", i, strings.Repeat("c", 256<<10))}
		for m := range 500 {
			payload[fmt.Sprintf("m%03d", m)] = strings.Repeat("v", 100)
		}
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, _, err := db.EventWriter(ctx, tx).Insert(ctx, urltracker.Event{
				OfferID: offer.ID, ReceivedAt: time.Now(), ClickID: payload["click_id"], Payload: payload,
				Outcome: urltracker.OutcomeDebounced,
			}, nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	status, body := a.Do(t, "GET", fmt.Sprintf("/api/offers/%d/events?limit=%d", offer.ID, events), nil, true)
	if status != http.StatusOK || len(body) > 1<<20 {
		t.Errorf("events list: status %d, %d bytes for %d events; want 200 and under 1 MiB", status, len(body), events)
	}
	got := eventsOf(t, a, offer.ID)
	if len(got) != events || len(got[0].ClickID) > urltracker.ShownValueLen || !strings.HasSuffix(got[0].ClickID, "…") || len(got[0].Payload) > urltracker.MaxMacros {
		t.Errorf("events list shows a %d-byte click id and %d macros; want at most %d bytes ending in … and %d macros",
			len(got[0].ClickID), len(got[0].Payload), urltracker.ShownValueLen, urltracker.MaxMacros)
	}

	c := signIn(t, a)
	for _, path := range []string{"/offers/%d", "/live/offers/%d"} {
		path = fmt.Sprintf(path, offer.ID)
		if status, page := c.get(path); status != http.StatusOK || len(page) > 256<<10 {
			t.Errorf("%s: status %d, %d bytes; want 200 and under 256 KiB", path, status, len(page))
		}
	}
}
