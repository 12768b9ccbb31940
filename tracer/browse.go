package tracer

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding"

	"github.com/urltracker/urltracker"
)

// This file is a small, sandboxed stand-in for a browser tab: it parses a
// page as a browser does, runs its scripts in a JavaScript interpreter
// (goja) against a minimal window, document and location, and decides, as
// one ordered set of rules, where the tab goes next without a visitor's
// click:
//
//  1. A navigation started while the page loads (a script setting location,
//     clicking a link, submitting a form) wins over every refresh: browsers
//     start a refresh only once the page has loaded. The last navigation
//     started by one script replaces earlier ones.
//  2. Then the DOMContentLoaded and load handlers run (onload attributes
//     too); a navigation they start wins next.
//  3. Then time passes, virtually: timers and the scheduled refresh fire in
//     the order they are due, and the first to navigate wins. A timer set
//     before load fires before a refresh due at the same time. Nothing due
//     after Config.MaxMetaRefreshDelay (URLTRACKER_MAX_META_REFRESH) counts:
//     a 30 s timer is not a redirect.
//  4. One refresh is scheduled at a time: the Refresh header first, then
//     each <meta http-equiv="refresh"> as the parser meets it, resolved
//     against the base URL at that point. A later refresh replaces the
//     scheduled one only if it is due no later.
//
// Scripts cannot reach the network, except same-site <script src> fetched
// through the tracer itself; they run under a wall-time budget, a memory
// budget and a cap on script bytes per page. A script that fails stops, and
// the next one runs, as in a browser; one that exhausts a budget stops all
// scripts of the page.

// Limits of one page's scripts.
const (
	maxScriptBytes  = 256 << 10
	scriptWallTime  = 100 * time.Millisecond
	scriptHeapBytes = 64 << 20
	maxCallStack    = 2000
	maxTimerFirings = 10000
	// heapPoll is how often the memory budget is checked while a script
	// runs: a doubling string outgrows the budget within a few polls.
	heapPoll = time.Millisecond
)

// navigation is the page sending the tab on by itself.
type navigation struct {
	how    urltracker.RedirectType // meta, javascript or form
	target *url.URL
	method string // GET, or POST for a form
	body   string // a POST form's body, urlencoded
}

// pageEnv is what a page may use of the trace it is part of.
type pageEnv struct {
	url       *url.URL
	enc       encoding.Encoding // the page's charset; nil for UTF-8
	refresh   string            // the Refresh header
	maxDelay  time.Duration
	userAgent string
	cookies   http.CookieJar
	// fetchScript returns the source of a same-site external script, or an
	// error; nil means no external scripts.
	fetchScript func(u *url.URL) (string, error)
}

// browse finds where page, decoded to UTF-8, sends a browser tab without a
// visitor's action.
func browse(page []byte, env pageEnv) (navigation, bool) {
	doc, err := html.ParseWithOptions(bytes.NewReader(page), html.ParseOptionEnableScripting(true))
	if err != nil {
		return navigation{}, false
	}
	b := &tab{env: env, doc: doc, docURL: env.url, base: env.url, parsed: map[*html.Node]bool{}}
	defer b.close()
	return b.run()
}

// tab is the state of one page in the virtual browser.
type tab struct {
	env    pageEnv
	doc    *html.Node
	docURL *url.URL
	base   *url.URL
	baseOK bool // the first <base href> has been seen

	parsed    map[*html.Node]bool // nodes the parser has reached
	loaded    bool
	current   *html.Node // the script running during parsing
	writeHere *html.Node // document.write inserts after this node

	nav     *navigation
	refresh *scheduled
	timers  []*timer
	now     time.Duration
	seq     int
	firings int

	js          *jsWorld
	scriptBytes int
	stopped     bool // a budget ran out: no more scripts on this page
}

type scheduled struct {
	due    time.Duration
	target *url.URL
}

type timer struct {
	id       int
	seq      int
	due      time.Duration
	interval time.Duration // 0 for a one-shot timer
	fn       goja.Callable
	code     string
	args     []goja.Value
	cleared  bool
}

func (b *tab) run() (navigation, bool) {
	if delay, target, ok := parseRefresh(b.env.refresh); ok {
		b.scheduleRefresh(delay, target)
	}
	// Parse: walk the tree in document order, as the parser builds it.
	for n := b.doc; n != nil && b.nav == nil; n = b.next(n) {
		b.parsed[n] = true
		if n.Type == html.ElementNode && n.Namespace == "" {
			b.element(n)
		}
	}
	b.parsedAll()
	if b.nav != nil {
		return *b.nav, true
	}
	b.loaded = true
	if b.js != nil {
		b.js.fire("DOMContentLoaded")
		if b.nav == nil {
			b.js.fire("load")
		}
	}
	if b.nav != nil {
		return *b.nav, true
	}
	// Time passes: timers and the refresh, in the order they are due.
	for b.nav == nil && b.firings < maxTimerFirings {
		t := b.nextTimer()
		if b.refresh != nil && (t == nil || b.refresh.due < t.due) {
			if b.refresh.due > b.env.maxDelay {
				break
			}
			return navigation{how: urltracker.RedirectMeta, target: b.refresh.target, method: http.MethodGet}, true
		}
		if t == nil || t.due > b.env.maxDelay {
			break
		}
		b.firings++
		b.now = t.due
		if t.interval > 0 {
			t.due += t.interval
			b.seq++
			t.seq = b.seq
		} else {
			t.cleared = true
		}
		b.js.runTimer(t)
	}
	if b.nav != nil {
		return *b.nav, true
	}
	return navigation{}, false
}

// next is the node after n in document order; what document.write inserts
// after a script comes right after it.
func (b *tab) next(n *html.Node) *html.Node {
	if n.FirstChild != nil && !(n.Type == html.ElementNode && n.DataAtom == atom.Template) {
		return n.FirstChild
	}
	for ; n != nil; n = n.Parent {
		if n.NextSibling != nil {
			return n.NextSibling
		}
	}
	return nil
}

// parsedAll marks the whole tree parsed: after the parser, scripts see all.
func (b *tab) parsedAll() {
	var mark func(*html.Node)
	mark = func(n *html.Node) {
		b.parsed[n] = true
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			mark(c)
		}
	}
	mark(b.doc)
}

// element acts on an element as the parser inserts it.
func (b *tab) element(n *html.Node) {
	switch n.DataAtom {
	case atom.Base:
		if href, ok := attr(n, "href"); ok && !b.baseOK {
			b.baseOK = true
			if u, err := b.resolve(href); err == nil {
				b.base = u
			}
		}
	case atom.Meta:
		b.meta(n)
	case atom.Script:
		b.script(n)
	case atom.Body:
		if code, ok := attr(n, "onload"); ok {
			b.world().setOnload(code)
		}
	}
}

// meta schedules a <meta http-equiv="refresh">. The attribute's value is
// compared without trimming, as browsers do.
func (b *tab) meta(n *html.Node) {
	equiv, _ := attr(n, "http-equiv")
	if !strings.EqualFold(equiv, "refresh") || inTemplate(n) {
		return
	}
	content, ok := attr(n, "content")
	if !ok {
		return
	}
	if delay, target, ok := parseRefresh(content); ok {
		b.scheduleRefresh(delay, target)
	}
}

func inTemplate(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.DataAtom == atom.Template {
			return true
		}
	}
	return false
}

func (b *tab) scheduleRefresh(delay time.Duration, target string) {
	var u *url.URL
	if target == "" {
		u = b.docURL // reloads itself: not a redirect
	} else {
		var err error
		if u, err = b.resolve(target); err != nil {
			return
		}
	}
	if b.refresh != nil && delay > b.refresh.due-b.now {
		return
	}
	b.refresh = &scheduled{due: b.now + delay, target: u}
}

// jsTypes are the <script type> values browsers run as classic or module
// JavaScript.
var jsTypes = map[string]bool{
	"": true, "text/javascript": true, "application/javascript": true, "module": true,
	"text/ecmascript": true, "application/ecmascript": true, "application/x-javascript": true,
	"text/jscript": true, "text/livescript": true, "text/x-javascript": true, "text/x-ecmascript": true,
	"text/javascript1.0": true, "text/javascript1.1": true, "text/javascript1.2": true,
	"text/javascript1.3": true, "text/javascript1.4": true, "text/javascript1.5": true,
}

func (b *tab) script(n *html.Node) {
	typ, _ := attr(n, "type")
	if !jsTypes[strings.ToLower(strings.TrimSpace(typ))] || inTemplate(n) || b.stopped {
		return
	}
	var src string
	if ref, external := attr(n, "src"); external {
		u, err := b.resolve(ref)
		if err != nil || b.env.fetchScript == nil || !sameSite(u, b.env.url) {
			return
		}
		if src, err = b.env.fetchScript(u); err != nil {
			return
		}
	} else {
		var text strings.Builder
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				text.WriteString(c.Data)
			}
		}
		src = text.String()
	}
	if strings.TrimSpace(src) == "" {
		return
	}
	b.current, b.writeHere = n, n
	b.world().runScript(src)
	b.current, b.writeHere = nil, nil
}

// navigate records a navigation to ref started by a script, a click or a
// form. A later one replaces it, as a new navigation cancels a pending one.
func (b *tab) navigate(how urltracker.RedirectType, ref string) {
	u, err := b.resolve(ref)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return
	}
	b.navigateTo(navigation{how: how, target: u, method: http.MethodGet})
}

func (b *tab) navigateTo(nav navigation) {
	if nav.method == http.MethodGet && sameDocument(nav.target, b.docURL) {
		return // only the fragment changes: the page stays
	}
	b.nav = &nav
}

// sameDocument reports whether u differs from doc by its fragment only.
func sameDocument(u, doc *url.URL) bool {
	if u.Fragment == "" && !strings.HasSuffix(u.String(), "#") {
		return false
	}
	a, d := *u, *doc
	a.Fragment, a.RawFragment, d.Fragment, d.RawFragment = "", "", "", ""
	return strings.TrimSuffix(a.String(), "#") == strings.TrimSuffix(d.String(), "#")
}

// resolve parses ref against the document's base URL, as a browser does,
// keeping the fragment (the caller decides what it means).
func (b *tab) resolve(ref string) (*url.URL, error) {
	return parseBrowserURL(b.base, ref, b.env.enc)
}

func (b *tab) nextTimer() *timer {
	live := b.timers[:0]
	for _, t := range b.timers {
		if !t.cleared {
			live = append(live, t)
		}
	}
	b.timers = live
	if len(live) == 0 {
		return nil
	}
	sort.SliceStable(live, func(i, j int) bool {
		if live[i].due != live[j].due {
			return live[i].due < live[j].due
		}
		return live[i].seq < live[j].seq
	})
	return live[0]
}

func (b *tab) world() *jsWorld {
	if b.js == nil {
		b.js = newJSWorld(b)
	}
	return b.js
}

func (b *tab) close() {
	if b.js != nil {
		b.js.close()
	}
}

// errBudget interrupts a script that ran out of time or memory.
var errBudget = errors.New("script budget exhausted")

// watchdog interrupts vm when the page's scripts have run for their wall
// time or the heap has grown by more than their memory budget. stop ends it.
type watchdog struct {
	stop chan struct{}
	done sync.WaitGroup
}

func startWatchdog(vm *goja.Runtime, wall time.Duration) *watchdog {
	w := &watchdog{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	start := sample[0].Value.Uint64()
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		deadline := time.NewTimer(wall)
		defer deadline.Stop()
		tick := time.NewTicker(heapPoll)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-deadline.C:
				vm.Interrupt(errBudget)
				return
			case <-tick.C:
				metrics.Read(sample)
				if now := sample[0].Value.Uint64(); now > start && now-start > scriptHeapBytes {
					vm.Interrupt(errBudget)
					return
				}
			}
		}
	}()
	return w
}

func (w *watchdog) close() {
	close(w.stop)
	w.done.Wait()
}
