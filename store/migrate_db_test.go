package store_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

func TestMigrate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db, err := store.Open(ctx, testutil.DatabaseURL(t, backend))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		ms, _ := store.Migrations()

		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Applied) != 0 || len(st.Pending) != len(ms) || !st.RiverPending {
			t.Errorf("status of an empty database = %+v, want everything pending", st)
		}

		applied, err := db.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if !slices.Contains(applied, m.Name) {
				t.Errorf("first Migrate applied %v, which lacks %s", applied, m.Name)
			}
		}
		if !slices.ContainsFunc(applied, func(s string) bool { return strings.HasPrefix(s, "river ") }) {
			t.Errorf("first Migrate applied %v, without the job queue's tables", applied)
		}

		st, err = db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Applied) != len(ms) || len(st.Pending) != 0 || st.RiverPending {
			t.Errorf("status after Migrate = %+v, want nothing pending", st)
		}
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("second Migrate applied %v, %v; want nothing", again, err)
		}
	})
}

// TestMigrateRefusesEditedMigration simulates a released migration edited
// after a database applied it: Migrate stops and says why.
func TestMigrateRefusesEditedMigration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		db := openDB(t, backend)
		if _, err := db.SQL().ExecContext(ctx, `UPDATE schema_migrations SET checksum = 'feedfacefeedfacefeedface' WHERE version = 1`); err != nil {
			t.Fatal(err)
		}
		_, err := db.Migrate(ctx)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("Migrate over an edited migration: %v, want an append-only error", err)
		}
	})
}

// TestMigrateConcurrently starts several instances on one empty PostgreSQL
// database at once: one applies the migrations, the others wait and find
// nothing left to do.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	url := testutil.PostgresURL(t)
	const instances = 4
	dbs := make([]*store.DB, instances)
	for i := range dbs {
		db, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs[i] = db
	}
	results := make([][]string, instances)
	errs := make([]error, instances)
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = db.Migrate(ctx)
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for i := range dbs {
		if errs[i] != nil {
			t.Errorf("instance %d: %v", i, errs[i])
		}
		for _, name := range results[i] {
			count[name]++
		}
	}
	ms, _ := store.Migrations()
	for _, m := range ms {
		if count[m.Name] != 1 {
			t.Errorf("migration %s applied %d times, want once", m.Name, count[m.Name])
		}
	}
	if len(count) == 0 {
		t.Fatalf("no instance applied anything: %v", results)
	}
}
