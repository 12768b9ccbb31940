package tracer

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding"

	"github.com/urltracker/urltracker"
)

// This file is the document as scripts see it: the parsed page's nodes
// wrapped for goja, with the few methods redirect pages use to find, create,
// click and submit elements. Layout does not exist: sizes are zero.

// documentObject is window.document.
type documentObject struct{ w *jsWorld }

func (d *documentObject) Get(key string) goja.Value {
	w := d.w
	vm := w.vm
	b := w.tab
	switch key {
	case "location":
		return w.location
	case "URL", "documentURI":
		return vm.ToValue(b.docURL.String())
	case "domain":
		return vm.ToValue(b.docURL.Hostname())
	case "referrer":
		return vm.ToValue("")
	case "cookie":
		return vm.ToValue(w.cookieHeader())
	case "readyState":
		if b.loaded {
			return vm.ToValue("complete")
		}
		return vm.ToValue("loading")
	case "title":
		if n := w.find(b.doc, func(n *html.Node) bool { return n.DataAtom == atom.Title }); n != nil {
			return vm.ToValue(textContent(n))
		}
		return vm.ToValue("")
	case "documentElement":
		return w.wrap(w.find(b.doc, func(n *html.Node) bool { return n.DataAtom == atom.Html }))
	case "head":
		return w.wrap(w.find(b.doc, func(n *html.Node) bool { return n.DataAtom == atom.Head }))
	case "body":
		return w.wrap(w.find(b.doc, func(n *html.Node) bool { return n.DataAtom == atom.Body }))
	case "forms":
		return w.list(w.findAll(b.doc, byTag("form")))
	case "links":
		return w.list(w.findAll(b.doc, func(n *html.Node) bool {
			_, ok := attr(n, "href")
			return ok && (n.DataAtom == atom.A || n.DataAtom == atom.Area)
		}))
	case "scripts":
		return w.list(w.findAll(b.doc, byTag("script")))
	case "images":
		return w.list(w.findAll(b.doc, byTag("img")))
	case "currentScript":
		return w.wrap(b.current)
	case "hidden":
		return vm.ToValue(false)
	case "visibilityState":
		return vm.ToValue("visible")
	case "defaultView":
		return w.global
	case "getElementById":
		return vm.ToValue(func(id string) goja.Value {
			return w.wrap(w.find(b.doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id }))
		})
	case "getElementsByName":
		return vm.ToValue(func(name string) goja.Value {
			return w.list(w.findAll(b.doc, func(n *html.Node) bool { v, _ := attr(n, "name"); return v == name }))
		})
	case "createElement":
		return vm.ToValue(func(tag string) goja.Value {
			tag = strings.ToLower(tag)
			n := &html.Node{Type: html.ElementNode, Data: tag, DataAtom: atom.Lookup([]byte(tag))}
			b.parsed[n] = true
			return w.wrap(n)
		})
	case "createTextNode":
		return vm.ToValue(func(s string) goja.Value {
			n := &html.Node{Type: html.TextNode, Data: s}
			b.parsed[n] = true
			return w.wrap(n)
		})
	case "write", "writeln":
		nl := key == "writeln"
		return vm.ToValue(func(call goja.FunctionCall) goja.Value {
			var s strings.Builder
			for _, a := range call.Arguments {
				s.WriteString(a.String())
			}
			if nl {
				s.WriteString("\n")
			}
			w.write(s.String())
			return goja.Undefined()
		})
	case "open", "close":
		return vm.ToValue(func() {})
	case "addEventListener":
		return vm.ToValue(w.addListener)
	case "removeEventListener":
		return vm.ToValue(func() {})
	case "hasFocus":
		return vm.ToValue(func() bool { return true })
	}
	if fn := queryMethod(w, b.doc, key); fn != nil {
		return fn
	}
	// document.NAME is the form (or image) with that name.
	if n := w.find(b.doc, func(n *html.Node) bool {
		v, _ := attr(n, "name")
		return v == key && (n.DataAtom == atom.Form || n.DataAtom == atom.Img || n.DataAtom == atom.Embed)
	}); n != nil {
		return w.wrap(n)
	}
	return nil
}

func (d *documentObject) Set(key string, val goja.Value) bool {
	switch key {
	case "location":
		d.w.assign(urltracker.RedirectJavaScript, val.String())
	case "cookie":
		d.w.setCookie(val.String())
	}
	return true
}

func (d *documentObject) Has(key string) bool { return d.Get(key) != nil }
func (d *documentObject) Delete(string) bool  { return true }
func (d *documentObject) Keys() []string      { return nil }

// write inserts markup where the running script is, so that the parser
// meets it next; after loading it does nothing (it would replace the page).
func (w *jsWorld) write(markup string) {
	b := w.tab
	at := b.writeHere
	if at == nil || at.Parent == nil || b.loaded {
		return
	}
	nodes, err := html.ParseFragmentWithOptions(strings.NewReader(markup), at.Parent, html.ParseOptionEnableScripting(true))
	if err != nil {
		return
	}
	for _, n := range nodes {
		at.Parent.InsertBefore(n, at.NextSibling)
		at = n
		// The parser reads what is written at once: the script that wrote
		// it can use it. Its meta and scripts take effect when the walk
		// reaches them, right after this script.
		w.markParsed(n)
	}
	b.writeHere = at
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

// find returns the first element under root, in document order, that the
// parser has reached and that match accepts.
func (w *jsWorld) find(root *html.Node, match func(*html.Node) bool) *html.Node {
	var found *html.Node
	w.walk(root, func(n *html.Node) bool {
		if match(n) {
			found = n
			return false
		}
		return true
	})
	return found
}

func (w *jsWorld) findAll(root *html.Node, match func(*html.Node) bool) []*html.Node {
	var all []*html.Node
	w.walk(root, func(n *html.Node) bool {
		if match(n) {
			all = append(all, n)
		}
		return true
	})
	return all
}

// walk visits the elements under root, not root itself, until visit says
// stop. Template contents are not part of the document.
func (w *jsWorld) walk(root *html.Node, visit func(*html.Node) bool) bool {
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		if !w.tab.parsed[c] {
			return false
		}
		if !visit(c) {
			return false
		}
		if c.DataAtom != atom.Template && !w.walk(c, visit) {
			return false
		}
	}
	return true
}

func (w *jsWorld) list(nodes []*html.Node) goja.Value {
	vals := make([]any, len(nodes))
	for i, n := range nodes {
		vals[i] = w.wrap(n)
	}
	arr := w.vm.NewArray(vals...)
	_ = arr.Set("item", func(i int) goja.Value {
		if i < 0 || i >= len(nodes) {
			return goja.Null()
		}
		return w.wrap(nodes[i])
	})
	// Named access, as in document.forms.NAME.
	for _, n := range nodes {
		for _, key := range []string{"id", "name"} {
			if v, ok := attr(n, key); ok && v != "" && arr.Get(v) == nil {
				_ = arr.Set(v, w.wrap(n))
			}
		}
	}
	return arr
}

// queryMethod returns the query method called key on root, or nil.
func queryMethod(w *jsWorld, root *html.Node, key string) goja.Value {
	vm := w.vm
	switch key {
	case "getElementsByTagName":
		return vm.ToValue(func(tag string) goja.Value {
			tag = strings.ToLower(tag)
			return w.list(w.findAll(root, func(n *html.Node) bool { return tag == "*" || n.Data == tag }))
		})
	case "getElementsByClassName":
		return vm.ToValue(func(class string) goja.Value {
			return w.list(w.findAll(root, func(n *html.Node) bool { return hasClass(n, class) }))
		})
	case "querySelector":
		return vm.ToValue(func(sel string) goja.Value {
			m := compileSelector(sel)
			if m == nil {
				return goja.Null()
			}
			return w.wrap(w.find(root, m))
		})
	case "querySelectorAll":
		return vm.ToValue(func(sel string) goja.Value {
			m := compileSelector(sel)
			if m == nil {
				return w.list(nil)
			}
			return w.list(w.findAll(root, m))
		})
	}
	return nil
}

// compileSelector understands the simple selectors redirect pages use:
// tag, #id, .class, [name=value] and combinations of them in one compound
// selector, or a comma-separated list of such. Anything else matches
// nothing.
func compileSelector(sel string) func(*html.Node) bool {
	var alts []func(*html.Node) bool
	for part := range strings.SplitSeq(sel, ",") {
		part = strings.TrimSpace(part)
		if part == "" || strings.ContainsAny(part, " >+~:") {
			return nil
		}
		var tests []func(*html.Node) bool
		for part != "" {
			end := strings.IndexAny(part[1:], "#.[") + 1
			if end == 0 {
				end = len(part)
			}
			tok := part[:end]
			part = part[end:]
			switch tok[0] {
			case '#':
				id := tok[1:]
				tests = append(tests, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == id })
			case '.':
				class := tok[1:]
				tests = append(tests, func(n *html.Node) bool { return hasClass(n, class) })
			case '[':
				if !strings.HasSuffix(tok, "]") {
					if i := strings.IndexByte(part, ']'); i >= 0 {
						tok += part[:i+1]
						part = part[i+1:]
					}
				}
				k, v, hasValue := strings.Cut(strings.Trim(tok, "[]"), "=")
				v = strings.Trim(v, `"'`)
				tests = append(tests, func(n *html.Node) bool {
					got, ok := attr(n, k)
					return ok && (!hasValue || got == v)
				})
			default:
				tag := strings.ToLower(tok)
				tests = append(tests, func(n *html.Node) bool { return tag == "*" || n.Data == tag })
			}
		}
		alts = append(alts, func(n *html.Node) bool {
			for _, t := range tests {
				if !t(n) {
					return false
				}
			}
			return true
		})
	}
	return func(n *html.Node) bool {
		for _, a := range alts {
			if a(n) {
				return true
			}
		}
		return false
	}
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for c := range strings.FieldsSeq(v) {
		if c == class {
			return true
		}
	}
	return false
}

// attr returns an attribute of an element.
func attr(n *html.Node, key string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func setAttr(n *html.Node, key, val string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr[i].Val = val
			return
		}
	}
	n.Attr = append(n.Attr, html.Attribute{Key: key, Val: val})
}

func removeAttr(n *html.Node, key string) {
	for i, a := range n.Attr {
		if a.Namespace == "" && a.Key == key {
			n.Attr = append(n.Attr[:i], n.Attr[i+1:]...)
			return
		}
	}
}

func textContent(n *html.Node) string {
	var s strings.Builder
	var collect func(*html.Node)
	collect = func(n *html.Node) {
		if n.Type == html.TextNode {
			s.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			collect(c)
		}
	}
	collect(n)
	return s.String()
}

// wrap returns the script object for n, the same one every time; null for
// nil.
func (w *jsWorld) wrap(n *html.Node) goja.Value {
	if n == nil {
		return goja.Null()
	}
	if o, ok := w.elements[n]; ok {
		return o
	}
	o := w.vm.NewDynamicObject(&elementObject{w: w, n: n, props: map[string]goja.Value{}})
	w.elements[n] = o
	return o
}

func (w *jsWorld) node(v goja.Value) *html.Node {
	o, ok := v.(*goja.Object)
	if !ok {
		return nil
	}
	for n, obj := range w.elements {
		if obj == o {
			return n
		}
	}
	return nil
}

// elementObject is one element (or text node) as scripts see it.
type elementObject struct {
	w     *jsWorld
	n     *html.Node
	props map[string]goja.Value // what scripts set that is not an attribute
}

// reflected are the properties that read and write an attribute.
var reflected = map[string]string{
	"id": "id", "name": "name", "type": "type", "value": "value", "method": "method",
	"target": "target", "className": "class", "content": "content", "httpEquiv": "http-equiv",
	"rel": "rel", "title": "title", "alt": "alt", "enctype": "enctype", "charset": "charset",
}

func (e *elementObject) Get(key string) goja.Value {
	w, n, vm := e.w, e.n, e.w.vm
	if v, ok := e.props[key]; ok {
		return v
	}
	if a, ok := reflected[key]; ok {
		v, _ := attr(n, a)
		if key == "method" {
			v = strings.ToLower(v)
			if v != "post" && v != "dialog" {
				v = "get"
			}
		}
		return vm.ToValue(v)
	}
	switch key {
	case "tagName", "nodeName":
		if n.Type == html.TextNode {
			return vm.ToValue("#text")
		}
		return vm.ToValue(strings.ToUpper(n.Data))
	case "nodeType":
		if n.Type == html.TextNode {
			return vm.ToValue(3)
		}
		return vm.ToValue(1)
	case "href", "action", "src":
		v, ok := attr(n, key)
		if !ok && key != "action" {
			return vm.ToValue("")
		}
		if u, err := w.tab.resolve(v); err == nil {
			return vm.ToValue(u.String())
		}
		return vm.ToValue(v)
	case "checked", "disabled", "selected", "defer", "async", "hidden":
		_, ok := attr(n, key)
		return vm.ToValue(ok)
	case "textContent", "innerText", "text":
		return vm.ToValue(textContent(n))
	case "innerHTML", "outerHTML":
		var s strings.Builder
		if key == "outerHTML" {
			_ = html.Render(&s, n)
		} else {
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				_ = html.Render(&s, c)
			}
		}
		return vm.ToValue(s.String())
	case "style", "dataset", "classList":
		o := vm.NewObject()
		if key == "classList" {
			_ = o.Set("add", func(string) {})
			_ = o.Set("remove", func(string) {})
			_ = o.Set("contains", func(c string) bool { return hasClass(n, c) })
		}
		e.props[key] = o
		return o
	case "parentNode", "parentElement":
		if n.Parent == nil || n.Parent.Type == html.DocumentNode {
			return goja.Null()
		}
		return w.wrap(n.Parent)
	case "firstChild", "firstElementChild":
		return w.wrap(n.FirstChild)
	case "lastChild":
		return w.wrap(n.LastChild)
	case "nextSibling":
		return w.wrap(n.NextSibling)
	case "children", "childNodes":
		var kids []*html.Node
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode || key == "childNodes" {
				kids = append(kids, c)
			}
		}
		return w.list(kids)
	case "elements":
		return w.list(formControls(n))
	case "length":
		if n.DataAtom == atom.Form {
			return vm.ToValue(len(formControls(n)))
		}
	case "form":
		return w.wrap(formOf(n))
	case "ownerDocument":
		return w.document
	case "offsetWidth", "offsetHeight", "clientWidth", "clientHeight", "scrollHeight", "scrollWidth", "offsetTop", "offsetLeft":
		return vm.ToValue(0)
	case "getAttribute":
		return vm.ToValue(func(k string) goja.Value {
			if v, ok := attr(n, strings.ToLower(k)); ok {
				return vm.ToValue(v)
			}
			return goja.Null()
		})
	case "setAttribute":
		return vm.ToValue(func(k, v string) { e.setAttribute(strings.ToLower(k), v) })
	case "removeAttribute":
		return vm.ToValue(func(k string) { removeAttr(n, strings.ToLower(k)) })
	case "hasAttribute":
		return vm.ToValue(func(k string) bool { _, ok := attr(n, strings.ToLower(k)); return ok })
	case "appendChild", "append":
		return vm.ToValue(func(child goja.Value) goja.Value {
			if c := w.node(child); c != nil && c != n {
				w.insert(n, c, nil)
			}
			return child
		})
	case "insertBefore":
		return vm.ToValue(func(child, ref goja.Value) goja.Value {
			if c := w.node(child); c != nil && c != n {
				w.insert(n, c, w.node(ref))
			}
			return child
		})
	case "removeChild":
		return vm.ToValue(func(child goja.Value) goja.Value {
			if c := w.node(child); c != nil && c.Parent == n {
				n.RemoveChild(c)
			}
			return child
		})
	case "remove":
		return vm.ToValue(func() {
			if n.Parent != nil {
				n.Parent.RemoveChild(n)
			}
		})
	case "click":
		return vm.ToValue(func() { w.click(n) })
	case "submit":
		return vm.ToValue(func() { w.submit(n, nil) })
	case "requestSubmit":
		return vm.ToValue(func() { w.submit(n, nil) })
	case "addEventListener", "removeEventListener", "focus", "blur", "reset", "scrollIntoView", "setProperty":
		return vm.ToValue(func() {})
	case "dispatchEvent":
		return vm.ToValue(func() bool { return true })
	case "getBoundingClientRect":
		return vm.ToValue(func() map[string]int {
			return map[string]int{"top": 0, "left": 0, "width": 0, "height": 0, "right": 0, "bottom": 0}
		})
	case "contains":
		return vm.ToValue(func(other goja.Value) bool {
			for c := w.node(other); c != nil; c = c.Parent {
				if c == n {
					return true
				}
			}
			return false
		})
	}
	if fn := queryMethod(w, n, key); fn != nil {
		return fn
	}
	if n.DataAtom == atom.Form {
		// form.NAME is the control with that name.
		for _, c := range formControls(n) {
			if v, _ := attr(c, "name"); v == key {
				return w.wrap(c)
			}
		}
	}
	return nil
}

func (e *elementObject) Set(key string, val goja.Value) bool {
	n := e.n
	if a, ok := reflected[key]; ok {
		e.setAttribute(a, val.String())
		return true
	}
	switch key {
	case "href", "action", "src":
		e.setAttribute(key, val.String())
	case "checked", "disabled", "selected":
		if val.ToBoolean() {
			setAttr(n, key, "")
		} else {
			removeAttr(n, key)
		}
	case "textContent", "innerText", "text":
		for n.FirstChild != nil {
			n.RemoveChild(n.FirstChild)
		}
		t := &html.Node{Type: html.TextNode, Data: val.String()}
		e.w.tab.parsed[t] = true
		n.AppendChild(t)
	case "innerHTML":
		e.w.setInnerHTML(n, val.String())
	default:
		e.props[key] = val
	}
	return true
}

func (e *elementObject) setAttribute(key, val string) {
	setAttr(e.n, key, val)
}

func (e *elementObject) Has(key string) bool { return e.Get(key) != nil }
func (e *elementObject) Delete(key string) bool {
	delete(e.props, key)
	return true
}
func (e *elementObject) Keys() []string { return nil }

// insert adds child to parent before ref (at the end for nil). A <meta
// refresh> inserted into the document takes effect, as in browsers; an
// inserted <script> runs only when created by createElement, which the
// corpus of redirect pages does not need, so it does not.
func (w *jsWorld) insert(parent, child, ref *html.Node) {
	if child.Parent != nil {
		child.Parent.RemoveChild(child)
	}
	if ref != nil && ref.Parent == parent {
		parent.InsertBefore(child, ref)
	} else {
		parent.AppendChild(child)
	}
	w.markInserted(child)
}

func (w *jsWorld) markInserted(n *html.Node) {
	if !w.connected(n) {
		return
	}
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		w.tab.parsed[n] = true
		if n.Type == html.ElementNode && n.DataAtom == atom.Meta {
			w.tab.meta(n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c)
		}
	}
	visit(n)
}

func (w *jsWorld) markParsed(n *html.Node) {
	w.tab.parsed[n] = true
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		w.markParsed(c)
	}
}

func (w *jsWorld) connected(n *html.Node) bool {
	for ; n != nil; n = n.Parent {
		if n == w.tab.doc {
			return true
		}
	}
	return false
}

func (w *jsWorld) setInnerHTML(n *html.Node, markup string) {
	nodes, err := html.ParseFragmentWithOptions(strings.NewReader(markup), n, html.ParseOptionEnableScripting(true))
	if err != nil {
		return
	}
	for n.FirstChild != nil {
		n.RemoveChild(n.FirstChild)
	}
	for _, c := range nodes {
		n.AppendChild(c)
		w.markInserted(c)
	}
}

// click is element.click(): a link navigates, a submit button submits its
// form. A link that opens another window leaves this tab where it is.
func (w *jsWorld) click(n *html.Node) {
	switch n.DataAtom {
	case atom.A, atom.Area:
		href, ok := attr(n, "href")
		if !ok || opensElsewhere(n) {
			return
		}
		if _, download := attr(n, "download"); download {
			return
		}
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(href)), "javascript:") {
			return
		}
		w.tab.navigate(urltracker.RedirectJavaScript, href)
	case atom.Input, atom.Button:
		typ, _ := attr(n, "type")
		typ = strings.ToLower(typ)
		if typ == "submit" || typ == "image" || (n.DataAtom == atom.Button && typ == "") {
			if f := formOf(n); f != nil {
				w.submit(f, n)
			}
		}
	}
}

func opensElsewhere(n *html.Node) bool {
	target, _ := attr(n, "target")
	switch strings.ToLower(target) {
	case "", "_self", "_top", "_parent":
		return false
	}
	return true
}

// formOf is the form an element belongs to.
func formOf(n *html.Node) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.DataAtom == atom.Form {
			return p
		}
	}
	return nil
}

func formControls(form *html.Node) []*html.Node {
	var out []*html.Node
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type != html.ElementNode {
				continue
			}
			switch c.DataAtom {
			case atom.Input, atom.Select, atom.Textarea, atom.Button:
				out = append(out, c)
			}
			visit(c)
		}
	}
	visit(form)
	return out
}

// submit is form.submit(): the form's data set goes to its action, in the
// query for GET and urlencoded in the body for POST, encoded in the page's
// charset.
func (w *jsWorld) submit(form *html.Node, submitter *html.Node) {
	if form == nil || form.DataAtom != atom.Form || opensElsewhere(form) {
		return
	}
	b := w.tab
	action, _ := attr(form, "action")
	target, err := b.resolve(action)
	if action == "" {
		target, err = b.docURL, nil
	}
	if err != nil || target.Scheme != "http" && target.Scheme != "https" {
		return
	}
	var pairs [][2]string
	for _, c := range formControls(form) {
		name, _ := attr(c, "name")
		if _, disabled := attr(c, "disabled"); disabled || name == "" {
			continue
		}
		typ, _ := attr(c, "type")
		typ = strings.ToLower(typ)
		value, _ := attr(c, "value")
		switch {
		case c.DataAtom == atom.Textarea:
			value = textContent(c)
		case c.DataAtom == atom.Select:
			value = selectedOption(c)
		case c.DataAtom == atom.Button || typ == "submit" || typ == "image" || typ == "reset" || typ == "button":
			if c != submitter || typ == "reset" || typ == "button" {
				continue
			}
		case typ == "checkbox" || typ == "radio":
			if _, checked := attr(c, "checked"); !checked {
				continue
			}
			if _, ok := attr(c, "value"); !ok {
				value = "on"
			}
		case typ == "file":
			continue
		}
		pairs = append(pairs, [2]string{name, value})
	}
	data := encodeForm(pairs, b.env.enc)
	method, _ := attr(form, "method")
	t := *target
	t.Fragment, t.RawFragment = "", ""
	if strings.EqualFold(method, "post") {
		b.navigateTo(navigation{how: urltracker.RedirectForm, target: &t, method: http.MethodPost, body: data})
		return
	}
	t.RawQuery = data
	t.ForceQuery = data == ""
	b.navigateTo(navigation{how: urltracker.RedirectForm, target: &t, method: http.MethodGet})
}

func selectedOption(sel *html.Node) string {
	var first, chosen *html.Node
	var visit func(*html.Node)
	visit = func(n *html.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.ElementNode && c.DataAtom == atom.Option {
				if first == nil {
					first = c
				}
				if _, ok := attr(c, "selected"); ok && chosen == nil {
					chosen = c
				}
			}
			visit(c)
		}
	}
	visit(sel)
	if chosen == nil {
		chosen = first
	}
	if chosen == nil {
		return ""
	}
	if v, ok := attr(chosen, "value"); ok {
		return v
	}
	return strings.TrimSpace(textContent(chosen))
}

// encodeForm is application/x-www-form-urlencoded in the page's charset.
func encodeForm(pairs [][2]string, enc encoding.Encoding) string {
	var s strings.Builder
	for i, p := range pairs {
		if i > 0 {
			s.WriteByte('&')
		}
		s.WriteString(formEscape(p[0], enc))
		s.WriteByte('=')
		s.WriteString(formEscape(p[1], enc))
	}
	return s.String()
}

func formEscape(v string, enc encoding.Encoding) string {
	return url.QueryEscape(encodeText(v, enc))
}
