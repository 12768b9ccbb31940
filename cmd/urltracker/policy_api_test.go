package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/urltracker/urltracker/internal/testutil"
)

// TestOfferPolicyFieldsDefaultsAndValidation creates, edits and refuses
// offers through the admin API, on both databases, and reads back what a
// user would see.
func TestOfferPolicyFieldsDefaultsAndValidation(t *testing.T) {
	for _, backend := range testutil.Backends {
		t.Run(backend, func(t *testing.T) {
			env := appEnv(t.TempDir())
			if backend == "postgres" {
				env["URLTRACKER_DATABASE_URL"] = testutil.DatabaseURL(t, backend)
			} else {
				env["URLTRACKER_DATABASE_URL"] = "sqlite:" + filepath.Join(t.TempDir(), "u.db")
			}
			a := startApp(t, env)
			type view struct {
				ID                int64 `json:"id"`
				CheckEverySeconds int   `json:"check_every_seconds"`
				Policy            struct {
					Mode                  string `json:"mode"`
					HoldStatus            string `json:"hold_status"`
					ConfirmAfterSeconds   int    `json:"confirm_after_seconds"`
					PauseAfterFailures    int    `json:"pause_after_failures"`
					UpdateDestination     bool   `json:"update_destination"`
					AutoUpdateDestination bool   `json:"auto_update_destination"`
				} `json:"policy"`
			}
			var created view
			a.JSON(t, http.MethodPost, "/api/offers", map[string]any{"name": "new", "url": "https://shop.example/"}, true, http.StatusCreated, &created)
			p := created.Policy
			if created.CheckEverySeconds != 3600 || p.Mode != "observe" || p.HoldStatus != "disabled" || p.ConfirmAfterSeconds != 30 || p.AutoUpdateDestination {
				t.Errorf("new offer = %+v; want checks every 3600 s, observe mode, hold disabled, confirm after 30 s", created)
			}

			// A PATCH of one policy field keeps the others.
			var patched view
			a.JSON(t, http.MethodPatch, fmt.Sprintf("/api/offers/%d", created.ID), map[string]any{
				"check_every_seconds": 0,
				"policy":              map[string]any{"hold_status": "paused", "confirm_after_seconds": 0},
			}, true, http.StatusOK, &patched)
			p = patched.Policy
			if patched.CheckEverySeconds != 0 || p.Mode != "observe" || p.HoldStatus != "paused" || p.ConfirmAfterSeconds != 0 {
				t.Errorf("patched offer = %+v; want only check_every_seconds, hold_status and confirm_after_seconds changed", patched)
			}

			for _, tt := range []struct {
				name  string
				body  map[string]any
				field string
			}{
				{"unknown mode", map[string]any{"policy": map[string]any{"mode": "pause-everything"}}, "policy.mode"},
				{"hold status Trackier lifts by itself", map[string]any{"policy": map[string]any{"hold_status": "suspended"}}, "policy.hold_status"},
				{"negative confirmation", map[string]any{"policy": map[string]any{"confirm_after_seconds": -1}}, "policy.confirm_after_seconds"},
				{"negative schedule", map[string]any{"check_every_seconds": -5}, "check_every_seconds"},
				{"auto update without proposals", map[string]any{"policy": map[string]any{"auto_update_destination": true}}, "policy.auto_update_destination"},
			} {
				var answer struct {
					Success bool              `json:"success"`
					Fields  map[string]string `json:"fields"`
				}
				a.JSON(t, http.MethodPatch, fmt.Sprintf("/api/offers/%d", created.ID), tt.body, true, http.StatusBadRequest, &answer)
				if answer.Success || answer.Fields[tt.field] == "" {
					t.Errorf("%s: answer %+v, want an error on %s", tt.name, answer, tt.field)
				}
			}
			status, body := a.Do(t, http.MethodPatch, fmt.Sprintf("/api/offers/%d", created.ID), `{"policy":{"mode":5}}`, true)
			if status != http.StatusBadRequest {
				t.Errorf("policy of the wrong type: %d %s, want 400", status, body)
			}
		})
	}
}
