package judge

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// facts are what the judge reads off a landing page.
type facts struct {
	title string
	h1    []string
	// prominent are the texts a visitor sees first: h2 and h3 headings,
	// and short blocks near the top of the body.
	prominent []block
	// text is the page's visible text, normalized.
	text  string
	words int
	// media is true when the body has an image, video, frame or form: a
	// page with little text but one of these is not empty.
	media   bool
	noindex string // the tag that says noindex, if any
}

// block is one block of visible text and the element that holds it.
type block struct {
	tag  string
	text string
}

// Limits of what counts as prominent: short blocks that start within the
// first prominentBefore characters of the body's text, read at a glance. A
// long page that mentions "not found" after a few paragraphs does not say
// so prominently.
const (
	prominentBefore = 500
	prominentRunes  = 140
	maxHeadings     = 5
)

// blockTags end one block of text and start another.
var blockTags = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true,
	atom.H6: true, atom.Li: true, atom.Td: true, atom.Th: true, atom.Section: true, atom.Article: true,
	atom.Header: true, atom.Footer: true, atom.Main: true, atom.Nav: true, atom.Br: true, atom.Body: true,
	atom.Button: true, atom.Form: true, atom.Table: true, atom.Ul: true, atom.Ol: true, atom.Center: true,
}

// hidden holds text no visitor reads.
var hidden = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true, atom.Svg: true,
}

// readFacts reads a page's body (UTF-8).
func readFacts(body []byte) facts {
	var f facts
	var all, cur strings.Builder
	curTag := "body"
	before := 0 // runes of text before the current block
	flush := func() {
		text := strings.Join(strings.Fields(cur.String()), " ")
		cur.Reset()
		if text == "" {
			return
		}
		all.WriteString(text)
		all.WriteByte(' ')
		switch {
		case curTag == "h1":
			if len(f.h1) < maxHeadings {
				f.h1 = append(f.h1, text)
			}
		case before < prominentBefore && (curTag == "h2" || curTag == "h3" || utf8.RuneCountInString(text) <= prominentRunes):
			f.prominent = append(f.prominent, block{curTag, text})
		}
		before += utf8.RuneCountInString(text)
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	skip := 0 // depth inside hidden elements
	inTitle, titleDone := false, false
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			flush()
			f.text = normalize(all.String())
			f.words = len(strings.Fields(f.text))
			return f
		case html.TextToken:
			switch {
			case inTitle:
				f.title += string(z.Text())
			case skip == 0:
				cur.Write(z.Text())
				cur.WriteByte(' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			a := atom.Lookup(name)
			switch {
			case hidden[a]:
				if tt == html.StartTagToken {
					skip++
				}
			case a == atom.Title && !titleDone && skip == 0:
				inTitle = tt == html.StartTagToken
			case a == atom.Img || a == atom.Video || a == atom.Iframe || a == atom.Form || a == atom.Picture ||
				a == atom.Canvas || a == atom.Object || a == atom.Embed:
				f.media = true
			case a == atom.Meta && hasAttr:
				attrs := attrMap(z)
				robot := strings.ToLower(attrs["name"])
				if (robot == "robots" || robot == "googlebot") && strings.Contains(strings.ToLower(attrs["content"]), "noindex") {
					f.noindex = `<meta name="` + attrs["name"] + `" content="` + attrs["content"] + `">`
				}
			}
			if blockTags[a] && skip == 0 {
				flush()
				curTag = a.String()
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			switch {
			case hidden[a]:
				if skip > 0 {
					skip--
				}
			case a == atom.Title && inTitle:
				inTitle, titleDone = false, true
				f.title = strings.Join(strings.Fields(f.title), " ")
			}
			if blockTags[a] && skip == 0 {
				flush()
				curTag = "div"
			}
		}
	}
}

// attrMap returns the current tag's attributes, the first of a name
// winning.
func attrMap(z *html.Tokenizer) map[string]string {
	attrs := map[string]string{}
	for {
		k, v, more := z.TagAttr()
		if _, dup := attrs[string(k)]; !dup {
			attrs[string(k)] = string(v)
		}
		if !more {
			return attrs
		}
	}
}
