package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
	"text/template"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// fact is one labelled detail of a notice.
type fact struct{ Name, Value string }

// facts are the details every format shows under the notice's text.
func facts(n urltracker.Notice) []fact {
	var fs []fact
	add := func(name, value string) {
		if value != "" {
			fs = append(fs, fact{name, value})
		}
	}
	if n.OfferID != 0 {
		add("Offer", fmt.Sprintf("%s (#%d)", n.OfferName, n.OfferID))
	}
	add("Verdict", string(n.Verdict))
	if n.OutageStartedAt != nil {
		add("Outage", fmt.Sprintf("since %s (%s)", n.OutageStartedAt.UTC().Format("2006-01-02 15:04 MST"),
			urltracker.HumanDuration(n.At.Sub(*n.OutageStartedAt))))
	}
	add("Final URL", n.FinalURL)
	add("Error", n.Error)
	if n.CheckID != 0 {
		add("Check", fmt.Sprintf("#%d at %s", n.CheckID, n.At.UTC().Format("2006-01-02 15:04:05 MST")))
	}
	return fs
}

// plainText is the notice as lines of text (email, fallbacks).
func plainText(n urltracker.Notice) string {
	var b strings.Builder
	b.WriteString(n.Title + "\n\n")
	if n.Text != "" {
		b.WriteString(n.Text + "\n\n")
	}
	for _, f := range facts(n) {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if n.Link != "" {
		b.WriteString("\n" + n.Link + "\n")
	}
	return b.String()
}

// slackBody is a Block Kit message for an incoming webhook
// (https://api.slack.com/messaging/webhooks, https://api.slack.com/block-kit):
// "text" is the notification's fallback, "blocks" what Slack shows.
func slackBody(n urltracker.Notice) map[string]any {
	escape := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace
	var fields []map[string]any
	for _, f := range facts(n) {
		fields = append(fields, map[string]any{"type": "mrkdwn", "text": "*" + escape(f.Name) + "*\n" + escape(f.Value)})
	}
	blocks := []map[string]any{
		{"type": "header", "text": map[string]any{"type": "plain_text", "text": truncate(n.Title, 150), "emoji": true}},
	}
	if n.Text != "" {
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": truncate(escape(n.Text), 3000)}})
	}
	if len(fields) > 0 {
		// A section holds at most 10 fields.
		blocks = append(blocks, map[string]any{"type": "section", "fields": fields[:min(len(fields), 10)]})
	}
	if n.Link != "" {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []map[string]any{{
			"type": "button", "text": map[string]any{"type": "plain_text", "text": "Open offer"}, "url": n.Link}}})
	}
	return map[string]any{"text": n.Title, "blocks": blocks}
}

// checkSlack reads an incoming webhook's answer: "ok", or an error word
// such as "invalid_blocks" (sent with status 400, which post already
// reports).
func checkSlack(body []byte) error {
	if s := strings.TrimSpace(string(body)); s != "" && s != "ok" {
		return &Error{Msg: "Slack answered: " + truncate(s, 200)}
	}
	return nil
}

// teamsBody is an Adaptive Card message, as Teams incoming webhooks and
// Workflows ("When a Teams webhook request is received") accept it
// (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
func teamsBody(n urltracker.Notice) map[string]any {
	color := "Attention"
	if n.Good() {
		color = "Good"
	}
	body := []map[string]any{
		{"type": "TextBlock", "text": n.Title, "weight": "Bolder", "size": "Medium", "wrap": true, "color": color},
	}
	if n.Text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": n.Text, "wrap": true})
	}
	var fs []map[string]any
	for _, f := range facts(n) {
		fs = append(fs, map[string]any{"title": f.Name, "value": f.Value})
	}
	if len(fs) > 0 {
		body = append(body, map[string]any{"type": "FactSet", "facts": fs})
	}
	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": "1.4", "body": body,
	}
	if n.Link != "" {
		card["actions"] = []map[string]any{{"type": "Action.OpenUrl", "title": "Open offer", "url": n.Link}}
	}
	return map[string]any{"type": "message", "attachments": []map[string]any{{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": card}}}
}

// discordBody is an execute-webhook body with one embed
// (https://discord.com/developers/docs/resources/webhook#execute-webhook).
func discordBody(n urltracker.Notice) map[string]any {
	color := 0xD93025 // red
	if n.Good() {
		color = 0x1E8E3E // green
	}
	embed := map[string]any{
		"title": truncate(n.Title, 256), "description": truncate(n.Text, 4096), "color": color,
		"timestamp": n.At.UTC().Format(time.RFC3339),
	}
	if n.Link != "" {
		embed["url"] = n.Link
	}
	var fields []map[string]any
	for _, f := range facts(n) {
		fields = append(fields, map[string]any{"name": f.Name, "value": truncate(f.Value, 1024), "inline": false})
	}
	if len(fields) > 0 {
		embed["fields"] = fields
	}
	return map[string]any{"content": truncate(n.Title, 2000), "embeds": []map[string]any{embed},
		"allowed_mentions": map[string]any{"parse": []string{}}}
}

// telegram calls the Bot API's sendMessage
// (https://core.telegram.org/bots/api#sendmessage) with HTML formatting.
func (s *Sender) telegram(ctx context.Context, ch urltracker.Channel, n urltracker.Notice) (Result, error) {
	var b strings.Builder
	b.WriteString("<b>" + html.EscapeString(n.Title) + "</b>\n")
	if n.Text != "" {
		b.WriteString(html.EscapeString(n.Text) + "\n")
	}
	for _, f := range facts(n) {
		b.WriteString("\n<b>" + html.EscapeString(f.Name) + ":</b> " + html.EscapeString(f.Value))
	}
	if n.Link != "" {
		b.WriteString("\n\n<a href=\"" + html.EscapeString(n.Link) + "\">Open offer</a>")
	}
	body := map[string]any{"chat_id": ch.ChatID, "text": truncate(b.String(), 4096), "parse_mode": "HTML",
		"link_preview_options": map[string]any{"is_disabled": true}}
	url := strings.TrimRight(ch.APIBaseURL, "/") + "/bot" + ch.Secrets.BotToken + "/sendMessage"
	res, err := s.postJSON(ctx, url, body, nil, checkTelegram)
	var e *Error
	if errors.As(err, &e) {
		// The bot token is in the URL; an error never names the URL, but
		// an echoing server could put the token in its answer.
		e.Msg = strings.ReplaceAll(e.Msg, ch.Secrets.BotToken, "[redacted]")
		var answer telegramAnswer
		if json.Unmarshal(e.answer, &answer) == nil && answer.Parameters.RetryAfter > 0 {
			e.RetryAfter = time.Duration(answer.Parameters.RetryAfter) * time.Second
		}
	}
	return res, err
}

// telegramAnswer is the Bot API's answer envelope.
type telegramAnswer struct {
	OK          bool   `json:"ok"`
	Description string `json:"description"`
	Parameters  struct {
		RetryAfter int `json:"retry_after"`
	} `json:"parameters"`
}

func checkTelegram(body []byte) error {
	var a telegramAnswer
	if err := json.Unmarshal(body, &a); err != nil || !a.OK {
		return &Error{Msg: "Telegram did not confirm the message: " + truncate(string(body), 200)}
	}
	return nil
}

// NoticeData is what a webhook channel's template sees: the notice's
// fields, .JSON (the whole notice as a JSON object) and .Facts.
type NoticeData struct {
	urltracker.Notice
	// JSON is the notice as one JSON object.
	JSON string
	// OutageKey names the notice's outage (see Notice.OutageKey).
	OutageKey string
	// Duration is how long the outage has lasted, in words.
	Duration string
}

// WebhookBody renders a webhook channel's body for n.
func WebhookBody(ch urltracker.Channel, n urltracker.Notice) ([]byte, error) {
	j, err := jsonenc.Marshal(n)
	if err != nil {
		return nil, err
	}
	if ch.Template == "" {
		return j, nil
	}
	t, err := template.New("body").Funcs(urltracker.TemplateFuncs).Option("missingkey=error").Parse(ch.Template)
	if err != nil {
		return nil, &Error{Msg: "the channel's template does not parse: " + err.Error()}
	}
	data := NoticeData{Notice: n, JSON: string(j), OutageKey: n.OutageKey()}
	if n.OutageStartedAt != nil {
		data.Duration = urltracker.HumanDuration(n.At.Sub(*n.OutageStartedAt))
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return nil, &Error{Msg: "the channel's template failed: " + err.Error()}
	}
	return b.Bytes(), nil
}

// Sign is the signature header's value for body: "sha256=" and the hex
// HMAC-SHA256 of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (s *Sender) webhook(ctx context.Context, ch urltracker.Channel, n urltracker.Notice) (Result, error) {
	body, err := WebhookBody(ch, n)
	if err != nil {
		return Result{}, err
	}
	header := http.Header{}
	if ch.Secrets.Secret != "" {
		header.Set(ch.SignatureHeader, Sign(ch.Secrets.Secret, body))
	}
	contentType := "application/json"
	if !json.Valid(body) {
		contentType = "text/plain; charset=utf-8"
	}
	return s.post(ctx, ch.Secrets.URL, contentType, body, header, nil)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
