package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/jobs"
	"github.com/urltracker/urltracker/openapi"
	"github.com/urltracker/urltracker/store"
)

type hourStats struct {
	Webhooks    int64    `json:"webhooks"`
	Checks      int64    `json:"checks"`
	SuccessRate *float64 `json:"success_rate"`
}

type statusOffer struct {
	ID            int64              `json:"id"`
	OfferName     string             `json:"offer_name"`
	Enabled       bool               `json:"enabled"`
	WebhookCount  int64              `json:"webhook_count"`
	CheckCount    int64              `json:"check_count"`
	LastWebhookAt *time.Time         `json:"last_webhook_at"`
	LastCheckAt   *time.Time         `json:"last_check_at"`
	LastVerdict   urltracker.Verdict `json:"last_verdict"`
}

type statusAnswer struct {
	Enabled       bool      `json:"enabled"`
	ActiveOffers  int       `json:"active_offers"`
	StatsLastHour hourStats `json:"stats_last_hour"`
	Instance      string    `json:"instance"`
	Version       string    `json:"version"`
	// Offers is set (possibly empty) for the admin only.
	Offers *[]statusOffer `json:"offers,omitempty"`
}

// handleStatus answers the public status; any valid token (viewer or more)
// adds the offers.
func handleStatus(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.Auth.Bearer(r)
		if err != nil && !errors.Is(err, auth.ErrNoCredentials) && !errors.Is(err, auth.ErrBadCredentials) {
			logFailure(d.Logger, r, "status: authenticate", "err", err)
			writeError(w, http.StatusServiceUnavailable, "storage unavailable, try again")
			return
		}
		ans, err := buildStatus(r.Context(), d, err == nil && p.Role.Allows(urltracker.RoleViewer))
		if err != nil {
			logFailure(d.Logger, r, "status: read figures", "err", err)
			writeError(w, http.StatusServiceUnavailable, "storage unavailable, try again")
			return
		}
		writeJSON(w, http.StatusOK, ans)
	})
}

func buildStatus(ctx context.Context, d Deps, withOffers bool) (statusAnswer, error) {
	ans := statusAnswer{Instance: d.Instance, Version: urltracker.BuildVersion()}
	var err error
	if ans.Enabled, err = d.DB.KillSwitch(ctx); err != nil {
		return ans, err
	}
	if ans.ActiveOffers, err = d.DB.ActiveOfferCount(ctx); err != nil {
		return ans, err
	}
	st, err := d.DB.LastHour(ctx)
	if err != nil {
		return ans, err
	}
	ans.StatsLastHour = hourStats{Webhooks: st.Webhooks, Checks: st.Checks, SuccessRate: st.SuccessRate}
	if withOffers {
		recs, err := d.DB.Offers(ctx, 1000)
		if err != nil {
			return ans, err
		}
		offers := make([]statusOffer, 0, len(recs))
		for _, o := range recs {
			offers = append(offers, statusOffer{
				ID: o.ID, OfferName: o.Name, Enabled: o.Enabled,
				WebhookCount: o.Stats.WebhookCount, CheckCount: o.Stats.CheckCount,
				LastWebhookAt: o.Stats.LastWebhookAt, LastCheckAt: o.Stats.LastCheckAt, LastVerdict: o.Stats.LastVerdict,
			})
		}
		ans.Offers = &offers
	}
	return ans, nil
}

// handleEmergencyToggle sets the fleet-wide kill switch.
func handleEmergencyToggle(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enabled, err := strconv.ParseBool(r.URL.Query().Get("enabled"))
		if err != nil {
			writeError(w, http.StatusBadRequest, "enabled must be true (automation on) or false (stop all checks and actions)")
			return
		}
		p, _ := auth.From(r.Context())
		reason := r.URL.Query().Get("reason")
		if len(reason) > 500 || !utf8.ValidString(reason) || strings.ContainsRune(reason, 0) {
			writeError(w, http.StatusBadRequest, "reason must be valid text of at most 500 bytes")
			return
		}
		previous, err := d.Queue.SetKillSwitch(r.Context(), enabled, p.Actor(d.Instance), reason)
		if err != nil {
			storeError(w, err)
			return
		}
		auditedInStore(r)
		d.Logger.Warn("kill switch set", "previous_state", previous, "current_state", enabled, "by", p.Name, "client_addr", p.Address, "reason", reason)
		writeJSON(w, http.StatusOK, map[string]any{
			"success":        true,
			"previous_state": previous,
			"current_state":  enabled,
			"changed_at":     d.Now().UTC(),
			"instance":       d.Instance,
		})
	})
}

// handleTrigger runs a check now, past the debounce, and answers the Check.
func handleTrigger(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "offerID")
		if !ok {
			return
		}
		check, err := d.Runner.Run(r.Context(), id)
		switch {
		case errors.Is(err, jobs.ErrKillSwitchOff):
			writeError(w, http.StatusForbidden, "the kill switch is off: turn automation back on with POST /api/trackier-emergency-toggle?enabled=true")
		case errors.Is(err, jobs.ErrOfferDisabled):
			writeError(w, http.StatusConflict, "offer is disabled: enable it to check it")
		case errors.Is(err, urltracker.ErrNotFound):
			storeError(w, err)
		case err != nil && r.Context().Err() != nil:
			writeError(w, http.StatusServiceUnavailable, "check interrupted: the request was cancelled")
		case err != nil:
			d.Logger.Error("trigger: check failed", "offer_id", id, "err", err)
			writeError(w, http.StatusServiceUnavailable, "check failed: "+err.Error())
		default:
			writeJSON(w, http.StatusOK, check)
		}
	})
}

// handleOpenAPI serves the OpenAPI document of this API.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := openapi.JSON()
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
}

// handleReadyz says whether this instance should get traffic: database
// reachable, migrations applied, a write accepted, not draining.
func handleReadyz(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Draining != nil && d.Draining.Load() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "draining"})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		err := d.DB.Ping(ctx)
		if errors.Is(err, store.ErrBusy) {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "database does not accept writes in time: busy, its write lock held by another process?: webhooks would wait"})
			d.Logger.Warn("readyz: database does not accept writes", "err", err)
			return
		}
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "database unreachable"})
			d.Logger.Warn("readyz: database unreachable", "err", err)
			return
		}
		st, err := d.DB.Status(ctx)
		if err != nil || len(st.Pending) > 0 || st.RiverPending {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "migrations pending: run urltracker migrate"})
			return
		}
		if err := d.DB.ProbeWrite(ctx, d.Instance); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "database does not accept writes (disk full, read-only file or mount?): webhooks would fail"})
			d.Logger.Warn("readyz: database does not accept writes", "err", err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ready": true, "instance": d.Instance})
	})
}

func isConflict(err error) bool { return errors.Is(err, urltracker.ErrConflict) }
