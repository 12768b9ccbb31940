package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
)

// channelsPage lists the notification channels with their last delivery,
// and holds the form that creates one.
type channelsPage struct {
	page
	Channels []channelRow
	Kinds    []urltracker.ChannelKind
	Form     map[string]string
	Fields   urltracker.FieldErrors
}

type channelRow struct {
	urltracker.Channel
	Last *urltracker.Delivery
}

func (h *handlers) channels(w http.ResponseWriter, r *http.Request) {
	h.renderChannels(w, r, http.StatusOK, map[string]string{"kind": string(urltracker.ChannelSlack)}, nil)
}

func (h *handlers) renderChannels(w http.ResponseWriter, r *http.Request, status int, form map[string]string, fe urltracker.FieldErrors) {
	cs, err := h.d.DB.Channels(r.Context())
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	rows := make([]channelRow, len(cs))
	for i, c := range cs {
		rows[i].Channel = c
		log, err := h.d.DB.ChannelDeliveries(r.Context(), c.ID, 1)
		if err != nil {
			h.storageError(w, r, err)
			return
		}
		if len(log) > 0 {
			rows[i].Last = &log[0]
		}
	}
	p := &channelsPage{page: page{Title: "Notification channels", Nav: "channels", LoggedIn: true}, Channels: rows,
		Kinds: urltracker.ChannelKinds, Form: form, Fields: fe}
	if len(fe) > 0 {
		p.Error = "The channel was not created: fix the fields marked below."
	}
	switch r.URL.Query().Get("done") {
	case "channel-created":
		p.Notice = "Channel created. Send it a test message to see it arrive."
	case "test-sent":
		p.Notice = "Test message delivered."
	case "test-failed":
		p.Error = "The test message was not delivered: see the channel's last delivery below."
	}
	h.render(w, r, status, "channels", p)
}

// createChannel reads the form's fields for the chosen kind.
func (h *handlers) createChannel(w http.ResponseWriter, r *http.Request) {
	form := map[string]string{}
	for _, k := range []string{"name", "kind", "default", "url", "bot_token", "chat_id", "api_base_url", "smtp_host", "smtp_port",
		"smtp_security", "username", "password", "from", "to", "template", "secret"} {
		form[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	c := urltracker.Channel{Name: form["name"], Kind: urltracker.ChannelKind(form["kind"]), Default: form["default"] == "on",
		ChatID: form["chat_id"], APIBaseURL: form["api_base_url"], SMTPHost: form["smtp_host"], SMTPSecurity: form["smtp_security"],
		Username: form["username"], From: form["from"], Template: form["template"],
		Secrets: urltracker.ChannelSecrets{URL: form["url"], BotToken: form["bot_token"], Password: form["password"], Secret: form["secret"]}}
	if form["smtp_port"] != "" {
		c.SMTPPort, _ = strconv.Atoi(form["smtp_port"])
	}
	if form["to"] != "" {
		c.To = strings.Split(form["to"], ",")
	}
	c = c.Normalize()
	if fe := c.Validate(); fe != nil {
		// Secrets are not written back into the page.
		for _, k := range []string{"url", "bot_token", "password", "secret"} {
			delete(form, k)
		}
		h.renderChannels(w, r, http.StatusBadRequest, form, fe)
		return
	}
	if _, err := h.d.DB.CreateChannel(r.Context(), c); err != nil {
		h.storageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/channels?done=channel-created", http.StatusSeeOther)
}

func (h *handlers) testChannel(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.renderError(w, r, http.StatusNotFound, "No such channel.")
		return
	}
	c, err := h.d.DB.Channel(r.Context(), id)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	d, err := h.d.Queue.TestChannel(r.Context(), c, h.d.Instance)
	if err != nil {
		h.storageError(w, r, err)
		return
	}
	done := "test-sent"
	if d.Outcome != urltracker.DeliverySucceeded {
		done = "test-failed"
	}
	http.Redirect(w, r, fmt.Sprintf("/channels?done=%s#channel-%d", done, c.ID), http.StatusSeeOther)
}

// snoozeOffer silences an offer for the hours chosen, or lifts its snooze.
func (h *handlers) snoozeOffer(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadOffer(w, r)
	if !ok {
		return
	}
	hours, err := strconv.Atoi(r.PostFormValue("hours"))
	if err != nil || hours < 0 || hours > 24*30 {
		h.renderError(w, r, http.StatusBadRequest, "Choose how many hours to snooze, 0 to lift the snooze.")
		return
	}
	var s *urltracker.Snooze
	if hours > 0 {
		s = &urltracker.Snooze{Until: h.d.Now().Add(time.Duration(hours) * time.Hour).UTC(), Reason: strings.TrimSpace(r.PostFormValue("reason"))}
	}
	if _, err := h.d.DB.SnoozeOffer(r.Context(), rec.ID, s); err != nil {
		h.storageError(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("/offers/%d?done=snoozed", rec.ID), http.StatusSeeOther)
}
