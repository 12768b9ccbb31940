package dashboard

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestColoursContrast reads the colour variables of app.css and checks that
// every text colour (--X-fg) reaches WCAG AA contrast (4.5:1) on its
// background (--X-bg), and that borders and the focus ring reach 3:1 on
// white, as WCAG AA asks of user interface components.
func TestColoursContrast(t *testing.T) {
	css, err := assetFS.ReadFile("assets/app.css")
	if err != nil {
		t.Fatal(err)
	}
	colours := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1) {
		colours[m[1]] = m[2]
	}
	pairs := 0
	for name, fg := range colours {
		base, ok := strings.CutSuffix(name, "-fg")
		if !ok {
			continue
		}
		bg, ok := colours[base+"-bg"]
		if !ok {
			t.Errorf("--%s has no --%s-bg", name, base)
			continue
		}
		pairs++
		if c := contrast(fg, bg); c < 4.5 {
			t.Errorf("--%s %s on --%s-bg %s: contrast %.2f, want at least 4.5", name, fg, base, bg, c)
		}
	}
	if pairs < 10 {
		t.Errorf("found %d colour pairs in app.css; the variables were renamed?", pairs)
	}
	for _, name := range []string{"border", "focus"} {
		if c := contrast(colours[name], "#ffffff"); c < 3 {
			t.Errorf("--%s %s on white: contrast %.2f, want at least 3", name, colours[name], c)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(hex string) float64 {
	channel := func(s string) float64 {
		v, _ := strconv.ParseUint(s, 16, 8)
		c := float64(v) / 255
		if c <= 0.03928 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*channel(hex[1:3]) + 0.7152*channel(hex[3:5]) + 0.0722*channel(hex[5:7])
}
