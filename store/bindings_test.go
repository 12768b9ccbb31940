package store_test

import (
	"context"
	"testing"

	"github.com/urltracker/urltracker/store"
)

func TestCampaignBindingsListsBoundOffersOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		db := openDB(t, backend)
		ctx := context.Background()
		createOffer(t, db, "unbound")
		o := newOffer("bound")
		o.Trackier.APIBaseURL, o.Trackier.APIKey, o.Trackier.CampaignID = "https://api.trackier.com", "k", "101"
		rec, err := db.CreateOffer(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := db.CampaignBindings(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []store.CampaignBinding{{OfferID: rec.ID, APIBaseURL: "https://api.trackier.com", CampaignID: "101"}}
		if len(got) != 1 || got[0] != want[0] {
			t.Errorf("bindings %+v, want %+v", got, want)
		}
	})
}
