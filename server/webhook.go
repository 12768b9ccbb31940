package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// maxWebhookBody bounds a webhook body; Trackier's pushes are a few hundred
// bytes, so anything larger is a mistake or an attack.
const maxWebhookBody = 64 << 10

// webhookStoreTimeout bounds the storage work of one webhook. A database that
// does not answer in time gets the webhook a 503, which Trackier retries,
// instead of holding the request until the load balancer gives up.
const webhookStoreTimeout = 10 * time.Second

// webhookAnswer is the contract's success answer of the webhook.
type webhookAnswer struct {
	Success   bool                    `json:"success"`
	Message   string                  `json:"message"`
	Token     string                  `json:"token"`
	EventID   int64                   `json:"event_id"`
	Timestamp time.Time               `json:"timestamp"`
	Duplicate bool                    `json:"duplicate,omitempty"`
	Outcome   urltracker.EventOutcome `json:"outcome"`
}

// handleWebhook receives Trackier's S2S push. The event (with its check job)
// is committed before the 200 goes out, so an acknowledged webhook is never
// lost. `force_update` is stored like any macro but ignored: anyone who knows
// a token could otherwise trigger checks at will; admins use the trigger
// endpoint instead.
func handleWebhook(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Every return path below sets the outcome that is counted.
		outcome := "bad_request"
		defer func() { d.Metrics.ObserveWebhook(outcome) }()
		query := r.URL.Query()
		token := query.Get("token")
		if token == "" {
			writeError(w, http.StatusBadRequest, "missing token: the S2S push URL must carry ?token=<webhook token>")
			return
		}
		macros, ok := webhookMacros(w, r, query)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), webhookStoreTimeout)
		defer cancel()
		offer, err := d.DB.OfferByToken(ctx, token)
		if errors.Is(err, urltracker.ErrNotFound) {
			outcome = "unknown_token"
			writeError(w, http.StatusNotFound, "unknown webhook token: copy the push URL from the offer again")
			return
		}
		if err != nil {
			outcome = "error"
			logFailure(d.Logger, r, "webhook: look up token", "err", err)
			writeError(w, http.StatusServiceUnavailable, "storage unavailable; the event was not stored, retry later")
			return
		}
		if r.Method == http.MethodGet && len(macros) == 0 {
			outcome = "probe"
			writeJSON(w, http.StatusOK, map[string]any{
				"success": true,
				"message": "webhook endpoint ready for offer " + strconv.Quote(offer.Name) + "; send Trackier macros such as click_id to record an event",
				"token":   token,
				"ready":   true,
			})
			return
		}
		now := d.Now().UTC()
		e := urltracker.Event{
			ReceivedAt: now,
			ClickID:    macros["click_id"],
			CampaignID: macros["campaign_id"],
			Payload:    macros,
		}
		res, err := d.Intake.Ingest(ctx, offer.Offer, e)
		if err != nil {
			outcome = "error"
			logFailure(d.Logger, r, "webhook: store event", "offer_id", offer.ID, "err", err)
			writeError(w, http.StatusServiceUnavailable, "storage unavailable; the event was not stored, retry later")
			return
		}
		msg := "event stored"
		outcome = string(res.Outcome)
		if res.Duplicate {
			msg, outcome = "duplicate click_id: event already stored", "duplicate"
		}
		writeJSON(w, http.StatusOK, webhookAnswer{
			Success: true, Message: msg, Token: token, EventID: res.EventID,
			Timestamp: now, Duplicate: res.Duplicate, Outcome: res.Outcome,
		})
	})
}

// webhookMacros merges the macros of the body (JSON object or form) with
// those of the query string; the query wins. The token itself is not a macro.
func webhookMacros(w http.ResponseWriter, r *http.Request, query url.Values) (map[string]string, bool) {
	macros := map[string]string{}
	if r.Method == http.MethodPost {
		body, ok := readBody(w, r, maxWebhookBody)
		if !ok {
			return nil, false
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			switch {
			case mediaType == "application/json" || (mediaType == "" && body[0] == '{'):
				var obj map[string]any
				dec := json.NewDecoder(bytes.NewReader(body))
				dec.UseNumber() // keep long numeric click ids exact
				if err := dec.Decode(&obj); err != nil {
					writeError(w, http.StatusBadRequest, "malformed JSON body: "+jsonErrorText(err)+"; send a JSON object of Trackier macros")
					return nil, false
				}
				for k, v := range obj {
					macros[k] = macroString(v)
				}
			case mediaType == "application/x-www-form-urlencoded":
				form, err := url.ParseQuery(string(body))
				if err != nil {
					writeError(w, http.StatusBadRequest, "malformed form body: "+err.Error())
					return nil, false
				}
				for k, v := range form {
					macros[k] = v[0]
				}
			default:
				writeError(w, http.StatusUnsupportedMediaType, fmt.Sprintf("unsupported body type %q: send application/json or application/x-www-form-urlencoded", mediaType))
				return nil, false
			}
		}
	}
	for k, v := range query {
		macros[k] = v[0]
	}
	delete(macros, "token")
	return macros, true
}

// macroString flattens a JSON value into the string a query macro would be.
func macroString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := jsonenc.Marshal(v)
		return string(b)
	}
}
