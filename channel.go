package urltracker

import (
	"encoding/json"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// ChannelKind names the service a notification channel delivers to.
type ChannelKind string

// The kinds of channel.
const (
	ChannelSlack    ChannelKind = "slack"
	ChannelTeams    ChannelKind = "teams"
	ChannelDiscord  ChannelKind = "discord"
	ChannelTelegram ChannelKind = "telegram"
	ChannelEmail    ChannelKind = "email"
	ChannelWebhook  ChannelKind = "webhook"
)

// ChannelKinds lists every kind, in the order forms offer them.
var ChannelKinds = []ChannelKind{ChannelSlack, ChannelTeams, ChannelDiscord, ChannelTelegram, ChannelEmail, ChannelWebhook}

// DefaultTelegramAPIBaseURL is the Telegram Bot API.
const DefaultTelegramAPIBaseURL = "https://api.telegram.org"

// DefaultSignatureHeader carries a webhook channel's HMAC-SHA256 signature.
const DefaultSignatureHeader = "X-Urltracker-Signature"

// SMTP security modes of an email channel.
const (
	SMTPStartTLS = "starttls"
	SMTPTLS      = "tls"
)

// Channel is where notifications go. Its secrets (webhook URLs, which hold
// the receiver's key; bot tokens; SMTP passwords; HMAC keys) are write-only:
// stored, never serialised; SecretsSet names the ones stored.
type Channel struct {
	ID   int64       `json:"id"`
	Name string      `json:"name"`
	Kind ChannelKind `json:"kind"`
	// Default channels receive the notifications of every offer.
	Default bool `json:"default"`
	// Target is where the channel delivers, without secrets
	// ("https://hooks.slack.com/…", "smtp.example.com:587"): safe to show.
	Target string `json:"target"`
	// Template is a webhook channel's body, a Go text/template over
	// NoticeData; empty sends the notice as JSON.
	Template string `json:"template,omitempty"`
	// SignatureHeader carries the webhook body's HMAC-SHA256 signature
	// ("sha256=<hex>") when a secret is set.
	SignatureHeader string `json:"signature_header,omitempty"`
	// ChatID and APIBaseURL configure Telegram; the base defaults to
	// DefaultTelegramAPIBaseURL.
	ChatID     string `json:"chat_id,omitempty"`
	APIBaseURL string `json:"api_base_url,omitempty"`
	// The SMTP server, security (SMTPStartTLS or SMTPTLS), login and
	// addresses of an email channel.
	SMTPHost     string   `json:"smtp_host,omitempty"`
	SMTPPort     int      `json:"smtp_port,omitempty"`
	SMTPSecurity string   `json:"smtp_security,omitempty"`
	Username     string   `json:"username,omitempty"`
	From         string   `json:"from,omitempty"`
	To           []string `json:"to,omitempty"`
	// OfferID is set on the implicit webhook channel that carries an
	// offer's policy.alert_url; such a channel follows the offer.
	OfferID    int64          `json:"offer_id,omitempty"`
	SecretsSet []string       `json:"secrets_set"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Secrets    ChannelSecrets `json:"-"`
}

// ChannelSecrets are a channel's write-only settings.
type ChannelSecrets struct {
	// URL is the incoming webhook of Slack, Teams or Discord, or a webhook
	// channel's target.
	URL string `json:"url,omitempty"`
	// BotToken is a Telegram bot's token.
	BotToken string `json:"bot_token,omitempty"`
	// Password is the SMTP password.
	Password string `json:"password,omitempty"`
	// Secret signs a webhook channel's body.
	Secret string `json:"secret,omitempty"`
}

// Normalize returns c with surrounding spaces trimmed, defaults filled in,
// and Target and SecretsSet derived from the rest.
func (c Channel) Normalize() Channel {
	for _, s := range []*string{&c.Name, &c.ChatID, &c.APIBaseURL, &c.SMTPHost, &c.SMTPSecurity, &c.Username, &c.From,
		&c.SignatureHeader, &c.Secrets.URL, &c.Secrets.BotToken} {
		*s = strings.TrimSpace(*s)
	}
	c.APIBaseURL = strings.TrimRight(c.APIBaseURL, "/")
	to := c.To[:0:0]
	for _, a := range c.To {
		if a = strings.TrimSpace(a); a != "" {
			to = append(to, a)
		}
	}
	c.To = to
	switch c.Kind {
	case ChannelTelegram:
		if c.APIBaseURL == "" {
			c.APIBaseURL = DefaultTelegramAPIBaseURL
		}
		c.Target = c.APIBaseURL + " chat " + c.ChatID
	case ChannelEmail:
		if c.SMTPSecurity == "" {
			c.SMTPSecurity = SMTPStartTLS
		}
		if c.SMTPPort == 0 {
			c.SMTPPort = 587
			if c.SMTPSecurity == SMTPTLS {
				c.SMTPPort = 465
			}
		}
		c.Target = c.SMTPHost + ":" + strconv.Itoa(c.SMTPPort)
	case ChannelWebhook:
		if c.Secrets.Secret != "" && c.SignatureHeader == "" {
			c.SignatureHeader = DefaultSignatureHeader
		}
		c.Target = RedactSecretURL(c.Secrets.URL)
	default:
		c.Target = RedactSecretURL(c.Secrets.URL)
	}
	c.SecretsSet = []string{}
	for _, s := range []struct{ name, value string }{{"url", c.Secrets.URL}, {"bot_token", c.Secrets.BotToken},
		{"password", c.Secrets.Password}, {"secret", c.Secrets.Secret}} {
		if s.value != "" {
			c.SecretsSet = append(c.SecretsSet, s.name)
		}
	}
	return c
}

// Validate says what is wrong with each field of c, or nil.
func (c Channel) Validate() FieldErrors {
	fe := FieldErrors{}
	if c.Name == "" {
		fe["name"] = "required"
	} else if len(c.Name) > 200 {
		fe["name"] = "at most 200 characters"
	}
	switch c.Kind {
	case ChannelSlack, ChannelTeams, ChannelDiscord, ChannelWebhook:
		if msg := CheckHTTPURL(c.Secrets.URL); msg != "" {
			fe["url"] = msg + " (the incoming webhook URL the service gave you)"
		}
	case ChannelTelegram:
		if c.Secrets.BotToken == "" {
			fe["bot_token"] = "required: the token @BotFather gave the bot"
		}
		if c.ChatID == "" {
			fe["chat_id"] = "required: the chat's numeric id or @channelname"
		}
		if msg := CheckHTTPURL(c.APIBaseURL); msg != "" {
			fe["api_base_url"] = msg
		}
	case ChannelEmail:
		if c.SMTPHost == "" || strings.ContainsAny(c.SMTPHost, "/: ") {
			fe["smtp_host"] = "required: the SMTP server's host name, without port"
		}
		if c.SMTPPort < 1 || c.SMTPPort > 65535 {
			fe["smtp_port"] = "must be 1 to 65535"
		}
		if c.SMTPSecurity != SMTPStartTLS && c.SMTPSecurity != SMTPTLS {
			fe["smtp_security"] = `must be "starttls" (usually port 587) or "tls" (usually port 465)`
		}
		if _, err := mail.ParseAddress(c.From); err != nil {
			fe["from"] = "required: one address such as alerts@example.com"
		}
		if len(c.To) == 0 {
			fe["to"] = "required: at least one address"
		}
		for _, a := range c.To {
			if _, err := mail.ParseAddress(a); err != nil {
				fe["to"] = "not an address: " + a
			}
		}
	default:
		fe["kind"] = "must be one of slack, teams, discord, telegram, email, webhook"
	}
	if c.Template != "" {
		if _, err := template.New("body").Funcs(TemplateFuncs).Parse(c.Template); err != nil {
			fe["template"] = "not a valid Go text/template: " + err.Error()
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// RedactSecretURL keeps only the scheme and host of raw: the path and query
// of an incoming webhook URL are its secret.
func RedactSecretURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(invalid URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// LegacyAlertTemplate is the body of the implicit channel behind an offer's
// policy.alert_url: the JSON shape alert_url always received, whose "text"
// a Slack incoming webhook shows as is.
const LegacyAlertTemplate = `{"text":{{json (print .Title ". " .Text)}},"event":{{json .Event}},"offer_id":{{.OfferID}},` +
	`"offer_name":{{json .OfferName}},"verdict":{{json .Verdict}},"check_id":{{.CheckID}},"final_url":{{json .FinalURL}},` +
	`"error":{{json .Error}},"action":{{json .Action}},"outcome":{{json .Outcome}},"outage":{{json .OutageKey}},"link":{{json .Link}},"timestamp":{{json .At}}}`

// TemplateFuncs are the functions a webhook channel's template may call:
// json writes a value as JSON, e.g. "text": {{json .Title}}.
var TemplateFuncs = template.FuncMap{
	"json": func(v any) (string, error) {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return "", err
		}
		return strings.TrimSuffix(b.String(), "\n"), nil
	},
}
