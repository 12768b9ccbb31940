package judge

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The phrase lists are data, one file per language, so that a market's
// wording is added by editing text, not code.
//
//go:embed phrases/*.txt parking.txt
var data embed.FS

// Kinds of phrase, as the files' [sections] name them.
const (
	kindNotFound = "not_found"
	kindExpired  = "expired"
	kindForSale  = "for_sale"
)

// phrase is one entry of a phrase file.
type phrase struct {
	kind string
	lang string
	norm string // normalized, as text is matched
}

// phrases holds every language's phrases and the parking providers'
// markers.
type phrases struct {
	list    []phrase
	parking []string
}

// loadPhrases reads the embedded lists. A malformed file is a build's bug,
// reported as an error all the same.
func loadPhrases() (*phrases, error) {
	p := &phrases{}
	files, err := fs.Glob(data, "phrases/*.txt")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		b, err := data.ReadFile(name)
		if err != nil {
			return nil, err
		}
		lang := strings.TrimSuffix(path.Base(name), ".txt")
		kind := ""
		for _, l := range lines(b) {
			n, line := l.n, l.text
			switch {
			case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
				kind = line[1 : len(line)-1]
				if kind != kindNotFound && kind != kindExpired && kind != kindForSale {
					return nil, fmt.Errorf("%s:%d: unknown kind %q", name, n, kind)
				}
			case kind == "":
				return nil, fmt.Errorf("%s:%d: phrase before any [kind]", name, n)
			default:
				p.list = append(p.list, phrase{kind: kind, lang: lang, norm: normalize(line)})
			}
		}
	}
	b, err := data.ReadFile("parking.txt")
	if err != nil {
		return nil, err
	}
	for _, l := range lines(b) {
		p.parking = append(p.parking, strings.ToLower(l.text))
	}
	return p, nil
}

// numbered is a line of a data file and its number.
type numbered struct {
	n    int
	text string
}

// lines returns the non-empty lines of a data file that are not comments.
func lines(b []byte) []numbered {
	var out []numbered
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, numbered{n, line})
		}
	}
	return out
}

// match returns the first phrase found in normalized text, by kind in the
// order expired, not found, for sale: an ended offer's page often says
// "not found" too, and the more precise word wins.
func (p *phrases) match(text string) (phrase, bool) {
	for _, kind := range []string{kindExpired, kindNotFound, kindForSale} {
		for _, ph := range p.list {
			if ph.kind == kind && containsWords(text, ph.norm) {
				return ph, true
			}
		}
	}
	return phrase{}, false
}

// headingShare: in a title or h1, the phrase must make up more than this
// share of the words of its part of the heading (parts split at | - – — :
// ·), so that "Page not found | Shop" says it and "How to fix 404 errors"
// or "404 Creative" do not.
const headingShare = 0.5

// matchHeading is match for a title or h1.
func (p *phrases) matchHeading(heading string) (phrase, bool) {
	parts := strings.FieldsFunc(heading, func(r rune) bool { return strings.ContainsRune("|-–—:·•", r) })
	for _, part := range parts {
		text := normalize(part)
		ph, ok := p.match(text)
		if ok && float64(len(strings.Fields(ph.norm))) > headingShare*float64(len(strings.Fields(text))) {
			return ph, true
		}
	}
	return phrase{}, false
}

// normalize folds text for matching: lower case, accents and other marks
// removed, Turkish dotless i as i, apostrophes as ', punctuation as spaces,
// runs of space as one.
func normalize(s string) string {
	var b strings.Builder
	space := true
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'ı':
			r = 'i'
		case r == '’' || r == '‘' || r == '`':
			r = '\''
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mc, r) || r == '\'' {
			b.WriteRune(unicode.ToLower(r))
			space = false
			continue
		}
		if !space {
			b.WriteByte(' ')
			space = true
		}
	}
	return strings.TrimSpace(b.String())
}

// containsWords reports whether the normalized phrase occurs in the
// normalized text as whole words.
func containsWords(text, phrase string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], phrase)
		if i < 0 {
			return false
		}
		i += from
		end := i + len(phrase)
		if (i == 0 || text[i-1] == ' ') && (end == len(text) || text[end] == ' ') {
			return true
		}
		from = i + 1
	}
}
