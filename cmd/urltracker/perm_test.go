package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urltracker/urltracker/config"
	"github.com/urltracker/urltracker/internal/testutil"
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

// TestAdminTokenFileOthersCouldReadIsRefused is issue 13: a token file that
// another user owns, or that group or others may read, was accepted. Like
// ssh, serve refuses it with exit 78 and says what to do; check says so too.
func TestAdminTokenFileOthersCouldReadIsRefused(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, file string)
		want  string
	}{
		{"group-readable", func(t *testing.T, file string) { chmod(t, file, 0o640) }, "chmod 600"},
		{"world-readable", func(t *testing.T, file string) { chmod(t, file, 0o604) }, "chmod 600"},
		{"owned by another user", func(t *testing.T, file string) {
			if err := os.Chown(file, os.Getuid()+1, -1); err != nil {
				t.Skipf("cannot give the file to another user here: %v", err)
			}
		}, "not to this user"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := appEnv(t.TempDir())
			delete(env, "URLTRACKER_ADMIN_TOKEN")
			env["URLTRACKER_ADDR"] = freeAddr(t)
			cfg := config.Config{DatabaseURL: env["URLTRACKER_DATABASE_URL"]}
			if _, _, err := adminToken(cfg); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, adminTokenFile(cfg))

			err := run(context.Background(), []string{"urltracker", "serve"}, func(k string) string { return env[k] }, &testutil.SyncBuffer{}, &testutil.SyncBuffer{})
			if exitCode(err) != ExitConfig || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Errorf("serve: %v (exit %d), want exit %d saying %q", err, exitCode(err), ExitConfig, tc.want)
			}
			code, _, lines := checkReport(t, env)
			if c := lines["admin token"]; code != ExitConfig || c.OK || !strings.Contains(c.Detail, tc.want) {
				t.Errorf("check: exit %d, admin token line %+v; want exit %d and ✗ saying %q", code, c, ExitConfig, tc.want)
			}
		})
	}
}

func chmod(t *testing.T, file string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(file, mode); err != nil {
		t.Fatal(err)
	}
}
