package server

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
)

// channelInput is the body of channel create and PATCH requests; nil
// fields are left as they are (PATCH) or empty (create). Secrets (url,
// bot_token, password, secret) are write-only: left out, they keep their
// stored value; "" clears one.
type channelInput struct {
	Name            *string                 `json:"name"`
	Kind            *urltracker.ChannelKind `json:"kind"`
	Default         *bool                   `json:"default"`
	URL             *string                 `json:"url"`
	BotToken        *string                 `json:"bot_token"`
	Password        *string                 `json:"password"`
	Secret          *string                 `json:"secret"`
	Template        *string                 `json:"template"`
	SignatureHeader *string                 `json:"signature_header"`
	ChatID          *string                 `json:"chat_id"`
	APIBaseURL      *string                 `json:"api_base_url"`
	SMTPHost        *string                 `json:"smtp_host"`
	SMTPPort        *int                    `json:"smtp_port"`
	SMTPSecurity    *string                 `json:"smtp_security"`
	Username        *string                 `json:"username"`
	From            *string                 `json:"from"`
	To              *[]string               `json:"to"`
}

// apply returns c changed by the fields present in in.
func (in channelInput) apply(c urltracker.Channel) urltracker.Channel {
	for _, f := range []struct {
		dst *string
		src *string
	}{
		{&c.Name, in.Name}, {&c.Secrets.URL, in.URL}, {&c.Secrets.BotToken, in.BotToken}, {&c.Secrets.Password, in.Password},
		{&c.Secrets.Secret, in.Secret}, {&c.Template, in.Template}, {&c.SignatureHeader, in.SignatureHeader},
		{&c.ChatID, in.ChatID}, {&c.APIBaseURL, in.APIBaseURL}, {&c.SMTPHost, in.SMTPHost}, {&c.SMTPSecurity, in.SMTPSecurity},
		{&c.Username, in.Username}, {&c.From, in.From},
	} {
		if f.src != nil {
			*f.dst = *f.src
		}
	}
	if in.Kind != nil {
		c.Kind = urltracker.ChannelKind(strings.TrimSpace(string(*in.Kind)))
	}
	if in.Default != nil {
		c.Default = *in.Default
	}
	if in.SMTPPort != nil {
		c.SMTPPort = *in.SMTPPort
	}
	if in.To != nil {
		c.To = *in.To
	}
	return c.Normalize()
}

func handleChannelCreate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in channelInput
		if !decodeJSON(w, r, &in) {
			return
		}
		c := in.apply(urltracker.Channel{})
		if fe := c.Validate(); fe != nil {
			writeFieldErrors(w, fe)
			return
		}
		c, err := d.DB.CreateChannel(r.Context(), c)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusCreated, c)
	})
}

func handleChannelList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs, err := d.DB.Channels(r.Context())
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"channels": cs})
	})
}

// channelOf loads the {id} channel, answering the error itself.
func channelOf(w http.ResponseWriter, r *http.Request, d Deps) (urltracker.Channel, bool) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return urltracker.Channel{}, false
	}
	c, err := d.DB.Channel(r.Context(), id)
	if err != nil {
		storeError(w, err)
		return c, false
	}
	return c, true
}

func handleChannelGet(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := channelOf(w, r, d); ok {
			writeJSON(w, http.StatusOK, c)
		}
	})
}

// implicit refuses to edit an offer's alert_url channel, which follows the
// offer: it answers 409 and returns true.
func implicit(w http.ResponseWriter, c urltracker.Channel) bool {
	if c.OfferID == 0 {
		return false
	}
	writeError(w, http.StatusConflict, fmt.Sprintf("channel %d carries policy.alert_url of offer %d: edit the offer, or create a channel of your own and name it in the offer's channels", c.ID, c.OfferID))
	return true
}

func handleChannelPatch(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := channelOf(w, r, d)
		if !ok {
			return
		}
		var in channelInput
		if !decodeJSON(w, r, &in) || implicit(w, c) {
			return
		}
		c = in.apply(c)
		if fe := c.Validate(); fe != nil {
			writeFieldErrors(w, fe)
			return
		}
		c, err := d.DB.UpdateChannel(r.Context(), c)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, c)
	})
}

func handleChannelDelete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := channelOf(w, r, d)
		if !ok || implicit(w, c) {
			return
		}
		if err := d.DB.DeleteChannel(r.Context(), c.ID); err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "deleted": c.ID})
	})
}

// handleChannelTest sends a test message now and answers how it went; a
// failed delivery answers 502 with the receiver's answer.
func handleChannelTest(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := channelOf(w, r, d)
		if !ok {
			return
		}
		delivery, err := d.Queue.TestChannel(r.Context(), c, d.Instance)
		if err != nil {
			storeError(w, err)
			return
		}
		if delivery.Outcome != urltracker.DeliverySucceeded {
			writeError(w, http.StatusBadGateway, "the test message was not delivered: "+delivery.Error)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "delivery": delivery})
	})
}

func handleChannelDeliveries(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := channelOf(w, r, d)
		if !ok {
			return
		}
		limit, ok := listLimit(w, r)
		if !ok {
			return
		}
		ds, err := d.DB.ChannelDeliveries(r.Context(), c.ID, limit)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
	})
}

func handleOfferDeliveries(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, limit, ok := offerList(w, r, d)
		if !ok {
			return
		}
		ds, err := d.DB.OfferDeliveries(r.Context(), id, limit)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"deliveries": ds})
	})
}

// snoozeInput is the body of a snooze: until null (or past) lifts it.
type snoozeInput struct {
	Until  *string `json:"until"`
	Reason string  `json:"reason"`
}

func handleOfferSnooze(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		var in snoozeInput
		if !decodeJSON(w, r, &in) {
			return
		}
		var s *urltracker.Snooze
		if in.Until != nil {
			until, err := time.Parse(time.RFC3339, *in.Until)
			if err != nil {
				writeFieldErrors(w, urltracker.FieldErrors{"until": "an RFC 3339 time such as 2026-12-02T06:00:00Z, or null to lift the snooze"})
				return
			}
			if until.After(d.Now()) {
				s = &urltracker.Snooze{Until: until.UTC(), Reason: strings.TrimSpace(in.Reason)}
			}
		}
		rec, err := d.DB.SnoozeOffer(r.Context(), id, s)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, viewOffer(d.PublicURL, rec))
	})
}
