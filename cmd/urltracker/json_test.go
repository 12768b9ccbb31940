package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/urltracker/urltracker/internal/testutil"
)

// Raw answers are what a user copies from curl: a push URL with "\u0026" in
// place of "&" makes every Trackier push answer 404.
func TestRawJSONKeepsAmpersandsAndAngleBrackets(t *testing.T) {
	chain := httptest.NewServer(testutil.RedirectChain(1))
	defer chain.Close()
	a := startApp(t, appEnv(t.TempDir()))
	noEscapes := func(what string, body []byte, want string) {
		t.Helper()
		if bytes.Contains(body, []byte(`\u00`)) || !bytes.Contains(body, []byte(want)) {
			t.Errorf("%s: %s\nwant %s unescaped", what, body, want)
		}
	}

	status, body := a.Do(t, "POST", "/api/offers", map[string]any{"name": "raw", "url": chain.URL + "/hop/1?a=1&b=2"}, true)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, body)
	}
	noEscapes("create answer", body, "&click_id={click_id}")
	var offer offerAnswer
	if err := json.Unmarshal(body, &offer); err != nil {
		t.Fatal(err)
	}
	// The copied URL works as it is.
	u, err := url.Parse(offer.WebhookURL)
	if err != nil {
		t.Fatal(err)
	}
	_, push := a.Do(t, "GET", strings.Replace(u.RequestURI(), "p1={p1}", "p1=x%26y", 1), nil, false)
	if !bytes.Contains(push, []byte(`"success":true`)) {
		t.Errorf("push through the copied webhook_url: %s", push)
	}
	_, body = a.Do(t, "GET", fmt.Sprintf("/api/offers/%d/events", offer.ID), nil, true)
	noEscapes("events answer", body, `"p1":"x&y"`)
	_, body = a.Do(t, "GET", "/api/offers", nil, true)
	noEscapes("offer list", body, "?a=1&b=2")
	_, body = a.Do(t, "GET", "/api/%3Cnothing%3E", nil, true)
	noEscapes("error answer", body, "/api/<nothing>")

	var stdout bytes.Buffer
	env := map[string]string{"URLTRACKER_TRACE_ALLOW_CIDRS": "127.0.0.0/8"}
	if err := run(context.Background(), []string{"urltracker", "trace", "--json", chain.URL + "/hop/1?a=1&b=2"},
		func(k string) string { return env[k] }, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	noEscapes("trace --json", stdout.Bytes(), "?a=1&b=2")
}
