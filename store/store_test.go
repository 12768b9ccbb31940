package store_test

import (
	"context"
	"testing"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// forEachBackend runs fn once per database backend, each in a database of
// its own.
func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	t.Helper()
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) { fn(t, backend) })
	}
}

// openDB opens a migrated database of this test alone on backend.
func openDB(t *testing.T, backend string, opts ...store.Option) *store.DB {
	t.Helper()
	return openURL(t, testutil.DatabaseURL(t, backend), opts...)
}

// openURL opens and migrates databaseURL; the handle is closed after the test.
func openURL(t *testing.T, databaseURL string, opts ...store.Option) *store.DB {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, databaseURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

func newOffer(name string) urltracker.Offer {
	return urltracker.Offer{
		Name:                  name,
		URL:                   "https://offers.example.com/" + name,
		UpdateIntervalSeconds: 300,
		Enabled:               true,
	}
}

func createOffer(t *testing.T, db *store.DB, name string) store.OfferRecord {
	t.Helper()
	rec, err := db.CreateOffer(context.Background(), newOffer(name))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	_, err := store.Open(context.Background(), "mysql://localhost/db")
	if err == nil {
		t.Fatal("Open accepted a mysql:// URL")
	}
}

// TestSQLiteSynchronousSetting checks that URLTRACKER_SQLITE_SYNCHRONOUS
// reaches SQLite: FULL syncs the WAL at every commit, so that an OS crash or
// power loss loses no acknowledged webhook either.
func TestSQLiteSynchronousSetting(t *testing.T) {
	for mode, want := range map[string]int{"NORMAL": 1, "FULL": 2} {
		db := openURL(t, testutil.DatabaseURL(t, "sqlite"), store.WithSQLiteSynchronous(mode))
		var got int
		if err := db.SQL().QueryRow(`PRAGMA synchronous`).Scan(&got); err != nil || got != want {
			t.Errorf("synchronous %s: PRAGMA synchronous = %d (%v), want %d", mode, got, err, want)
		}
	}
}
