package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/urltracker/urltracker"
)

// TestJudgeExpiredOfferRulesAndHistory runs the judge end to end: an
// offer whose link lands on "This offer has expired" gets the verdict
// offer_expired with its signals; rules are validated field by field,
// saved, and fail a working landing with content_mismatch naming the rule;
// the history endpoint counts both checks.
func TestJudgeExpiredOfferRulesAndHistory(t *testing.T) {
	expired := true
	mux := http.NewServeMux()
	mux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/deal/summer", http.StatusFound) })
	mux.HandleFunc("/deal/summer", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if expired {
			fmt.Fprint(w, `<html><head><title>Offer expired | Shop</title></head><body><h1>Sorry, this offer has expired</h1><p>See today's deals.</p></body></html>`)
			return
		}
		fmt.Fprint(w, `<html><head><title>Summer sale | Shop</title></head><body><h1>Summer sale</h1><p>Everything 30% off.</p><img src="/a.jpg"></body></html>`)
	})
	upstream := httptest.NewServer(mux)
	defer upstream.Close()
	a := startApp(t, appEnv(t.TempDir()))
	offer := createOffer(t, a, map[string]any{"name": "summer", "url": upstream.URL + "/go", "check_every_seconds": 0,
		"policy": map[string]any{"confirm_after_seconds": 0}})
	if offer.Rules.MustContain == nil || offer.Rules.MaxHops != 0 {
		t.Errorf("new offer's rules %+v, want empty lists and no limits", offer.Rules)
	}

	c := trigger(t, a, offer.ID, urltracker.VerdictOfferExpired)
	var names []string
	for _, s := range c.Signals {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "title_says_expired") || !strings.Contains(got, "h1_says_expired") {
		t.Errorf("signals %v, want the title and the h1 saying the offer expired", c.Signals)
	}
	if stored := checksOf(t, a, offer.ID); len(stored) != 1 || len(stored[0].Signals) != len(c.Signals) {
		t.Errorf("stored check keeps %d signals, want %d", len(stored[0].Signals), len(c.Signals))
	}

	// Invalid rules: one message per field, nothing saved.
	var bad struct {
		Fields map[string]string `json:"fields"`
	}
	a.JSON(t, "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"rules": map[string]any{
		"must_contain": []string{"/([a-z/"}, "max_total_ms": -1, "max_hops": 1000}}, true, http.StatusBadRequest, &bad)
	for _, f := range []string{"rules.must_contain", "rules.max_total_ms", "rules.max_hops"} {
		if bad.Fields[f] == "" {
			t.Errorf("fields %v: nothing for %s", bad.Fields, f)
		}
	}
	if !strings.Contains(bad.Fields["rules.must_contain"], "not a valid regular expression") {
		t.Errorf("must_contain error %q, want it to say the regex is invalid", bad.Fields["rules.must_contain"])
	}
	status, body := a.Do(t, "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"rules": map[string]any{"must_contian": []string{"x"}}}, true)
	if status != http.StatusBadRequest || !strings.Contains(string(body), "must_contian") {
		t.Errorf("a misspelt rule: %d %s, want 400 naming it", status, body)
	}

	var saved offerAnswer
	a.JSON(t, "PATCH", fmt.Sprintf("/api/offers/%d", offer.ID), map[string]any{"rules": map[string]any{
		"must_contain": []string{"30% off", "Free shipping"}, "max_hops": 3}}, true, http.StatusOK, &saved)
	if len(saved.Rules.MustContain) != 2 || saved.Rules.MaxHops != 3 {
		t.Fatalf("saved rules %+v", saved.Rules)
	}
	expired = false
	c = trigger(t, a, offer.ID, urltracker.VerdictContentMismatch)
	if !strings.Contains(c.Error, `must_contain "Free shipping"`) {
		t.Errorf("error %q, want it to name the rule must_contain \"Free shipping\"", c.Error)
	}

	var h urltracker.History
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/history?window=7d", offer.ID), nil, true, http.StatusOK, &h)
	if h.Window != "7d" || h.Checks != 2 || len(h.Buckets) != 7 || h.HealthyRatio == nil || *h.HealthyRatio != 0 {
		t.Errorf("history %+v, want 7 days holding the 2 failing checks", h)
	}
	if last := h.Buckets[6]; last.Checks != 2 || last.WorstVerdict != urltracker.VerdictOfferExpired {
		t.Errorf("today's bucket %+v, want 2 checks, worst offer_expired", last)
	}
	a.JSON(t, "GET", fmt.Sprintf("/api/offers/%d/history", offer.ID), nil, true, http.StatusOK, &h)
	if h.Window != "24h" || len(h.Buckets) != 24 {
		t.Errorf("default window %q with %d buckets, want 24h in hours", h.Window, len(h.Buckets))
	}
	if status, _ := a.Do(t, "GET", fmt.Sprintf("/api/offers/%d/history?window=1y", offer.ID), nil, true); status != http.StatusBadRequest {
		t.Errorf("window 1y: %d, want 400", status)
	}
	if status, _ := a.Do(t, "GET", "/api/offers/99999/history", nil, true); status != http.StatusNotFound {
		t.Errorf("history of a missing offer: %d, want 404", status)
	}

	// /metrics: the offer is failing and none of its checks was healthy.
	_, metrics := a.Do(t, "GET", "/metrics", nil, false)
	for _, want := range []string{fmt.Sprintf(`urltracker_offer_healthy{offer_id="%d"} 0`, offer.ID),
		fmt.Sprintf(`urltracker_offer_uptime_ratio{offer_id="%d"} 0`, offer.ID)} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
