package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/notify"
)

// receiver is a local HTTP server that records what it was sent and answers
// from a script of (status, body, header) replies, the last one repeating.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []received
	replies  []reply
}

type received struct {
	Path   string
	Header http.Header
	Body   []byte
}

type reply struct {
	status int
	body   string
	header map[string]string
}

func newReceiver(t *testing.T, replies ...reply) *receiver {
	t.Helper()
	r := &receiver{replies: replies}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.requests = append(r.requests, received{req.URL.Path, req.Header.Clone(), body})
		rep := reply{status: 200}
		if len(r.replies) > 0 {
			rep = r.replies[0]
			if len(r.replies) > 1 {
				r.replies = r.replies[1:]
			}
		}
		r.mu.Unlock()
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) last(t *testing.T) received {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.requests) == 0 {
		t.Fatal("the receiver got nothing")
	}
	return r.requests[len(r.requests)-1]
}

// outage is a failing notice of offer #7 whose outage started 90 minutes
// before it.
func outage() urltracker.Notice {
	at := time.Date(2026, 12, 2, 1, 30, 0, 0, time.UTC)
	start := at.Add(-90 * time.Minute)
	return urltracker.Notice{
		Event: urltracker.NoticeReminder, Title: `Offer "shoes <EU>" is still failing: broken`,
		Text:    "Broken since 2026-12-02 00:00 UTC (1h 30m). urltracker held Trackier campaign cmp-7 (disabled).",
		OfferID: 7, OfferName: "shoes <EU>", Verdict: urltracker.VerdictBroken, CheckID: 42,
		FinalURL: "https://shop.example/eu", Error: "HTTP 500", OutageStartedAt: &start, At: at,
		Link: "https://tracker.example/offers/7",
	}
}

func channel(kind urltracker.ChannelKind, url string) urltracker.Channel {
	return urltracker.Channel{Name: string(kind), Kind: kind, Secrets: urltracker.ChannelSecrets{URL: url}}.Normalize()
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	return v
}

// at walks a decoded JSON document: keys of objects, indexes of arrays.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %v is not an object", path, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: %v is not an array with index %d", path, v, k)
			}
			v = a[k]
		}
	}
	return v
}

func TestSlackBlockKitMessage(t *testing.T) {
	r := newReceiver(t, reply{status: 200, body: "ok"})
	s := notify.NewSender(5 * time.Second)
	res, err := s.Send(context.Background(), channel(urltracker.ChannelSlack, r.URL+"/services/T0/B0/secret"), outage())
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || strings.Contains(res.Target, "secret") {
		t.Errorf("result = %+v", res)
	}
	got := r.last(t)
	if got.Path != "/services/T0/B0/secret" || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("request = %s %v", got.Path, got.Header)
	}
	body := decode(t, got.Body)
	if body["text"] != outage().Title {
		t.Errorf("fallback text = %v", body["text"])
	}
	// Block Kit: a header block of plain_text, a mrkdwn section, fields,
	// a button linking to the offer.
	if at(t, body, "blocks", 0, "type") != "header" || at(t, body, "blocks", 0, "text", "type") != "plain_text" {
		t.Errorf("first block = %v", at(t, body, "blocks", 0))
	}
	section := at(t, body, "blocks", 1, "text", "text").(string)
	if at(t, body, "blocks", 1, "text", "type") != "mrkdwn" || !strings.Contains(section, "cmp-7") {
		t.Errorf("text section = %v", at(t, body, "blocks", 1))
	}
	// mrkdwn escapes &, < and >.
	if f := at(t, body, "blocks", 2, "fields", 0, "text"); f != "*Offer*\nshoes &lt;EU&gt; (#7)" {
		t.Errorf("first field = %v", f)
	}
	if f := at(t, body, "blocks", 2, "fields", 2, "text"); f != "*Outage*\nsince 2026-12-02 00:00 UTC (1h 30m)" {
		t.Errorf("outage field = %v", f)
	}
	if at(t, body, "blocks", 3, "elements", 0, "url") != "https://tracker.example/offers/7" {
		t.Errorf("button = %v", at(t, body, "blocks", 3))
	}

	// Slack reports a bad payload with 400 and a word: final.
	bad := newReceiver(t, reply{status: 400, body: "invalid_blocks"})
	_, err = s.Send(context.Background(), channel(urltracker.ChannelSlack, bad.URL), outage())
	var e *notify.Error
	if !errors.As(err, &e) || e.Retryable() || !strings.Contains(e.Error(), "invalid_blocks") {
		t.Errorf("400 invalid_blocks: %v", err)
	}
}

func TestTeamsAdaptiveCard(t *testing.T) {
	r := newReceiver(t, reply{status: 202})
	if _, err := notify.NewSender(5*time.Second).Send(context.Background(), channel(urltracker.ChannelTeams, r.URL+"/workflows/x"), outage()); err != nil {
		t.Fatal(err)
	}
	body := decode(t, r.last(t).Body)
	if body["type"] != "message" || at(t, body, "attachments", 0, "contentType") != "application/vnd.microsoft.card.adaptive" {
		t.Errorf("envelope = %v", body)
	}
	card := at(t, body, "attachments", 0, "content")
	if at(t, card, "type") != "AdaptiveCard" || at(t, card, "version") != "1.4" ||
		at(t, card, "$schema") != "http://adaptivecards.io/schemas/adaptive-card.json" {
		t.Errorf("card = %v", card)
	}
	if at(t, card, "body", 0, "type") != "TextBlock" || at(t, card, "body", 0, "text") != outage().Title {
		t.Errorf("title block = %v", at(t, card, "body", 0))
	}
	if at(t, card, "body", 2, "type") != "FactSet" || at(t, card, "body", 2, "facts", 0, "title") != "Offer" {
		t.Errorf("facts = %v", at(t, card, "body", 2))
	}
	if at(t, card, "actions", 0, "type") != "Action.OpenUrl" || at(t, card, "actions", 0, "url") != "https://tracker.example/offers/7" {
		t.Errorf("actions = %v", at(t, card, "actions"))
	}
}

func TestDiscordEmbedAndRateLimit(t *testing.T) {
	r := newReceiver(t,
		reply{status: 429, body: `{"message":"You are being rate limited.","retry_after":2.5,"global":false}`, header: map[string]string{"Retry-After": "3"}},
		reply{status: 204})
	s := notify.NewSender(5 * time.Second)
	ch := channel(urltracker.ChannelDiscord, r.URL+"/api/webhooks/1/tok")
	_, err := s.Send(context.Background(), ch, outage())
	var e *notify.Error
	if !errors.As(err, &e) || !e.Retryable() || e.RetryAfter != 3*time.Second {
		t.Fatalf("429: %#v", err)
	}
	if _, err := s.Send(context.Background(), ch, outage()); err != nil {
		t.Fatal(err)
	}
	body := decode(t, r.last(t).Body)
	embed := at(t, body, "embeds", 0)
	if at(t, embed, "title") != outage().Title || at(t, embed, "url") != "https://tracker.example/offers/7" ||
		at(t, embed, "timestamp") != "2026-12-02T01:30:00Z" || at(t, embed, "color") != float64(0xD93025) {
		t.Errorf("embed = %v", embed)
	}
	if at(t, embed, "fields", 0, "name") != "Offer" || at(t, body, "allowed_mentions", "parse") == nil {
		t.Errorf("body = %v", body)
	}
}

func TestTelegramSendMessage(t *testing.T) {
	r := newReceiver(t,
		reply{status: 429, body: `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}`},
		reply{status: 200, body: `{"ok":true,"result":{"message_id":1}}`})
	ch := urltracker.Channel{Name: "tg", Kind: urltracker.ChannelTelegram, ChatID: "-1001234", APIBaseURL: r.URL,
		Secrets: urltracker.ChannelSecrets{BotToken: "123:ABC"}}.Normalize()
	s := notify.NewSender(5 * time.Second)
	_, err := s.Send(context.Background(), ch, outage())
	var e *notify.Error
	if !errors.As(err, &e) || !e.Retryable() || e.RetryAfter != 7*time.Second || strings.Contains(e.Error(), "123:ABC") {
		t.Fatalf("429: %#v", err)
	}
	if _, err := s.Send(context.Background(), ch, outage()); err != nil {
		t.Fatal(err)
	}
	got := r.last(t)
	body := decode(t, got.Body)
	if got.Path != "/bot123:ABC/sendMessage" || body["chat_id"] != "-1001234" || body["parse_mode"] != "HTML" {
		t.Errorf("request = %s %v", got.Path, body)
	}
	text := body["text"].(string)
	if !strings.HasPrefix(text, "<b>Offer &#34;shoes &lt;EU&gt;&#34; is still failing: broken</b>") ||
		!strings.Contains(text, `<a href="https://tracker.example/offers/7">`) {
		t.Errorf("text = %s", text)
	}
	if strings.Contains(ch.Target, "123:ABC") {
		t.Errorf("target %q shows the bot token", ch.Target)
	}

	// A 200 that is not {"ok":true} is not a delivery.
	odd := newReceiver(t, reply{status: 200, body: `{"ok":false}`})
	ch.APIBaseURL = odd.URL
	if _, err := s.Send(context.Background(), ch, outage()); err == nil {
		t.Error("ok:false counted as delivered")
	}
}

func TestWebhookTemplateAndSignature(t *testing.T) {
	r := newReceiver(t)
	ch := urltracker.Channel{Name: "hook", Kind: urltracker.ChannelWebhook,
		Template: `{"summary": {{json .Title}}, "offer": {{.OfferID}}, "thread": "{{.OutageKey}}", "for": "{{.Duration}}", "all": {{.JSON}}}`,
		Secrets:  urltracker.ChannelSecrets{URL: r.URL + "/in", Secret: "shared-key"}}.Normalize()
	if _, err := notify.NewSender(5*time.Second).Send(context.Background(), ch, outage()); err != nil {
		t.Fatal(err)
	}
	got := r.last(t)
	body := decode(t, got.Body)
	if body["summary"] != outage().Title || body["offer"] != float64(7) || body["for"] != "1h 30m" ||
		body["thread"] != "offer-7-1796169600" || at(t, body, "all", "event") != "reminder" {
		t.Errorf("body = %s", got.Body)
	}
	// The receiver recomputes the signature over the exact body.
	sig := got.Header.Get("X-Urltracker-Signature")
	if sig == "" || sig != notify.Sign("shared-key", got.Body) || !strings.HasPrefix(sig, "sha256=") {
		t.Errorf("signature %q does not verify", sig)
	}
	if notify.Sign("other-key", got.Body) == sig {
		t.Error("a signature under another key verifies")
	}

	// Without a template the notice itself is the body, unsigned.
	ch.Template, ch.Secrets.Secret = "", ""
	ch = ch.Normalize()
	if _, err := notify.NewSender(5*time.Second).Send(context.Background(), ch, outage()); err != nil {
		t.Fatal(err)
	}
	got = r.last(t)
	if b := decode(t, got.Body); b["event"] != "reminder" || b["offer_id"] != float64(7) || got.Header.Get("X-Urltracker-Signature") != "" {
		t.Errorf("default body = %s %v", got.Body, got.Header)
	}
}

func TestRetryableAnswers(t *testing.T) {
	hang := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); hung.Close() })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name      string
		url       string
		retryable bool
		says      string
	}{
		{"500", newReceiver(t, reply{status: 500}).URL, true, "500"},
		{"404", newReceiver(t, reply{status: 404}).URL, false, "404"},
		{"hung", hung.URL, true, "did not answer within 200ms"},
		{"refused", closed.URL, true, "unreachable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := notify.NewSender(200*time.Millisecond).Send(context.Background(), channel(urltracker.ChannelWebhook, tc.url), outage())
			var e *notify.Error
			if !errors.As(err, &e) || e.Retryable() != tc.retryable || !strings.Contains(e.Error(), tc.says) {
				t.Errorf("err = %v, want retryable=%v saying %q", err, tc.retryable, tc.says)
			}
		})
	}
}
