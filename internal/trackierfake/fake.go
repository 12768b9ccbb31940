// Package trackierfake is a local Trackier API for tests, faithful to what
// Trackier documents: campaigns with a status and a URL; paused re-activated
// by any edit that does not set a status, disabled kept; the status
// endpoint (which can be switched off to answer 404, as on an API without
// it); {"success":false,"error":{"code","message"}} bodies (invalid key:
// HTTP 400 code 13, unknown campaign: 31, over 5 requests/s per key: 40, IP
// not whitelisted: 41, maintenance: 50); a settable read lag (a write shows
// in reads only after it); changes "by hand"; and a log of every request.
package trackierfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/urltracker/urltracker/internal/jsonenc"
	"github.com/urltracker/urltracker/trackier"
)

// DefaultKey is the API key a new Server accepts.
const DefaultKey = "trackierfake-key-5f0c2a7e91d4"

// Request is one request the fake received and what it answered.
type Request struct {
	At         time.Time
	Method     string
	Path       string
	RawQuery   string
	APIKey     string
	Body       string
	StatusCode int // HTTP status answered
	Code       int // Trackier error code answered, 0 on success
}

// Server is a fake Trackier API on a loopback httptest server.
type Server struct {
	URL string // base URL to give the client, without /v2
	Key string // the API key it accepts (more with AddKey)

	srv *httptest.Server

	mu             sync.Mutex
	now            func() time.Time
	keys           map[string]bool
	campaigns      map[string]*record
	lag            time.Duration
	statusEndpoint bool
	ipWhitelisted  bool
	maintenance    bool
	failNext       []failure
	perSecond      float64
	limiters       map[string]*rate.Limiter
	log            []Request
}

// record is a campaign's versions, oldest first; each shows in reads from
// its visibleAt, which is how the read lag is modelled.
type record struct {
	versions []version
}

type version struct {
	visibleAt time.Time
	c         trackier.Campaign
}

type failure struct{ code, httpStatus int }

// New starts a fake Trackier API, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		Key:            DefaultKey,
		now:            time.Now,
		keys:           map[string]bool{DefaultKey: true},
		campaigns:      map[string]*record{},
		statusEndpoint: true,
		ipWhitelisted:  true,
		perSecond:      trackier.DefaultRateLimit,
		limiters:       map[string]*rate.Limiter{},
	}
	s.srv = httptest.NewServer(s.handler())
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server; New already arranges it for the test's end.
func (s *Server) Close() { s.srv.Close() }

// AddKey makes the fake accept one more API key.
func (s *Server) AddKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[key] = true
}

// AddCampaign creates (or replaces) a campaign, visible in reads at once.
// A campaign without a status is active.
func (s *Server) AddCampaign(c trackier.Campaign) {
	if c.Status == "" {
		c.Status = trackier.StatusActive
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.campaigns[c.ID] = &record{versions: []version{{visibleAt: s.now(), c: c}}}
}

// Campaign is the campaign as it truly is now, without the read lag; the
// zero Campaign when there is none.
func (s *Server) Campaign(id string) trackier.Campaign {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.campaigns[id]
	if !ok {
		return trackier.Campaign{}
	}
	return r.truth()
}

// SetByHand changes a campaign as a person in Trackier's interface (or
// Trackier itself, for a cap or its Offer Checker) would, visible in reads
// at once. change is a trackier.Status, or a string: a status name sets the
// status, anything else the URL (an edit, so a paused campaign becomes
// active, as in Trackier).
func (s *Server) SetByHand(id string, change any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.campaigns[id]
	if !ok {
		panic(fmt.Sprintf("trackierfake: SetByHand of unknown campaign %q", id))
	}
	c := r.truth()
	switch v := change.(type) {
	case trackier.Status:
		c.Status = v
	case string:
		if isStatus(v) {
			c.Status = trackier.Status(v)
		} else {
			c.URL = v
			if c.Status == trackier.StatusPaused {
				c.Status = trackier.StatusActive
			}
		}
	default:
		panic(fmt.Sprintf("trackierfake: SetByHand takes a trackier.Status or a string, not %T", change))
	}
	r.versions = append(r.versions, version{visibleAt: s.now(), c: c})
}

// SetReadLag makes every later write through the API show in reads only
// after d, as Trackier's reads trail its writes by 20-60 s.
func (s *Server) SetReadLag(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lag = d
}

// FailNext makes the next request answer httpStatus with Trackier error
// code (a success:false body); code 0 answers httpStatus with a plain-text
// body, as a router or proxy would. Calls queue up.
func (s *Server) FailNext(code, httpStatus int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = append(s.failNext, failure{code, httpStatus})
}

// SetStatusEndpoint switches POST /v2/campaigns/status on or off; off, it
// answers 404 like an API that does not have it.
func (s *Server) SetStatusEndpoint(enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statusEndpoint = enabled
}

// SetIPWhitelisted false makes every request answer HTTP 403 code 41, as
// Trackier does for a caller whose IP is not on the key's whitelist.
func (s *Server) SetIPWhitelisted(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ipWhitelisted = ok
}

// SetMaintenance true makes every request answer HTTP 503 code 50.
func (s *Server) SetMaintenance(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maintenance = on
}

// SetRateLimit sets how many requests per second one key may send before
// the fake answers code 40 (default 5, bursts of 5); 0 turns it off.
func (s *Server) SetRateLimit(perSecond float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.perSecond = perSecond
	s.limiters = map[string]*rate.Limiter{}
}

// SetClock makes the fake read time (for the read lag and the rate limit)
// from now.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Requests is every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

func (r *record) truth() trackier.Campaign { return r.versions[len(r.versions)-1].c }

// read is the campaign as a read at now sees it; older versions no read can
// see any more are dropped.
func (r *record) read(now time.Time) trackier.Campaign {
	for i := len(r.versions) - 1; i >= 0; i-- {
		if !r.versions[i].visibleAt.After(now) {
			r.versions = r.versions[i:]
			return r.versions[0].c
		}
	}
	return r.versions[0].c
}

func isStatus(s string) bool {
	switch trackier.Status(s) {
	case trackier.StatusActive, trackier.StatusPending, trackier.StatusPaused, trackier.StatusDisabled,
		trackier.StatusSuspended, trackier.StatusExpired, trackier.StatusDeleted:
		return true
	}
	return false
}

// answer is one response before it is written and logged.
type answer struct {
	status int
	code   int
	body   any    // JSON body
	text   string // plain body when body is nil
}

func fail(status, code int, message string) answer {
	return answer{status: status, code: code, body: map[string]any{
		"success": false, "error": map[string]any{"code": code, "message": message}}}
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/campaigns", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /v2/campaigns/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /v2/campaigns/{id}", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("POST /v2/campaigns/status", func(http.ResponseWriter, *http.Request) {})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		a := s.serve(mux, r, body)
		s.log = append(s.log, Request{At: s.now(), Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			APIKey: r.Header.Get("X-Api-Key"), Body: string(body), StatusCode: a.status, Code: a.code})
		s.mu.Unlock()
		if a.body == nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(a.status)
			io.WriteString(w, a.text)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_ = jsonenc.Encode(w, a.body)
	})
}

// serve answers one request; s.mu is held.
func (s *Server) serve(mux *http.ServeMux, r *http.Request, body []byte) answer {
	if len(s.failNext) > 0 {
		f := s.failNext[0]
		s.failNext = s.failNext[1:]
		if f.code == 0 {
			return answer{status: f.httpStatus, text: http.StatusText(f.httpStatus) + "\n"}
		}
		return fail(f.httpStatus, f.code, "failure injected by the test")
	}
	if s.maintenance {
		return fail(http.StatusServiceUnavailable, trackier.CodeMaintenance, "System upgrade in progress, please try again later")
	}
	if !s.ipWhitelisted {
		return fail(http.StatusForbidden, trackier.CodeIPNotWhitelisted, "IP address not whitelisted")
	}
	key := r.Header.Get("X-Api-Key")
	if !s.keys[key] {
		return fail(http.StatusBadRequest, trackier.CodeInvalidKey, "Invalid API Key")
	}
	if s.perSecond > 0 {
		l, ok := s.limiters[key]
		if !ok {
			l = rate.NewLimiter(rate.Limit(s.perSecond), int(max(1, s.perSecond)))
			s.limiters[key] = l
		}
		if !l.AllowN(s.now(), 1) {
			return fail(http.StatusTooManyRequests, trackier.CodeTooManyRequests, "Too many requests")
		}
	}
	_, pattern := mux.Handler(r)
	// mux.Handler does not fill in path values; the id is the last segment.
	id := strings.TrimPrefix(r.URL.Path, "/v2/campaigns/")
	switch pattern {
	case "GET /v2/campaigns":
		return s.list(r)
	case "GET /v2/campaigns/{id}":
		return s.get(id)
	case "POST /v2/campaigns/status":
		if !s.statusEndpoint {
			return answer{status: http.StatusNotFound, text: "404 page not found\n"}
		}
		return s.setStatus(body)
	case "POST /v2/campaigns/{id}":
		return s.edit(id, body)
	}
	// The mux knows whether the path exists with another method.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, r)
	return answer{status: rec.Code, text: rec.Body.String()}
}

func (s *Server) list(r *http.Request) answer {
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit < 1 || limit > 100 {
		limit = 100
	}
	page, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	ids := make([]string, 0, len(s.campaigns))
	for id := range s.campaigns {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		if len(ids[i]) != len(ids[j]) {
			return len(ids[i]) < len(ids[j])
		}
		return ids[i] < ids[j]
	})
	out := []any{}
	for i := (page - 1) * limit; i < len(ids) && i < page*limit; i++ {
		out = append(out, wire(s.campaigns[ids[i]].read(s.now())))
	}
	return answer{status: http.StatusOK, body: map[string]any{"success": true, "campaigns": out}}
}

func (s *Server) get(id string) answer {
	r, ok := s.campaigns[id]
	if !ok {
		return fail(http.StatusNotFound, trackier.CodeNotFound, "Campaign not found")
	}
	return answer{status: http.StatusOK, body: map[string]any{"success": true, "campaign": wire(r.read(s.now()))}}
}

func (s *Server) setStatus(body []byte) answer {
	var req struct {
		CampaignIDs []json.RawMessage `json:"campaignIds"`
		Status      string            `json:"status"`
	}
	if err := json.Unmarshal(body, &req); err != nil || len(req.CampaignIDs) == 0 {
		return fail(http.StatusBadRequest, 0, `body must be {"campaignIds":[…],"status":…}`)
	}
	st := trackier.Status(req.Status)
	if st != trackier.StatusActive && st != trackier.StatusDisabled && st != trackier.StatusPaused {
		return fail(http.StatusBadRequest, 0, "status must be active, disabled or paused")
	}
	var recs []*record
	for _, raw := range req.CampaignIDs {
		r, ok := s.campaigns[strings.Trim(string(raw), `"`)]
		if !ok {
			return fail(http.StatusNotFound, trackier.CodeNotFound, "Campaign not found")
		}
		recs = append(recs, r)
	}
	for _, r := range recs {
		c := r.truth()
		c.Status = st
		r.versions = append(r.versions, version{visibleAt: s.now().Add(s.lag), c: c})
	}
	return answer{status: http.StatusOK, body: map[string]any{"success": true, "message": "Status updated"}}
}

func (s *Server) edit(id string, body []byte) answer {
	r, ok := s.campaigns[id]
	if !ok {
		return fail(http.StatusNotFound, trackier.CodeNotFound, "Campaign not found")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || len(fields) == 0 {
		return fail(http.StatusBadRequest, 0, "body must be a JSON object of the fields to change")
	}
	c := r.truth()
	if raw, ok := fields["status"]; ok {
		var st string
		if json.Unmarshal(raw, &st) != nil || !isStatus(st) {
			return fail(http.StatusBadRequest, 0, "unknown status")
		}
		c.Status = trackier.Status(st)
	} else if c.Status == trackier.StatusPaused {
		// Trackier documents that any edit re-activates a paused campaign.
		c.Status = trackier.StatusActive
	}
	if raw, ok := fields["url"]; ok {
		if json.Unmarshal(raw, &c.URL) != nil {
			return fail(http.StatusBadRequest, 0, "url must be a string")
		}
	}
	if raw, ok := fields["title"]; ok {
		if json.Unmarshal(raw, &c.Name) != nil {
			return fail(http.StatusBadRequest, 0, "title must be a string")
		}
	}
	r.versions = append(r.versions, version{visibleAt: s.now().Add(s.lag), c: c})
	return answer{status: http.StatusOK, body: map[string]any{"success": true, "message": "Campaign updated"}}
}

// wire spells a campaign as Trackier does: a numeric id as a number, the
// name as title.
func wire(c trackier.Campaign) map[string]any {
	var id any = c.ID
	if _, err := strconv.ParseUint(c.ID, 10, 64); err == nil {
		id = json.Number(c.ID)
	}
	return map[string]any{"id": id, "title": c.Name, "status": c.Status, "url": c.URL}
}
