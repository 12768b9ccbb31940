package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestChannelPageCreatesAChannelAndSendsATestMessage: an admin creates a
// Slack channel from the page, sends it a test message, and a local Slack
// receiver gets it; a channel missing its URL is refused with the field
// marked and its secrets not written back.
func TestChannelPageCreatesAChannelAndSendsATestMessage(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	defer slack.Close()
	e := newEnv(t)
	b := e.browser()
	b.login()

	p := b.post("/channels", url.Values{"name": {"ops"}, "kind": {"slack"}, "bot_token": {"do-not-echo"}}, "/channels")
	if p.Status != http.StatusBadRequest {
		t.Fatalf("channel without URL: status %d", p.Status)
	}
	mustContain(t, "refused form", p.Body, "The channel was not created", "required")
	mustNotContain(t, "refused form", p.Body, "do-not-echo")

	p = b.post("/channels", url.Values{"name": {"ops"}, "kind": {"slack"}, "default": {"on"}, "url": {slack.URL + "/services/T/B/SECRETPATH"}}, "/channels")
	if p.Status != http.StatusSeeOther {
		t.Fatalf("create channel: status %d\n%s", p.Status, p.Body)
	}
	page := b.get("/channels")
	mustContain(t, "channels page", page.Body, "ops", "every offer", slack.URL+"/…")
	mustNotContain(t, "channels page", page.Body, "SECRETPATH")

	cs, err := e.DB.Channels(context.Background())
	if err != nil || len(cs) != 1 {
		t.Fatal(cs, err)
	}
	p = b.post("/channels/"+itoa(cs[0].ID)+"/test", url.Values{}, "/channels")
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "done=test-sent") {
		t.Fatalf("test message: status %d to %s", p.Status, p.Location)
	}
	mustContain(t, "after the test", b.get("/channels?done=test-sent").Body, "Test message delivered.", "succeeded")
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0]["text"] != "Test message from urltracker" || got[0]["blocks"] == nil {
		t.Errorf("Slack receiver got %v", got)
	}
}

func TestSnoozeButton(t *testing.T) {
	e := newEnv(t)
	rec := newOffer(t, e.DB, "Shoes", "http://127.0.0.1:9/x")
	b := e.browser()
	b.login()
	path := "/offers/" + itoa(rec.ID)
	p := b.post(path+"/snooze", url.Values{"hours": {"4"}, "reason": {"deploy"}}, path)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("snooze: %d\n%s", p.Status, p.Body)
	}
	mustContain(t, "snoozed offer page", b.get(path+"?done=snoozed").Body, "Snoozed", "deploy", "lift the snooze")
	got, _ := e.DB.Offer(context.Background(), rec.ID)
	if got.Snooze == nil || got.Snooze.Reason != "deploy" {
		t.Fatalf("snooze = %+v", got.Snooze)
	}
	b.post(path+"/snooze", url.Values{"hours": {"0"}}, path)
	if got, _ := e.DB.Offer(context.Background(), rec.ID); got.Snooze != nil {
		t.Errorf("snooze not lifted: %+v", got.Snooze)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
