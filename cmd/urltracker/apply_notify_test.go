package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
)

const notifyYAML = `channels:
  - name: ops
    kind: slack
    default: true
    url: ${SLACK_URL}
  - name: on-call mail
    kind: email
    smtp_host: smtp.example.com
    smtp_port: 587
    username: alerts
    password: ${SMTP_PASSWORD}
    from: alerts@example.com
    to: [oncall@example.com]
maintenance:
  - name: nightly
    time_zone: Europe/Berlin
    weekly: {days: [sat, sun], start: "23:00", duration_minutes: 120}
    offers: [shoes]
offers:
  - name: shoes
    url: https://shop.example.com/shoes
    alert: {failure_threshold: 3, success_threshold: 2, remind_every_seconds: 3600}
    channels: [on-call mail]
`

// TestApplyDeclaresChannelsAndMaintenance applies channels (secrets from
// the environment), an offer naming a channel with its alert settings, and
// a window naming the offer; applies again (no change); then exports and
// applies the export (no change).
func TestApplyDeclaresChannelsAndMaintenance(t *testing.T) {
	a := startApp(t, appEnv(t.TempDir()))
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(notifyYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"URLTRACKER_ADMIN_TOKEN": testAdminToken, "SLACK_URL": "https://hooks.slack.example/services/T/B/secret1",
		"SMTP_PASSWORD": "pw-from-env"}

	out, code := runAdminCmd(t, a, env, "apply", "-f", file)
	if code != 0 || !strings.Contains(out, `created channel "ops"`) || !strings.Contains(out, `created maintenance window "nightly"`) {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	var channels struct {
		Channels []urltracker.Channel `json:"channels"`
	}
	a.JSON(t, "GET", "/api/channels", nil, true, http.StatusOK, &channels)
	ids := map[string]urltracker.Channel{}
	for _, c := range channels.Channels {
		ids[c.Name] = c
	}
	if ids["ops"].Target != "https://hooks.slack.example/…" || !ids["ops"].Default || strings.Join(ids["on-call mail"].SecretsSet, ",") != "password" {
		t.Errorf("channels = %+v", channels.Channels)
	}
	offers := listOffers(t, a)
	if len(offers) != 1 {
		t.Fatalf("offers = %v", offers)
	}
	shoes := offers[0]
	if chs, _ := shoes["channels"].([]any); len(chs) != 1 || chs[0] != float64(ids["on-call mail"].ID) {
		t.Errorf("offer channels = %v", shoes["channels"])
	}
	if al, _ := shoes["alert"].(map[string]any); al["failure_threshold"] != float64(3) || al["remind_every_seconds"] != float64(3600) {
		t.Errorf("offer alert = %v", shoes["alert"])
	}
	var windows struct {
		Windows []urltracker.MaintenanceWindow `json:"windows"`
	}
	a.JSON(t, "GET", "/api/maintenance", nil, true, http.StatusOK, &windows)
	if len(windows.Windows) != 1 || len(windows.Windows[0].Offers) != 1 || windows.Windows[0].Offers[0] != int64(shoes["id"].(float64)) {
		t.Errorf("windows = %+v", windows.Windows)
	}

	if out, code := runAdminCmd(t, a, env, "apply", "-f", file); code != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("second apply: exit %d\n%s", code, out)
	}

	// A literal secret is refused.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(notifyYAML, "${SLACK_URL}", "https://hooks.slack.example/services/T/B/literal", 1)), 0o600)
	if out, code := runAdminCmd(t, a, env, "apply", "-f", bad); code == 0 || !strings.Contains(out, "url must be a ${ENV_VAR} reference") {
		t.Errorf("literal secret: exit %d\n%s", code, out)
	}

	out, code = runAdminCmd(t, a, env, "export")
	if code != 0 || !strings.Contains(out, "${URLTRACKER_CHANNEL_OPS_URL}") || !strings.Contains(out, "${URLTRACKER_CHANNEL_ON_CALL_MAIL_PASSWORD}") ||
		strings.Contains(out, "secret1") || strings.Contains(out, "pw-from-env") {
		t.Fatalf("export: exit %d\n%s", code, out)
	}
	exported := filepath.Join(t.TempDir(), "exported.yaml")
	os.WriteFile(exported, []byte(out), 0o600)
	env["URLTRACKER_CHANNEL_OPS_URL"], env["URLTRACKER_CHANNEL_ON_CALL_MAIL_PASSWORD"] = "x", "y"
	if out, code := runAdminCmd(t, a, env, "apply", "-f", exported); code != 0 || !strings.Contains(out, "no changes") {
		t.Errorf("apply of the export: exit %d\n%s", code, out)
	}
}
