package testutil

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"github.com/urltracker/urltracker"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// Backends are the databases every storage test runs against.
var Backends = []string{"sqlite", "postgres"}

// DefaultTestPostgres is the PostgreSQL server tests use unless
// URLTRACKER_TEST_POSTGRES names another.
const DefaultTestPostgres = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// DatabaseURL returns a URLTRACKER_DATABASE_URL for a database of this test
// alone: a SQLite file in t.TempDir(), or a PostgreSQL schema that is created
// now, selected through search_path (so River's tables land there too) and
// dropped when the test ends.
func DatabaseURL(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return "sqlite:" + filepath.Join(t.TempDir(), "urltracker.db")
	case "postgres":
		return PostgresURL(t)
	}
	t.Fatalf("unknown test database backend %q", backend)
	return ""
}

// PostgresServer returns the URL of the test PostgreSQL server. When it does
// not answer, the test is skipped, or fails if URLTRACKER_REQUIRE_POSTGRES=1.
func PostgresServer(t testing.TB) string {
	t.Helper()
	base := os.Getenv("URLTRACKER_TEST_POSTGRES")
	if base == "" {
		base = DefaultTestPostgres
	}
	if err := reachPostgres(base); err != nil {
		if os.Getenv("URLTRACKER_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("PostgreSQL at %s is required (URLTRACKER_REQUIRE_POSTGRES=1) but unreachable: %v", urltracker.RedactURL(base), err)
		}
		t.Skipf("PostgreSQL at %s unreachable (%v); set URLTRACKER_TEST_POSTGRES, or URLTRACKER_REQUIRE_POSTGRES=1 to fail instead", urltracker.RedactURL(base), err)
	}
	return base
}

// PostgresURL creates a schema of this test's own on the test server and
// returns a URL whose connections use it. The schema is dropped afterwards.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := PostgresServer(t)
	schema := "urltracker_test_" + randomHex(6)
	conn, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() { dropSchema(t, base, schema) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func dropSchema(t testing.TB, base, schema string) {
	conn, err := sql.Open("pgx", base)
	if err != nil {
		t.Errorf("drop test schema %s: %v", schema, err)
		return
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := conn.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
		t.Errorf("drop test schema %s: %v", schema, err)
	}
}

// reached remembers, per server URL, the outcome of the first attempt.
var reached sync.Map

// reachPostgres tries the server once per test binary and URL, so that an
// absent server costs one connect timeout, not one per test.
func reachPostgres(base string) error {
	if v, ok := reached.Load(base); ok {
		err, _ := v.(error)
		return err
	}
	err := func() error {
		conn, err := sql.Open("pgx", base)
		if err != nil {
			return err
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return conn.PingContext(ctx)
	}()
	reached.Store(base, err)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
