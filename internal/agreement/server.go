// Package agreement is a corpus of small pages modelled on what trackers,
// shorteners and landing pages do, each with the landing headless Chromium
// reaches from it. Tests measure how often a tracer engine lands where the
// browser lands; `go run ./internal/browsertruth` records the browser's
// landings in truth.json.
//
// Every case lives under /c/<name>/ on one loopback server and starts at
// /c/<name>/start, so that relative links stay inside the case.
package agreement

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
)

// Page is one canned answer of a case.
type Page struct {
	Status int      // default 200
	Header []string // "Name: value", in order; a name may repeat
	Body   string   // {{origin}} and {{dir}} are expanded
	// Handler, when set, answers instead of the fields above, for pages
	// whose answer depends on the request (method, cookies, body).
	Handler func(w http.ResponseWriter, r *http.Request, dir string)
}

// Case is one start page and the pages it may lead to.
type Case struct {
	Name     string
	Category string
	// BrowserOnly marks a case only a real browser can follow (it needs the
	// network from scripts, layout, or the like).
	BrowserOnly bool
	Pages       map[string]Page // by path inside the case; "start" is where it begins
}

// Dir is the case's directory on the server, "/c/<name>".
func (c Case) Dir() string { return "/c/" + c.Name }

// StartURL is where a check of the case begins.
func (c Case) StartURL(origin string) string { return origin + c.Dir() + "/start" }

// commonPages are served in every case unless it defines its own.
var commonPages = map[string]Page{
	"final": {Body: doc("<title>Landing</title>", "<h1>Landing</h1>")},
	"wrong": {Body: doc("<title>Wrong</title>", "<h1>Not where a browser lands</h1>")},
	"home":  {Body: doc("<title>Home</title>", "<h1>Home</h1>")},
	"other": {Body: doc("<title>Other</title>", "<h1>Other</h1>")},
	"empty": {Status: http.StatusNoContent},
}

// NewServer serves every case on loopback. Close it when done.
func NewServer(cases []Case) *httptest.Server {
	byName := map[string]Case{}
	for _, c := range cases {
		byName[c.Name] = c
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/c/")
		name, path, _ := strings.Cut(rest, "/")
		c, found := byName[name]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		p, ok := c.Pages[path]
		if !ok {
			p, ok = commonPages[path]
		}
		if !ok {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, doc("<title>Not found</title>", "<h1>404</h1>"))
			return
		}
		if p.Handler != nil {
			p.Handler(w, r, c.Dir())
			return
		}
		expand := strings.NewReplacer("{{origin}}", srv.URL, "{{dir}}", c.Dir(), "{{port}}", port(srv.URL)).Replace
		typed := false
		for _, h := range p.Header {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, expand(strings.TrimSpace(v)))
			typed = typed || strings.EqualFold(k, "Content-Type")
		}
		if !typed {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(cmpOr(p.Status, http.StatusOK))
		fmt.Fprint(w, expand(p.Body))
	}))
	return srv
}

// Categories lists the categories of cases, in a stable order.
func Categories(cases []Case) []string {
	var cats []string
	for _, c := range cases {
		if !slices.Contains(cats, c.Category) {
			cats = append(cats, c.Category)
		}
	}
	return cats
}

func port(origin string) string {
	return origin[strings.LastIndexByte(origin, ':')+1:]
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// doc is an HTML document with head and body.
func doc(head, body string) string {
	return "<!DOCTYPE html><html><head>" + head + "</head><body>" + body + "</body></html>"
}
