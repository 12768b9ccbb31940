package tracer

import (
	"bytes"
	"mime"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"

	"github.com/urltracker/urltracker"
)

// navigation is a page sending the browser on by itself.
type navigation struct {
	how    urltracker.RedirectType // RedirectMeta or RedirectJavaScript
	target string                  // as written in the page, not resolved
}

// isHTML reports whether a response with this Content-Type can hold a meta
// refresh or a script. A missing type is sniffed as HTML by browsers often
// enough to look.
func isHTML(contentType string) bool {
	if contentType == "" {
		return true
	}
	media, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return strings.Contains(strings.ToLower(contentType), "html")
	}
	return strings.Contains(media, "html")
}

// toUTF8 decodes body from the encoding its Content-Type or its own <meta
// charset> declares, so that URLs with non-ASCII characters in, say, an
// ISO-8859-1 page are requested as a browser would.
func toUTF8(body []byte, contentType string) []byte {
	enc, name, _ := charset.DetermineEncoding(body, contentType)
	if name == "utf-8" {
		return body
	}
	// Every other encoding a page may declare reads ASCII as ASCII, apart
	// from UTF-16; skip the copy when there is nothing to decode.
	if !strings.HasPrefix(name, "utf-16") && !hasHighBit(body) {
		return body
	}
	decoded, err := enc.NewDecoder().Bytes(body)
	if err != nil {
		return body
	}
	return decoded
}

func hasHighBit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

// jsTypes are the <script type> values browsers run as JavaScript.
var jsTypes = map[string]bool{
	"": true, "text/javascript": true, "application/javascript": true, "module": true,
	"text/ecmascript": true, "application/ecmascript": true, "application/x-javascript": true,
	"text/jscript": true, "text/livescript": true,
}

// pageNavigation finds where an HTML page sends the browser without a click:
// a meta refresh due within maxDelay or a literal location change in an
// inline script, whichever a browser would act on first. baseHref is the
// page's <base href>, against which the target resolves.
//
// A browser runs inline scripts as it parses, so a script navigation wins
// over a meta refresh that is due later, but not over an immediate one
// earlier in the document. Only the first meta refresh counts, as in
// browsers, and one due after maxDelay leaves the visitor on the page.
// Content of <noscript> is not markup to the tokenizer, as to a browser
// with scripts on.
func pageNavigation(body []byte, maxDelay time.Duration) (nav navigation, baseHref string, found bool) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var delayed *navigation
	refreshSeen, inScript := false, false
	for {
		tt := z.Next()
		wasScript := inScript
		inScript = false
		switch tt {
		case html.ErrorToken:
			if delayed != nil {
				return *delayed, baseHref, true
			}
			return navigation{}, baseHref, false
		case html.TextToken:
			if wasScript {
				if target, ok := scanScript(string(z.Text())); ok {
					return navigation{how: urltracker.RedirectJavaScript, target: target}, baseHref, true
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "meta":
				if refreshSeen || !hasAttr {
					continue
				}
				attrs := readAttrs(z)
				if !strings.EqualFold(strings.TrimSpace(attrs["http-equiv"]), "refresh") {
					continue
				}
				delay, target, ok := parseRefresh(attrs["content"])
				if !ok {
					continue
				}
				refreshSeen = true
				if target == "" || delay > maxDelay {
					continue
				}
				meta := navigation{how: urltracker.RedirectMeta, target: target}
				if delay == 0 {
					return meta, baseHref, true
				}
				delayed = &meta
			case "base":
				if baseHref == "" && hasAttr {
					baseHref = readAttrs(z)["href"]
				}
			case "script":
				if tt == html.SelfClosingTagToken {
					continue
				}
				attrs := map[string]string{}
				if hasAttr {
					attrs = readAttrs(z)
				}
				_, external := attrs["src"]
				inScript = !external && jsTypes[strings.ToLower(strings.TrimSpace(attrs["type"]))]
			}
		}
	}
}

// readAttrs returns the attributes of the current tag; the first of a
// repeated name wins, as in browsers.
func readAttrs(z *html.Tokenizer) map[string]string {
	attrs := map[string]string{}
	for {
		key, val, more := z.TagAttr()
		if _, dup := attrs[string(key)]; !dup {
			attrs[string(key)] = string(val)
		}
		if !more {
			return attrs
		}
	}
}
