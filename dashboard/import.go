package dashboard

import (
	"errors"
	"net/http"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/store"
	"github.com/urltracker/urltracker/trackier"
	"github.com/urltracker/urltracker/trackierimport"
)

// importPage is the form to import campaigns from Trackier, and after a
// run, what it created and skipped.
type importPage struct {
	page
	APIBaseURL  string
	CampaignIDs string
	Mode        urltracker.Mode
	Ran         bool
	Created     []importedOffer
	Skipped     []trackierimport.Skipped
}

type importedOffer struct {
	store.OfferRecord
	PushURL string
}

func newImportPage() *importPage {
	return &importPage{page: page{Title: "Import from Trackier", Nav: "offers", LoggedIn: true},
		APIBaseURL: urltracker.DefaultTrackierAPIBaseURL, Mode: urltracker.ModeObserve}
}

func (h *handlers) importForm(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, http.StatusOK, "import", newImportPage())
}

// importCampaigns runs the import the form asks for. The API key is used
// once and never shown again, not even in a refused form.
func (h *handlers) importCampaigns(w http.ResponseWriter, r *http.Request) {
	p := newImportPage()
	p.APIBaseURL = strings.TrimSpace(r.PostFormValue("api_base_url"))
	p.CampaignIDs = strings.TrimSpace(r.PostFormValue("campaign_ids"))
	p.Mode = urltracker.Mode(r.PostFormValue("mode"))
	req := trackierimport.Request{APIBaseURL: p.APIBaseURL, APIKey: r.PostFormValue("api_key"), Mode: p.Mode}
	if ids := strings.FieldsFunc(p.CampaignIDs, func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' }); len(ids) > 0 {
		req.CampaignIDs = ids
	}
	res, err := h.d.Import(r.Context(), req)
	var input *trackierimport.InputError
	var api *trackier.Error
	switch {
	case errors.As(err, &input):
		p.Error = input.Msg
		h.render(w, r, http.StatusUnprocessableEntity, "import", p)
		return
	case errors.As(err, &api) && (api.Code == trackier.CodeInvalidKey || api.Code == trackier.CodeNotFound):
		p.Error = err.Error()
		h.render(w, r, http.StatusUnprocessableEntity, "import", p)
		return
	case errors.Is(err, trackierimport.ErrAutomationOff), errors.As(err, &api):
		p.Error = err.Error()
		h.render(w, r, http.StatusBadGateway, "import", p)
		return
	case err != nil:
		h.storageError(w, r, err)
		return
	}
	p.Ran, p.Skipped = true, res.Skipped
	for _, rec := range res.Created {
		p.Created = append(p.Created, importedOffer{OfferRecord: rec, PushURL: h.d.PushURL(rec.WebhookToken)})
	}
	h.render(w, r, http.StatusOK, "import", p)
}
