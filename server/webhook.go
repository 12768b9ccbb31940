package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

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
		// One limit for the whole request: macros in the query string are
		// stored just like those of the body.
		if len(r.URL.RawQuery) > urltracker.MaxWebhookRequest {
			writeError(w, http.StatusRequestURITooLong, fmt.Sprintf("the query string is larger than %d KiB: Trackier's pushes are a few hundred bytes; check the push URL", urltracker.MaxWebhookRequest>>10))
			return
		}
		query := r.URL.Query()
		token := query.Get("token")
		if token == "" {
			writeError(w, http.StatusBadRequest, "missing token: the S2S push URL must carry ?token=<webhook token>")
			return
		}
		if msg := badText("token", token, urltracker.MaxTokenLen); msg != "" {
			writeError(w, http.StatusBadRequest, msg+": copy the push URL from the offer again")
			return
		}
		macros, ok := webhookMacros(w, r, query)
		if !ok {
			return
		}
		if msg := badMacros(macros); msg != "" {
			writeError(w, http.StatusBadRequest, msg)
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
		if r.Method == http.MethodPost && len(macros) == 0 {
			// An event without a single macro tells nothing about a click.
			writeError(w, http.StatusBadRequest, "empty webhook: send Trackier macros such as click_id in the query string or in a JSON or form body")
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
		body, ok := readWebhookBody(w, r)
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
				err := dec.Decode(&obj)
				if err == nil {
					err = trailingText(dec, body)
				}
				if err != nil {
					writeError(w, http.StatusBadRequest, "malformed JSON body: "+jsonErrorText(err)+"; send one JSON object of Trackier macros")
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

// readWebhookBody reads the body within what the query string left of
// MaxWebhookRequest; a larger request is answered 413.
func readWebhookBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	limit := int64(urltracker.MaxWebhookRequest - len(r.URL.RawQuery))
	if r.ContentLength > limit {
		writeWebhookTooLarge(w)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeWebhookTooLarge(w)
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, "could not read request body: "+err.Error())
		return nil, false
	}
	return body, true
}

func writeWebhookTooLarge(w http.ResponseWriter) {
	writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d KiB with the query string: Trackier's pushes are a few hundred bytes", urltracker.MaxWebhookRequest>>10))
}

// badMacros checks every macro against the bounds of what an event stores,
// before anything reaches the database: PostgreSQL refuses NUL bytes and
// invalid UTF-8, and an over-long click id overflows its index. It returns
// a message naming the first bad field, or "".
func badMacros(macros map[string]string) string {
	if len(macros) > urltracker.MaxMacros {
		return fmt.Sprintf("%d macros: at most %d are stored per webhook", len(macros), urltracker.MaxMacros)
	}
	names := make([]string, 0, len(macros))
	for k := range macros {
		names = append(names, k)
	}
	sort.Strings(names) // the same message for the same request
	for _, k := range names {
		if msg := badText("macro name "+strconv.Quote(k), k, urltracker.MaxMacroNameLen); msg != "" {
			return msg
		}
		limit := urltracker.MaxMacroValueLen
		if k == "click_id" || k == "campaign_id" {
			limit = urltracker.MaxIDLen
		}
		if msg := badText(k, macros[k], limit); msg != "" {
			return msg
		}
	}
	return ""
}

// badText tells what is wrong with the value of field, or "".
func badText(field, v string, limit int) string {
	switch {
	case len(v) > limit:
		return fmt.Sprintf("%s is %d bytes long: at most %d are accepted", field, len(v), limit)
	case !utf8.ValidString(v):
		return field + " is not valid UTF-8 text"
	case strings.IndexByte(v, 0) >= 0:
		return field + " contains a NUL byte"
	}
	return ""
}
