package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/auth"
	"github.com/urltracker/urltracker/store"
)

// offerInput is the body of offer create and PATCH requests; nil fields are
// left as they are (PATCH) or take their defaults (create).
type offerInput struct {
	Name                  *string        `json:"name"`
	URL                   *string        `json:"url"`
	ExpectedHost          *string        `json:"expected_host"`
	UpdateIntervalSeconds *int           `json:"update_interval_seconds"`
	CheckEverySeconds     *int           `json:"check_every_seconds"`
	Enabled               *bool          `json:"enabled"`
	Trackier              *trackierInput `json:"trackier"`
	// Policy is applied over the offer's policy: fields it leaves out keep
	// their value (PATCH) or default (create).
	Policy json.RawMessage `json:"policy"`
	// Rules are applied the same way; a list given replaces the old one.
	Rules json.RawMessage `json:"rules"`
}

type trackierInput struct {
	APIBaseURL *string `json:"api_base_url"`
	APIKey     *string `json:"api_key"`
	CampaignID *string `json:"campaign_id"`
}

// apply returns o changed by the fields present in in.
func (in offerInput) apply(o urltracker.Offer) (urltracker.Offer, error) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&o.Name, in.Name)
	set(&o.URL, in.URL)
	set(&o.ExpectedHost, in.ExpectedHost)
	if in.UpdateIntervalSeconds != nil {
		o.UpdateIntervalSeconds = *in.UpdateIntervalSeconds
	}
	if in.CheckEverySeconds != nil {
		o.CheckEverySeconds = *in.CheckEverySeconds
	}
	if in.Enabled != nil {
		o.Enabled = *in.Enabled
	}
	o.Trackier.APIKey = "" // write-only: empty keeps the stored key
	if t := in.Trackier; t != nil {
		set(&o.Trackier.APIBaseURL, t.APIBaseURL)
		set(&o.Trackier.APIKey, t.APIKey)
		set(&o.Trackier.CampaignID, t.CampaignID)
	}
	if present(in.Policy) {
		// A fresh map, so that destination_params given replace the old
		// ones rather than merge into them.
		o.Policy.DestinationParams = nil
		if err := decodeOver(in.Policy, &o.Policy, "policy"); err != nil {
			return o, err
		}
	}
	if present(in.Rules) {
		if err := decodeOver(in.Rules, &o.Rules, "rules"); err != nil {
			return o, err
		}
	}
	return o.Normalize(), nil
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// decodeOver decodes the object raw over dst: fields it leaves out keep
// their value. name is the object's field in the request, for errors.
func decodeOver(raw json.RawMessage, dst any, name string) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			// encoding/json has no error type for this one.
			return errors.New("unknown field " + field + " in " + name + ": see README.md for the " + name + " fields")
		}
		return errors.New("malformed JSON body: " + name + ": " + jsonErrorText(err))
	}
	return nil
}

// offerView is an offer as the API shows it, with its S2S push URL.
type offerView struct {
	urltracker.Offer
	WebhookToken string `json:"webhook_token"`
	WebhookURL   string `json:"webhook_url"`
}

func viewOffer(publicURL string, r store.OfferRecord) offerView {
	return offerView{Offer: r.Offer, WebhookToken: r.WebhookToken, WebhookURL: WebhookURL(publicURL, r.WebhookToken)}
}

// WebhookURL is the S2S push URL to paste into Trackier: the token plus the
// Trackier macros, left unescaped so that Trackier substitutes them.
func WebhookURL(publicURL, token string) string {
	var b strings.Builder
	b.WriteString(publicURL)
	b.WriteString("/api/trackier-webhook?token=")
	b.WriteString(url.QueryEscape(token))
	// camp_id is the numeric campaign id Trackier's API uses ({campaign_id}
	// is its long hashed one); Trackier has no {country} macro, only
	// {country_id}.
	for _, m := range []string{"click_id", "campaign_id", "camp_id", "publisher_id", "source", "country_id", "click_time",
		"p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10"} {
		b.WriteString("&" + m + "={" + m + "}")
	}
	return b.String()
}

func handleOfferCreate(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in offerInput
		if !decodeJSON(w, r, &in) {
			return
		}
		o, err := in.apply(urltracker.NewOffer())
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if fe := o.Validate(); fe != nil {
			writeFieldErrors(w, fe)
			return
		}
		rec, err := d.DB.CreateOffer(r.Context(), o)
		writeSavedOffer(w, d, http.StatusCreated, rec, err)
	})
}

func handleOfferList(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit, ok := listLimit(w, r)
		if !ok {
			return
		}
		recs, err := d.DB.Offers(r.Context(), limit)
		if err != nil {
			storeError(w, err)
			return
		}
		views := make([]offerView, len(recs))
		for i, rec := range recs {
			views[i] = viewOffer(d.PublicURL, rec)
		}
		writeJSON(w, http.StatusOK, map[string]any{"offers": views})
	})
}

func handleOfferGet(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		rec, err := d.DB.Offer(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, viewOffer(d.PublicURL, rec))
	})
}

func handleOfferPatch(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		var in offerInput
		if !decodeJSON(w, r, &in) {
			return
		}
		rec, err := d.DB.Offer(r.Context(), id)
		if err != nil {
			storeError(w, err)
			return
		}
		o, err := in.apply(rec.Offer)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if fe := o.Validate(); fe != nil {
			writeFieldErrors(w, fe)
			return
		}
		rec, err = d.DB.UpdateOffer(r.Context(), o)
		writeSavedOffer(w, d, http.StatusOK, rec, err)
	})
}

func handleOfferDelete(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "id")
		if !ok {
			return
		}
		p, _ := auth.From(r.Context())
		if err := d.Queue.DeleteOffer(r.Context(), id, p.Actor(d.Instance)); err != nil {
			storeError(w, err)
			return
		}
		auditedInStore(r)
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "deleted": id})
	})
}

func handleOfferChecks(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, limit, ok := offerList(w, r, d)
		if !ok {
			return
		}
		checks, err := d.DB.Checks(r.Context(), id, limit)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"checks": checks})
	})
}

func handleOfferEvents(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, limit, ok := offerList(w, r, d)
		if !ok {
			return
		}
		events, err := d.DB.Events(r.Context(), id, limit)
		if err != nil {
			storeError(w, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"events": events})
	})
}

// offerList reads the offer id and ?limit= of a per-offer list request and
// checks that the offer exists; it answers the error itself.
func offerList(w http.ResponseWriter, r *http.Request, d Deps) (id int64, limit int, ok bool) {
	if id, ok = pathID(w, r, "id"); !ok {
		return 0, 0, false
	}
	if limit, ok = listLimit(w, r); !ok {
		return 0, 0, false
	}
	if _, err := d.DB.Offer(r.Context(), id); err != nil {
		storeError(w, err)
		return 0, 0, false
	}
	return id, limit, true
}

// writeSavedOffer answers a create or update: the offer, or why it was not
// saved (a taken name is a field error like any other).
func writeSavedOffer(w http.ResponseWriter, d Deps, status int, rec store.OfferRecord, err error) {
	switch {
	case isConflict(err):
		writeFieldErrors(w, urltracker.FieldErrors{"name": "an offer with this name already exists"})
	case err != nil:
		storeError(w, err)
	default:
		writeJSON(w, status, viewOffer(d.PublicURL, rec))
	}
}
