package tracer

import (
	"html"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file finds navigations in inline scripts such as
//
//	window.location.href = "https://example.com/next";
//	setTimeout(function () { location.replace('/next') }, 500);
//
// It is a small lexer, not a JavaScript engine: it understands comments,
// string and template literals and regular expressions well enough never to
// mistake their contents for code, and it recognises an assignment of a
// literal string to location (or location.href), or a call of
// location.replace or location.assign with one, on window, document, top,
// self or parent. Anything computed ("/next?id=" + id) is not followed,
// because the tracer cannot know what it evaluates to.

type jsKind uint8

const (
	jsNone   jsKind = iota // before the start of the script
	jsEOF                  // after its end
	jsIdent                // identifiers and keywords
	jsNumber               // numeric literals
	jsString               // '…', "…" and `…` without substitutions
	jsPunct                // operators and punctuation
	jsOther                // regular expressions, templates with ${}, broken literals
)

type jsToken struct {
	kind jsKind
	text string // the token as written, quotes included
	nl   bool   // a line terminator comes before it
}

// locationOwners are the objects whose location property is the page's.
var locationOwners = map[string]bool{
	"window": true, "document": true, "top": true, "self": true, "parent": true,
}

// regexKeywords are the keywords after which a '/' starts a regular
// expression rather than a division.
var regexKeywords = map[string]bool{
	"return": true, "typeof": true, "instanceof": true, "in": true, "of": true,
	"new": true, "delete": true, "void": true, "throw": true, "case": true,
	"do": true, "else": true, "yield": true, "await": true,
}

// declarators make "location" a new variable rather than the page's.
var declarators = map[string]bool{
	"var": true, "let": true, "const": true, "function": true, "class": true,
}

// historySize is how many tokens the scanner remembers; the longest pattern
// is 6 tokens plus a chain of owners like window.top.
const historySize = 16

// maxNesting bounds the brackets the scanner keeps track of; deeper ones are
// counted but not described, so a hostile page costs no memory.
const maxNesting = 256

// scanScript returns the first literal URL src navigates to without the
// visitor doing anything, as written (escapes decoded, not resolved), and
// whether there is one.
func scanScript(src string) (target string, ok bool) {
	s := scriptScanner{lx: jsLexer{src: src}, called: map[string]bool{}}
	return s.scan()
}

// Landing pages often navigate in code that runs only on a click ("Buy
// now"); following it would report the wrong landing. So the scanner keeps
// track of the functions it is in and, as a browser left alone would,
// follows a navigation only when it runs on its own: at the top level, in a
// timer, a load handler or an immediately invoked function, or in a named
// function that such code calls. One in a click, submit, key... handler, or
// in a function never called, is not followed.

// autoEvents are the events that fire without the visitor doing anything.
var autoEvents = map[string]bool{
	"load": true, "domcontentloaded": true, "readystatechange": true, "pageshow": true, "ready": true,
}

// eventBinders are the calls whose first argument names the event their
// function handles: addEventListener("click", f), jQuery's .on("click", f).
var eventBinders = map[string]bool{
	"addEventListener": true, "attachEvent": true, "on": true, "one": true, "bind": true,
}

// eventShorthands are jQuery methods that bind a handler for a visitor's
// action: $("#buy").click(function () {...}).
var eventShorthands = map[string]bool{
	"click": true, "dblclick": true, "submit": true, "mousedown": true, "mouseup": true,
	"mouseover": true, "mouseout": true, "mouseenter": true, "mouseleave": true, "hover": true,
	"keydown": true, "keyup": true, "keypress": true, "change": true, "focus": true, "blur": true,
	"touchstart": true, "touchend": true, "contextmenu": true, "input": true, "scroll": true,
}

// isUserEvent reports whether an event name (with or without its "on"
// prefix, as attachEvent and handler properties write it) waits for the
// visitor.
func isUserEvent(name string) bool {
	name = strings.ToLower(name)
	return !autoEvents[name] && !autoEvents[strings.TrimPrefix(name, "on")]
}

// frame is an open bracket.
type frame struct {
	open        byte    // '(', '[' or '{'
	callee      string  // '(': the function called, as in addEventListener(
	assigned    jsFunc  // '(': NAME in "NAME = (", for an arrow function's name
	params      *jsFunc // '(': the function whose parameters this holds
	fn          *jsFunc // '{': the function whose body this is
	started     bool    // '(': a token came after the bracket
	interactive bool    // code in this bracket runs only on a visitor's action
}

// jsFunc is a function being declared; name is "" for an anonymous one.
// property is true for one assigned to a property, like btn.onclick.
type jsFunc struct {
	name     string
	property bool
}

// assignedTo returns the function assigned to the identifier at back(i),
// as in "obj.NAME =" or "NAME =".
func (s *scriptScanner) assignedTo(i int) jsFunc {
	return jsFunc{name: s.back(i).text, property: isPunct(s.back(i+1), ".")}
}

type deferredNavigation struct{ function, target string }

type scriptScanner struct {
	lx   jsLexer
	hist [historySize]jsToken
	n    int

	stack    []frame
	overflow int     // brackets opened past maxNesting
	closed   frame   // the frame the last ')' closed
	function *jsFunc // a "function" keyword waiting for its parameters
	deferred []deferredNavigation
	called   map[string]bool // functions called where no visitor is needed
}

// back returns the i-th token before the newest one, which is back(0).
func (s *scriptScanner) back(i int) jsToken {
	if i >= s.n || i >= historySize {
		return jsToken{kind: jsNone}
	}
	return s.hist[(s.n-1-i)%historySize]
}

func (s *scriptScanner) scan() (string, bool) {
	for {
		tok := s.lx.next()
		s.hist[s.n%historySize] = tok
		s.n++
		// The token that completes a navigation may also close the
		// function it is in: judge where it runs before the bracket moves.
		if target, ok := matchNavigation(s.back); ok {
			interactive, function := s.context()
			switch {
			case interactive:
			case function != "":
				s.deferred = append(s.deferred, deferredNavigation{function, target})
			default:
				return target, true
			}
		}
		if tok.kind == jsEOF {
			break
		}
		s.track(tok)
	}
	for _, d := range s.deferred {
		if s.called[d.function] {
			return d.target, true
		}
	}
	return "", false
}

// context tells whether code here waits for a visitor, and else the
// innermost named function it is in, if any.
func (s *scriptScanner) context() (interactive bool, function string) {
	for i := len(s.stack) - 1; i >= 0; i-- {
		f := s.stack[i]
		if f.interactive {
			return true, ""
		}
		if function == "" && f.fn != nil {
			function = f.fn.name
		}
	}
	return false, function
}

// track follows brackets, functions and calls.
func (s *scriptScanner) track(tok jsToken) {
	s.noteCalls(tok)
	if top := s.top(); top != nil && top.open == '(' && !top.started {
		top.started = true
		if eventBinders[top.callee] && tok.kind == jsString {
			if event, ok := jsStringValue(tok.text); ok {
				top.interactive = isUserEvent(event)
			}
		}
	}
	if s.function != nil {
		switch {
		case isIdent(tok, "function") || isPunct(tok, "*"):
		case tok.kind == jsIdent && s.function.name == "":
			s.function.name = tok.text
		case isPunct(tok, "("):
		default:
			s.function = nil
		}
	}
	switch {
	case isIdent(tok, "function"):
		// "NAME = function", "NAME: function": the function goes by NAME.
		f := jsFunc{}
		if (isPunct(s.back(1), "=") || isPunct(s.back(1), ":")) && s.back(2).kind == jsIdent {
			f = s.assignedTo(2)
		}
		s.function = &f
	case isPunct(tok, "("):
		f := frame{open: '('}
		if prev := s.back(1); prev.kind == jsIdent {
			f.callee = prev.text
			f.interactive = eventShorthands[prev.text] && isPunct(s.back(2), ".")
		}
		if isPunct(s.back(1), "=") && s.back(2).kind == jsIdent {
			f.assigned = s.assignedTo(2)
		}
		f.params, s.function = s.function, nil
		s.push(f)
	case isPunct(tok, "["):
		s.push(frame{open: '['})
	case isPunct(tok, "{"):
		f := frame{open: '{', fn: s.functionBody()}
		if f.fn != nil && f.fn.property && strings.HasPrefix(f.fn.name, "on") {
			// A handler: btn.onclick = function () {...} waits for the
			// visitor, window.onload = function () {...} does not.
			if isUserEvent(f.fn.name) {
				f.interactive, f.fn = true, nil
			} else {
				f.fn = &jsFunc{}
			}
		}
		s.push(f)
	case isPunct(tok, ")"), isPunct(tok, "]"), isPunct(tok, "}"):
		s.pop(isPunct(tok, ")"))
	}
}

// functionBody says which function a '{' just read opens the body of, if any.
func (s *scriptScanner) functionBody() *jsFunc {
	switch {
	case isPunct(s.back(1), ")") && s.closed.params != nil:
		return s.closed.params
	case isPunct(s.back(1), "=>") && isPunct(s.back(2), ")"):
		f := s.closed.assigned
		return &f
	case isPunct(s.back(1), "=>") && s.back(2).kind == jsIdent:
		// NAME = x => {...}
		if isPunct(s.back(3), "=") && s.back(4).kind == jsIdent {
			f := s.assignedTo(4)
			return &f
		}
		return &jsFunc{}
	}
	return nil
}

// noteCalls records the functions that run without a visitor: called as
// NAME(…), passed as in setTimeout(NAME, 100), or set as a load handler.
func (s *scriptScanner) noteCalls(tok jsToken) {
	if interactive, _ := s.context(); interactive {
		return
	}
	name := s.back(1)
	switch {
	case isPunct(tok, "(") && name.kind == jsIdent && !isIdent(s.back(2), "function"):
		s.called[name.text] = true
	case (isPunct(tok, ",") || isPunct(tok, ")")) && name.kind == jsIdent &&
		(isPunct(s.back(2), "(") || isPunct(s.back(2), ",")) && s.top() != nil && s.top().open == '(':
		s.called[name.text] = true
	case name.kind == jsIdent && isPunct(s.back(2), "=") && s.back(3).kind == jsIdent &&
		strings.HasPrefix(s.back(3).text, "on") && !isUserEvent(s.back(3).text):
		s.called[name.text] = true // window.onload = NAME
	}
}

func (s *scriptScanner) top() *frame {
	if len(s.stack) == 0 || s.overflow > 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

func (s *scriptScanner) push(f frame) {
	if len(s.stack) >= maxNesting {
		s.overflow++
		return
	}
	s.stack = append(s.stack, f)
}

// pop closes the innermost bracket; a script with unbalanced brackets is
// read as well as it goes.
func (s *scriptScanner) pop(paren bool) {
	switch {
	case s.overflow > 0:
		s.overflow--
		s.closed = frame{}
	case len(s.stack) > 0:
		s.closed = s.stack[len(s.stack)-1]
		s.stack = s.stack[:len(s.stack)-1]
	default:
		s.closed = frame{}
	}
	if !paren {
		s.closed = frame{}
	}
}

// matchNavigation reports whether the newest tokens complete one of
//
//	location = "…" ⟂          location.href = "…" ⟂
//	location.replace("…")     location.assign("…")
//
// where ⟂ is anything that ends the expression, and location is either bare
// or owned by window, document, top, self or parent.
func matchNavigation(back func(int) jsToken) (string, bool) {
	end, lit := back(0), back(1)
	if lit.kind != jsString {
		return "", false
	}
	var ref int // position of "location"
	switch {
	case isPunct(back(2), "=") && ends(end) && isIdent(back(3), "location"):
		ref = 3
	case isPunct(back(2), "=") && ends(end) && isIdent(back(3), "href") && isPunct(back(4), ".") && isIdent(back(5), "location"):
		ref = 5
	case isPunct(back(2), "(") && (isPunct(end, ")") || isPunct(end, ",")) &&
		(isIdent(back(3), "replace") || isIdent(back(3), "assign")) && isPunct(back(4), ".") && isIdent(back(5), "location"):
		ref = 5
	default:
		return "", false
	}
	i := ref + 1
	for isPunct(back(i), ".") && back(i+1).kind == jsIdent && locationOwners[back(i+1).text] {
		i += 2
	}
	before := back(i)
	if isPunct(before, ".") || isPunct(before, "?.") || (before.kind == jsIdent && declarators[before.text]) {
		return "", false
	}
	value, ok := jsStringValue(lit.text)
	if !ok {
		return "", false
	}
	if strings.Contains(value, "&") {
		// Pages generated by HTML templates often carry entity-escaped URLs
		// in scripts (&amp; between parameters); the link meant is the
		// decoded one.
		value = html.UnescapeString(value)
	}
	return value, true
}

// ends reports whether tok ends the expression before it, so that the string
// before tok is the whole value assigned.
func ends(tok jsToken) bool {
	switch tok.kind {
	case jsEOF:
		return true
	case jsPunct:
		switch tok.text {
		case ";", "}", ")", ",", ":", "]":
			return true
		}
		return false
	case jsIdent, jsNumber, jsString:
		// Automatic semicolon insertion ends the statement at a line break.
		return tok.nl
	}
	return false
}

func isPunct(tok jsToken, text string) bool { return tok.kind == jsPunct && tok.text == text }
func isIdent(tok jsToken, text string) bool { return tok.kind == jsIdent && tok.text == text }

type jsLexer struct {
	src  string
	pos  int
	prev jsToken // the last token, to tell a regular expression from a division
}

func (lx *jsLexer) next() jsToken {
	tok := lx.lex()
	lx.prev = tok
	return tok
}

func (lx *jsLexer) lex() jsToken {
	nl := lx.skipSpaceAndComments()
	src, start := lx.src, lx.pos
	if start >= len(src) {
		return jsToken{kind: jsEOF, nl: nl}
	}
	c := src[start]
	var kind jsKind
	switch {
	case c == '\'' || c == '"':
		kind = lx.quoted(c)
	case c == '`':
		kind = lx.template()
	case c == '/' && lx.regexAllowed():
		lx.regex()
		kind = jsOther
	case isDigit(c):
		lx.pos++
		for lx.pos < len(src) && (isIdentByte(src[lx.pos]) || src[lx.pos] == '.') {
			lx.pos++
		}
		kind = jsNumber
	case isIdentByte(c) || c >= utf8.RuneSelf:
		lx.ident()
		kind = jsIdent
	case c == '?' && strings.HasPrefix(src[start:], "?.") && !(start+2 < len(src) && isDigit(src[start+2])):
		lx.pos += 2
		kind = jsPunct
	case strings.IndexByte("=!<>+-*%&|^?:~/", c) >= 0:
		// Operators are read as one run of operator characters: only the
		// exact "=" matters here, and a run never hides a literal.
		lx.pos++
		for lx.pos < len(src) && strings.IndexByte("=!<>+-*%&|^?:~", src[lx.pos]) >= 0 {
			lx.pos++
		}
		kind = jsPunct
	default:
		lx.pos++
		kind = jsPunct
	}
	return jsToken{kind: kind, text: src[start:lx.pos], nl: nl}
}

// skipSpaceAndComments moves past white space and comments and reports
// whether they held a line terminator.
func (lx *jsLexer) skipSpaceAndComments() (nl bool) {
	src := lx.src
	lineStart := lx.pos == 0
	for lx.pos < len(src) {
		c := src[lx.pos]
		switch {
		case c == '\n' || c == '\r':
			nl, lineStart = true, true
			lx.pos++
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
			lx.pos++
		case strings.HasPrefix(src[lx.pos:], "//") || strings.HasPrefix(src[lx.pos:], "<!--") ||
			lineStart && strings.HasPrefix(src[lx.pos:], "-->"):
			// "<!--", and "-->" first on a line, open line comments too: old
			// pages hide their scripts from ancient browsers with them.
			lx.skipLine()
		case strings.HasPrefix(src[lx.pos:], "/*"):
			end := strings.Index(src[lx.pos+2:], "*/")
			if end < 0 {
				end = len(src) - lx.pos - 2
			}
			if strings.ContainsAny(src[lx.pos:lx.pos+2+end], "\n\r\u2028\u2029") {
				nl, lineStart = true, true
			}
			lx.pos = min(lx.pos+2+end+2, len(src))
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(src[lx.pos:])
			if r == '\u2028' || r == '\u2029' {
				nl, lineStart = true, true
			} else if !unicode.IsSpace(r) && r != '\ufeff' {
				return nl
			}
			lx.pos += size
		default:
			return nl
		}
	}
	return nl
}

// skipLine moves to the next line terminator, leaving it to be read.
func (lx *jsLexer) skipLine() {
	for lx.pos < len(lx.src) {
		if isLineTerminator(lx.src[lx.pos:]) {
			return
		}
		lx.pos++
	}
}

// isLineTerminator reports whether s starts with a JavaScript line
// terminator: \n, \r, U+2028 or U+2029.
func isLineTerminator(s string) bool {
	return s[0] == '\n' || s[0] == '\r' || strings.HasPrefix(s, "\u2028") || strings.HasPrefix(s, "\u2029")
}

func (lx *jsLexer) regexAllowed() bool {
	switch lx.prev.kind {
	case jsNone:
		return true
	case jsIdent:
		return regexKeywords[lx.prev.text]
	case jsPunct:
		return lx.prev.text != ")" && lx.prev.text != "]" && lx.prev.text != "}"
	}
	return false
}

// quoted reads a '…' or "…" literal. A literal broken by a line terminator
// or the end of the script is jsOther and ends before the terminator.
func (lx *jsLexer) quoted(quote byte) jsKind {
	src := lx.src
	lx.pos++
	for lx.pos < len(src) {
		c := src[lx.pos]
		switch {
		case c == quote:
			lx.pos++
			return jsString
		case c == '\\':
			lx.pos += 2
			// An escaped \r\n is one line continuation.
			if lx.pos < len(src) && src[lx.pos-1] == '\r' && src[lx.pos] == '\n' {
				lx.pos++
			}
		case isLineTerminator(src[lx.pos:]):
			return jsOther
		default:
			lx.pos++
		}
	}
	lx.pos = len(src)
	return jsOther
}

// template reads a `…` literal, skipping any ${…} substitutions in it as
// code; one with substitutions is not a literal value.
func (lx *jsLexer) template() jsKind {
	src := lx.src
	kind := jsString
	lx.pos++
	for lx.pos < len(src) {
		switch {
		case src[lx.pos] == '`':
			lx.pos++
			return kind
		case src[lx.pos] == '\\':
			lx.pos += 2
		case strings.HasPrefix(src[lx.pos:], "${"):
			kind = jsOther
			lx.pos += 2
			lx.skipSubstitution()
		default:
			lx.pos++
		}
	}
	lx.pos = len(src)
	return jsOther
}

// skipSubstitution moves past the code of a ${…} up to its closing brace.
func (lx *jsLexer) skipSubstitution() {
	lx.prev = jsToken{kind: jsNone} // code starts afresh after "${"
	depth := 0
	for {
		tok := lx.next()
		switch {
		case tok.kind == jsEOF:
			return
		case isPunct(tok, "{"):
			depth++
		case isPunct(tok, "}"):
			if depth == 0 {
				return
			}
			depth--
		}
	}
}

// regex moves past a regular expression literal and its flags.
func (lx *jsLexer) regex() {
	src := lx.src
	lx.pos++
	inClass := false
	for lx.pos < len(src) && !isLineTerminator(src[lx.pos:]) {
		c := src[lx.pos]
		lx.pos++
		switch {
		case c == '\\':
			if lx.pos < len(src) && !isLineTerminator(src[lx.pos:]) {
				lx.pos++
			}
		case c == '[':
			inClass = true
		case c == ']':
			inClass = false
		case c == '/' && !inClass:
			for lx.pos < len(src) && isIdentByte(src[lx.pos]) {
				lx.pos++
			}
			return
		}
	}
}

func (lx *jsLexer) ident() {
	src := lx.src
	for lx.pos < len(src) {
		c := src[lx.pos]
		if isIdentByte(c) {
			lx.pos++
			continue
		}
		if c < utf8.RuneSelf {
			return
		}
		r, size := utf8.DecodeRuneInString(src[lx.pos:])
		if unicode.IsSpace(r) || r == '\ufeff' || r == '\u2028' || r == '\u2029' {
			return
		}
		lx.pos += size
	}
}

func isIdentByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '$'
}

// jsStringValue decodes a string literal as written, quotes included. ok is
// false for an escape JavaScript would reject.
func jsStringValue(lit string) (string, bool) {
	body := lit[1 : len(lit)-1]
	if !strings.Contains(body, `\`) {
		return body, true
	}
	var b strings.Builder
	b.Grow(len(body))
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			b.WriteByte(c)
			i++
			continue
		}
		i++
		if i >= len(body) {
			return "", false
		}
		c = body[i]
		i++
		switch c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			if i < len(body) && body[i] == '\n' {
				i++ // line continuation
			} else {
				b.WriteByte('\r')
			}
		case '\r':
			if i < len(body) && body[i] == '\n' {
				i++
			}
		case '\n':
			// line continuation: nothing
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			if i+2 > len(body) {
				return "", false
			}
			v, err := strconv.ParseUint(body[i:i+2], 16, 8)
			if err != nil {
				return "", false
			}
			b.WriteRune(rune(v))
			i += 2
		case 'u':
			r, size, ok := unicodeEscape(body[i:])
			if !ok {
				return "", false
			}
			i += size
			if 0xd800 <= r && r < 0xdc00 && strings.HasPrefix(body[i:], `\u`) {
				if low, lowSize, ok := unicodeEscape(body[i+2:]); ok && 0xdc00 <= low && low < 0xe000 {
					r = 0x10000 + (r-0xd800)<<10 + (low - 0xdc00)
					i += 2 + lowSize
				}
			}
			b.WriteRune(r)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			// Legacy octal escapes, as sloppy-mode scripts allow.
			v := rune(c - '0')
			for k := 0; k < 2 && i < len(body) && '0' <= body[i] && body[i] <= '7' && v*8+rune(body[i]-'0') <= 0377; k++ {
				v = v*8 + rune(body[i]-'0')
				i++
			}
			b.WriteRune(v)
		default:
			if c >= utf8.RuneSelf {
				r, size := utf8.DecodeRuneInString(body[i-1:])
				i += size - 1
				if r == '\u2028' || r == '\u2029' {
					continue // line continuation
				}
				b.WriteRune(r)
				continue
			}
			// \/ \' \" \\ and any other character stand for themselves.
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// unicodeEscape reads the part after \u: XXXX or {X…}.
func unicodeEscape(s string) (r rune, size int, ok bool) {
	if strings.HasPrefix(s, "{") {
		end := strings.IndexByte(s, '}')
		if end < 2 || end > 9 {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(s[1:end], 16, 32)
		if err != nil || v > unicode.MaxRune {
			return 0, 0, false
		}
		return rune(v), end + 1, true
	}
	if len(s) < 4 {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(s[:4], 16, 16)
	if err != nil {
		return 0, 0, false
	}
	return rune(v), 4, true
}
