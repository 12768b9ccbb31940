package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
)

func TestOffers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)

		o := newOffer("spring-sale")
		o.ExpectedHost = "shop.example.com"
		o.Trackier = urltracker.Trackier{APIBaseURL: "https://api.trackier.com", APIKey: "secret-key", CampaignID: "42"}
		o.Policy = urltracker.Policy{PauseAfterFailures: 3, DestinationParams: map[string]string{"utm_source": "tr"}}
		created, err := db.CreateOffer(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if created.ID <= 0 || len(created.WebhookToken) < 22 {
			t.Fatalf("created offer has id %d and token %q; want a positive id and a token of ≥128 bits", created.ID, created.WebhookToken)
		}
		if !created.Trackier.APIKeySet || created.Policy.PauseAfterFailures != 3 || created.Policy.DestinationParams["utm_source"] != "tr" {
			t.Errorf("created offer lost fields: %+v", created.Offer)
		}

		byToken, err := db.OfferByToken(ctx, created.WebhookToken)
		if err != nil || byToken.ID != created.ID {
			t.Fatalf("OfferByToken = %d, %v; want offer %d", byToken.ID, err, created.ID)
		}
		if _, err := db.OfferByToken(ctx, "no-such-token"); !errors.Is(err, urltracker.ErrNotFound) {
			t.Errorf("OfferByToken(unknown) error = %v, want ErrNotFound", err)
		}

		other := createOffer(t, db, "other")
		list, err := db.Offers(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[0].ID != other.ID || list[1].ID != created.ID {
			t.Errorf("Offers lists %d offers, want the 2 newest first", len(list))
		}
		if n, err := db.ActiveOfferCount(ctx); err != nil || n != 2 {
			t.Errorf("ActiveOfferCount = %d, %v; want 2", n, err)
		}

		// The API key is write-only: an update without one keeps it.
		upd := created.Offer
		upd.URL = "https://offers.example.com/moved"
		upd.Enabled = false
		upd.Trackier.APIKey = ""
		updated, err := db.UpdateOffer(ctx, upd)
		if err != nil {
			t.Fatal(err)
		}
		if updated.URL != upd.URL || updated.Enabled || updated.Trackier.APIKey != "secret-key" {
			t.Errorf("after update: url %q enabled %v key %q; want the new url, disabled, the old key", updated.URL, updated.Enabled, updated.Trackier.APIKey)
		}
		if n, _ := db.ActiveOfferCount(ctx); n != 1 {
			t.Errorf("ActiveOfferCount after disabling one = %d, want 1", n)
		}

		if err := db.DeleteOffer(ctx, created.ID, store.Actor{Instance: "test-instance"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Offer(ctx, created.ID); !errors.Is(err, urltracker.ErrNotFound) {
			t.Errorf("Offer after delete: %v, want ErrNotFound", err)
		}
		if _, err := db.OfferByToken(ctx, created.WebhookToken); !errors.Is(err, urltracker.ErrNotFound) {
			t.Errorf("token of a deleted offer still resolves: %v", err)
		}
		if err := db.DeleteOffer(ctx, created.ID, store.Actor{Instance: "test-instance"}); !errors.Is(err, urltracker.ErrNotFound) {
			t.Errorf("second delete: %v, want ErrNotFound", err)
		}
		audit, err := db.AuditLog(ctx, store.AuditFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].Action != "offer_deleted" || audit[0].Instance != "test-instance" {
			t.Errorf("audit log after a delete = %+v, want one offer_deleted entry by test-instance", audit)
		}
	})
}

func TestOfferConflicts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		first := createOffer(t, db, "taken")
		second := createOffer(t, db, "free")

		tests := []struct {
			name string
			do   func() error
			want error
		}{
			{"create with a taken name", func() error {
				_, err := db.CreateOffer(ctx, newOffer("taken"))
				return err
			}, urltracker.ErrConflict},
			{"rename onto a taken name", func() error {
				o := second.Offer
				o.Name = first.Name
				_, err := db.UpdateOffer(ctx, o)
				return err
			}, urltracker.ErrConflict},
			{"update a missing offer", func() error {
				o := second.Offer
				o.ID = second.ID + 1000
				o.Name = "ghost"
				_, err := db.UpdateOffer(ctx, o)
				return err
			}, urltracker.ErrNotFound},
			{"load a missing offer", func() error {
				_, err := db.Offer(ctx, second.ID+1000)
				return err
			}, urltracker.ErrNotFound},
		}
		for _, tt := range tests {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
			}
		}
		// A failed create leaves nothing behind.
		if list, _ := db.Offers(ctx, 10); len(list) != 2 {
			t.Errorf("%d offers after conflicts, want 2", len(list))
		}
	})
}
