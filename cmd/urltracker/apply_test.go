package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runAdminCmd runs `urltracker <cmd> --url a args…` and answers its output
// (with the error, if any) and exit code.
func runAdminCmd(t *testing.T, a *app, env map[string]string, cmd string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	argv := append([]string{"urltracker", cmd, "--url", a.BaseURL}, args...)
	err := run(context.Background(), argv, func(k string) string { return env[k] }, &out, &out)
	if err != nil {
		out.WriteString(err.Error())
		return out.String(), exitCode(err)
	}
	return out.String(), 0
}

const offersYAML = `# two offers, one bound to a Trackier campaign
offers:
  - name: spring-sale
    url: https://shop.example.com/spring?utm=1
    expected_host: shop.example.com
    update_interval_seconds: 600
    check_every_seconds: 900
    trackier:
      campaign_id: "101"
      api_key: ${TRACKIER_KEY}
    policy:
      mode: act
      pause_after_failures: 3
      resume_after_successes: 2
    rules:
      must_contain: ["Spring sale", '/€\s*\d+/']
      max_total_ms: 5000
  - name: newsletter
    url: https://news.example.com/join
    enabled: false
`

// TestApplyCreatesUpdatesAndPrunes applies a file to an empty instance,
// applies it again (nothing changes, and apply says so), edits one field,
// and prunes an offer the file no longer declares; export then writes a file
// that applies as no change.
func TestApplyCreatesUpdatesAndPrunes(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	dir := t.TempDir()
	file := filepath.Join(dir, "offers.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"URLTRACKER_ADMIN_TOKEN": testAdminToken, "TRACKIER_KEY": "key-from-env-7d1e"}
	write(offersYAML)

	out, code := runAdminCmd(t, a, env, "apply", "-f", file, "--dry-run")
	if code != 0 || !strings.Contains(out, `+ create offer "spring-sale"`) || !strings.Contains(out, "plan: 2 to create") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	if offers := listOfferNames(t, a); len(offers) != 0 {
		t.Fatalf("dry run created offers: %v", offers)
	}

	out, code = runAdminCmd(t, a, env, "apply", "-f", file)
	if code != 0 || !strings.Contains(out, `created offer "spring-sale"`) || !strings.Contains(out, "push URL: http") {
		t.Fatalf("first apply: exit %d\n%s", code, out)
	}
	var spring map[string]any
	for _, o := range listOffers(t, a) {
		if o["name"] == "spring-sale" {
			spring = o
		}
	}
	trackier, _ := spring["trackier"].(map[string]any)
	policy, _ := spring["policy"].(map[string]any)
	rules, _ := spring["rules"].(map[string]any)
	if spring == nil || spring["update_interval_seconds"] != 600.0 || spring["check_every_seconds"] != 900.0 ||
		policy["mode"] != "act" || trackier["campaign_id"] != "101" || trackier["api_key_set"] != true {
		t.Fatalf("spring-sale as stored: %v", spring)
	}
	if must, _ := rules["must_contain"].([]any); len(must) != 2 || must[1] != `/€\s*\d+/` || rules["max_total_ms"] != 5000.0 {
		t.Fatalf("spring-sale's rules as stored: %v", rules)
	}
	if strings.Contains(out, "key-from-env-7d1e") {
		t.Errorf("apply printed the API key:\n%s", out)
	}

	out, code = runAdminCmd(t, a, env, "apply", "-f", file)
	if code != 0 || !strings.Contains(out, "no changes: 2 offers already match") {
		t.Fatalf("second apply is not a no-op: exit %d\n%s", code, out)
	}

	// One field changes; the fields the file leaves out of policy stay.
	write(strings.Replace(offersYAML, "pause_after_failures: 3", "pause_after_failures: 5", 1))
	out, code = runAdminCmd(t, a, env, "apply", "-f", file)
	if code != 0 || !strings.Contains(out, `~ update offer "spring-sale": policy.pause_after_failures`) || !strings.Contains(out, "1 to update") {
		t.Fatalf("apply of one change: exit %d\n%s", code, out)
	}

	// The newsletter offer leaves the file: kept without --prune, deleted with it.
	write(strings.Split(strings.Replace(offersYAML, "pause_after_failures: 3", "pause_after_failures: 5", 1), "  - name: newsletter")[0])
	if out, code = runAdminCmd(t, a, env, "apply", "-f", file); code != 0 || !strings.Contains(out, "no changes: the 1 offer already matches") {
		t.Fatalf("apply without prune: exit %d\n%s", code, out)
	}
	if out, code = runAdminCmd(t, a, env, "apply", "-f", dir, "--prune"); code != 0 || !strings.Contains(out, `- delete offer "newsletter"`) {
		t.Fatalf("apply --prune of the directory: exit %d\n%s", code, out)
	}
	if names := listOfferNames(t, a); len(names) != 1 || names[0] != "spring-sale" {
		t.Fatalf("offers after prune: %v", names)
	}

	// Export writes a file that applies as no change, with the key as a reference.
	out, code = runAdminCmd(t, a, env, "export")
	if code != 0 || !strings.Contains(out, "api_key: ${TRACKIER_API_KEY}") || !strings.Contains(out, "check_every_seconds: 900") ||
		!strings.Contains(out, "max_total_ms: 5000") || strings.Contains(out, "key-from-env-7d1e") {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	write(out)
	env["TRACKIER_API_KEY"] = "another-key"
	if out, code = runAdminCmd(t, a, env, "apply", "-f", file); code != 0 || !strings.Contains(out, "no changes: the 1 offer already matches") {
		t.Fatalf("apply of the export: exit %d\n%s", code, out)
	}
}

// TestApplyRefusesBadFiles checks that every mistake in a file is reported
// with its file and line, before anything is sent.
func TestApplyRefusesBadFiles(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	env := map[string]string{"URLTRACKER_ADMIN_TOKEN": testAdminToken, "TRACKIER_KEY": "k"}
	for _, c := range []struct {
		name, body, want string
	}{
		{"unknown key", "offers:\n  - name: a\n    url: https://x.example/\n    intervall: 60\n", `[4:5] unknown field "intervall"`},
		{"unknown policy key", "offers:\n  - name: a\n    url: https://x.example/\n    policy:\n      pause_after: 2\n", `[5:7] unknown field "pause_after"`},
		{"literal key", "offers:\n  - name: a\n    url: https://x.example/\n    trackier:\n      campaign_id: \"1\"\n      api_key: abc123\n", "offers.yaml:6: trackier.api_key must be a ${ENV_VAR} reference"},
		{"unset variable", "offers:\n  - name: a\n    url: https://x.example/\n    trackier:\n      campaign_id: \"1\"\n      api_key: ${NOPE}\n", "offers.yaml:6: trackier.api_key refers to ${NOPE}, which is not set"},
		{"duplicate name", "offers:\n  - name: a\n    url: https://x.example/\n  - name: a\n    url: https://y.example/\n", `offer "a" is declared twice`},
		{"no name", "offers:\n  - url: https://x.example/\n", "offers.yaml:2: offer without a name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "offers.yaml")
			if err := os.WriteFile(file, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
			out, code := runAdminCmd(t, a, env, "apply", "-f", file)
			if code != ctlExitUsage || !strings.Contains(out, c.want) {
				t.Errorf("exit %d, want %d with %q\n%s", code, ctlExitUsage, c.want, out)
			}
		})
	}
	if names := listOfferNames(t, a); len(names) != 0 {
		t.Errorf("bad files created offers: %v", names)
	}

	// An offer the server refuses stops apply with the server's reason, exit 1.
	file := filepath.Join(t.TempDir(), "offers.yaml")
	if err := os.WriteFile(file, []byte("offers:\n  - name: a\n    url: not-a-url\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, code := runAdminCmd(t, a, env, "apply", "-f", file); code != ctlExitFailureFound || !strings.Contains(out, "must be an absolute http") {
		t.Errorf("invalid offer: exit %d\n%s", code, out)
	}
}

func listOffers(t *testing.T, a *app) []map[string]any {
	t.Helper()
	var ans struct {
		Offers []map[string]any `json:"offers"`
	}
	status, body := a.Do(t, "GET", "/api/offers?limit=1000", nil, true)
	if status != http.StatusOK || json.Unmarshal(body, &ans) != nil {
		t.Fatalf("list offers: %d %s", status, body)
	}
	return ans.Offers
}

func listOfferNames(t *testing.T, a *app) []string {
	t.Helper()
	var names []string
	for _, o := range listOffers(t, a) {
		names = append(names, o["name"].(string))
	}
	return names
}
