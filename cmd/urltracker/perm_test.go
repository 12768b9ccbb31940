package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/urltracker/urltracker/config"
)

func TestAdminTokenFileIsPrivateAndReused(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Config{DatabaseURL: "sqlite:" + filepath.Join(dir, "u.db")}
	tok1, file, err := adminToken(cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v, want 0600", info.Mode().Perm())
	}
	tok2, _, err := adminToken(cfg)
	if err != nil || tok2 != tok1 {
		t.Errorf("second start got a different token (%v)", err)
	}
	if len(tok1) < 40 {
		t.Errorf("generated token %d chars, want 256 bits", len(tok1))
	}
}
