package tracer

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/dop251/goja"
	"golang.org/x/net/html"

	"github.com/urltracker/urltracker"
)

// jsWorld is the JavaScript side of a tab: one goja runtime whose global
// object is the window.
type jsWorld struct {
	tab       *tab
	vm        *goja.Runtime
	global    *goja.Object
	location  *goja.Object
	document  *goja.Object
	elements  map[*html.Node]*goja.Object
	listeners map[string][]goja.Value // window and document event listeners
	used      time.Duration           // wall time the page's scripts have had
}

// windowJS defines, in JavaScript, the parts of the window that need no Go:
// storage, timers' friends, console and the like.
//
//go:embed window.js
var windowJS string

var windowProgram = goja.MustCompile("window.js", windowJS, false)

func newJSWorld(b *tab) *jsWorld {
	vm := goja.New()
	vm.SetMaxCallStackSize(maxCallStack)
	w := &jsWorld{tab: b, vm: vm, global: vm.GlobalObject(), elements: map[*html.Node]*goja.Object{}, listeners: map[string][]goja.Value{}}
	g := w.global
	w.location = vm.NewDynamicObject(&locationObject{w: w})
	w.document = vm.NewDynamicObject(&documentObject{w: w})
	for _, name := range []string{"window", "self", "top", "parent", "frames", "globalThis"} {
		_ = g.Set(name, g)
	}
	// location is unforgeable on window: "var location = …" at the top
	// level assigns to it, and so navigates.
	_ = g.DefineAccessorProperty("location",
		vm.ToValue(func() goja.Value { return w.location }),
		vm.ToValue(func(v goja.Value) { w.assign(urltracker.RedirectJavaScript, v.String()) }),
		goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = g.DefineAccessorProperty("document", vm.ToValue(func() goja.Value { return w.document }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = g.Set("frameElement", goja.Null())
	_ = g.Set("navigator", map[string]any{
		"userAgent": b.env.userAgent, "language": "en-US", "languages": []string{"en-US", "en"},
		"cookieEnabled": true, "onLine": true, "platform": "", "vendor": "",
	})
	_ = g.Set("setTimeout", w.setTimer(false))
	_ = g.Set("setInterval", w.setTimer(true))
	clear := func(id int) {
		for _, t := range b.timers {
			if t.id == id {
				t.cleared = true
			}
		}
	}
	_ = g.Set("clearTimeout", clear)
	_ = g.Set("clearInterval", clear)
	_ = g.Set("requestAnimationFrame", func(fn goja.Value) int {
		return w.addTimer(fn, 16*time.Millisecond, false, nil)
	})
	_ = g.Set("cancelAnimationFrame", clear)
	_ = g.Set("atob", func(s string) (string, error) {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
				return -1
			}
			return r
		}, s)
		d, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return "", errors.New("InvalidCharacterError: atob")
		}
		return latin1(d), nil
	})
	_ = g.Set("btoa", func(s string) (string, error) {
		raw := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				return "", errors.New("InvalidCharacterError: btoa")
			}
			raw = append(raw, byte(r))
		}
		return base64.StdEncoding.EncodeToString(raw), nil
	})
	_ = g.Set("addEventListener", w.addListener)
	_ = g.Set("removeEventListener", func(string, goja.Value) {})
	_ = g.Set("open", func(ref string, target string) goja.Value {
		switch strings.ToLower(target) {
		case "_self", "_top", "_parent":
			w.tab.navigate(urltracker.RedirectJavaScript, ref)
		}
		return goja.Null()
	})
	_ = g.Set("__historyURL", func(ref string) {
		if u, err := b.resolve(ref); err == nil && u.Host == b.docURL.Host && u.Scheme == b.docURL.Scheme {
			b.docURL = u
		}
	})
	if _, err := vm.RunProgram(windowProgram); err != nil {
		panic("window.js: " + err.Error()) // a bug in this package, caught by every test
	}
	return w
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// assign is a script setting location or location.href.
func (w *jsWorld) assign(how urltracker.RedirectType, ref string) {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(ref)), "javascript:") {
		return
	}
	w.tab.navigate(how, ref)
}

func (w *jsWorld) setTimer(repeat bool) func(goja.FunctionCall) goja.Value {
	return func(call goja.FunctionCall) goja.Value {
		delay := time.Duration(0)
		if d := call.Argument(1).ToFloat(); !math.IsNaN(d) && d > 0 {
			delay = time.Duration(min(d, 1e10)) * time.Millisecond
		}
		var args []goja.Value
		if len(call.Arguments) > 2 {
			args = call.Arguments[2:]
		}
		return w.vm.ToValue(w.addTimer(call.Argument(0), delay, repeat, args))
	}
}

func (w *jsWorld) addTimer(fn goja.Value, delay time.Duration, repeat bool, args []goja.Value) int {
	b := w.tab
	b.seq++
	t := &timer{id: b.seq, seq: b.seq, due: b.now + delay, args: args}
	if repeat {
		t.interval = max(delay, time.Millisecond)
	}
	if f, ok := goja.AssertFunction(fn); ok {
		t.fn = f
	} else {
		t.code = fn.String()
	}
	b.timers = append(b.timers, t)
	return t.id
}

func (w *jsWorld) addListener(event string, fn goja.Value) {
	if _, ok := goja.AssertFunction(fn); ok {
		event = strings.ToLower(event)
		w.listeners[event] = append(w.listeners[event], fn)
	}
}

// setOnload compiles a <body onload> attribute into window.onload.
func (w *jsWorld) setOnload(code string) {
	fn, err := w.vm.RunString("(function (event) {\n" + code + "\n})")
	if err == nil {
		_ = w.global.Set("onload", fn)
	}
}

// fire dispatches an event that needs no visitor to its listeners and,
// for load, to window.onload.
func (w *jsWorld) fire(event string) {
	var fns []goja.Value
	fns = append(fns, w.listeners[strings.ToLower(event)]...)
	if event == "load" {
		fns = append(fns, w.global.Get("onload"))
		fns = append(fns, w.listeners["pageshow"]...)
		fns = append(fns, w.global.Get("onpageshow"))
	}
	for _, fn := range fns {
		if f, ok := goja.AssertFunction(fn); ok && w.tab.nav == nil {
			ev := w.vm.NewObject()
			_ = ev.Set("type", event)
			w.call(func() error { _, err := f(w.global, ev); return err })
		}
	}
}

func (w *jsWorld) runScript(src string) {
	b := w.tab
	b.scriptBytes += len(src)
	if b.scriptBytes > maxScriptBytes {
		b.stopped = true
		return
	}
	prg, err := goja.Compile("", htmlComments.ReplaceAllString(src, "$1//"), false)
	if err != nil {
		return // a syntax error stops this script only
	}
	w.call(func() error { _, err := w.vm.RunProgram(prg); return err })
}

// htmlComments are "<!--" and "-->" at the start of a line, which old pages
// use to hide scripts from ancient browsers and which browsers read as line
// comments (ECMAScript Annex B); goja does not.
var htmlComments = regexp.MustCompile(`(?m)^([ \t]*)(<!--|-->)`)

func (w *jsWorld) runTimer(t *timer) {
	if t.fn != nil {
		w.call(func() error { _, err := t.fn(w.global, t.args...); return err })
		return
	}
	w.runScript(t.code)
}

// call runs JavaScript under the page's remaining budget. An exception ends
// that script only; a spent budget ends every script of the page.
func (w *jsWorld) call(run func() error) {
	b := w.tab
	if b.stopped {
		return
	}
	left := scriptWallTime - w.used
	if left <= 0 {
		b.stopped = true
		return
	}
	start := time.Now()
	dog := startWatchdog(w.vm, left)
	err := run()
	dog.close()
	w.used += time.Since(start)
	var interrupted *goja.InterruptedError
	if errors.As(err, &interrupted) {
		b.stopped = true
	}
	w.vm.ClearInterrupt()
}

func (w *jsWorld) close() {}

// locationObject is window.location: reading gives the document's URL,
// writing navigates.
type locationObject struct{ w *jsWorld }

func (l *locationObject) Get(key string) goja.Value {
	w := l.w
	u := w.tab.docURL
	vm := w.vm
	switch key {
	case "href":
		return vm.ToValue(u.String())
	case "protocol":
		return vm.ToValue(u.Scheme + ":")
	case "host":
		return vm.ToValue(u.Host)
	case "hostname":
		return vm.ToValue(u.Hostname())
	case "port":
		return vm.ToValue(u.Port())
	case "origin":
		return vm.ToValue(u.Scheme + "://" + u.Host)
	case "pathname":
		return vm.ToValue(u.EscapedPath())
	case "search":
		if u.RawQuery == "" {
			return vm.ToValue("")
		}
		return vm.ToValue("?" + u.RawQuery)
	case "hash":
		if u.Fragment == "" {
			return vm.ToValue("")
		}
		return vm.ToValue("#" + u.EscapedFragment())
	case "assign", "replace":
		return vm.ToValue(func(ref string) { w.assign(urltracker.RedirectJavaScript, ref) })
	case "reload":
		return vm.ToValue(func() {})
	case "toString", "valueOf":
		return vm.ToValue(func() string { return w.tab.docURL.String() })
	}
	return nil
}

func (l *locationObject) Set(key string, val goja.Value) bool {
	w := l.w
	u := *w.tab.docURL
	s := val.String()
	switch key {
	case "href":
		w.assign(urltracker.RedirectJavaScript, s)
		return true
	case "search":
		u.RawQuery = strings.TrimPrefix(s, "?")
	case "pathname":
		u.Path, u.RawPath = "", ""
		w.assign(urltracker.RedirectJavaScript, (&url.URL{Scheme: u.Scheme, Host: u.Host}).String()+"/"+strings.TrimPrefix(s, "/")+searchOf(&u))
		return true
	case "hash":
		return true // same document
	case "host", "hostname", "port", "protocol":
		return true // rare; not followed
	default:
		return false
	}
	w.assign(urltracker.RedirectJavaScript, u.String())
	return true
}

func searchOf(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

func (l *locationObject) Has(key string) bool { return l.Get(key) != nil }
func (l *locationObject) Delete(string) bool  { return false }
func (l *locationObject) Keys() []string {
	return []string{"href", "protocol", "host", "hostname", "port", "origin", "pathname", "search", "hash"}
}

// cookieHeader is what document.cookie reads: the trace's cookies for the
// page's URL.
func (w *jsWorld) cookieHeader() string {
	jar := w.tab.env.cookies
	if jar == nil {
		return ""
	}
	var parts []string
	for _, c := range jar.Cookies(w.tab.docURL) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func (w *jsWorld) setCookie(s string) {
	jar := w.tab.env.cookies
	if jar == nil {
		return
	}
	if c, err := http.ParseSetCookie(s); err == nil {
		jar.SetCookies(w.tab.docURL, []*http.Cookie{c})
	}
}
