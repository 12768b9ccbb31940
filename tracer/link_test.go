package tracer

import (
	"net/url"
	"testing"
)

const testBase = "http://example.com/a/b?x=1"

var resolveTests = []struct {
	ref  string
	want string // "" for an error
}{
	{"c", "http://example.com/a/c"},
	{"../c", "http://example.com/c"},
	{"./", "http://example.com/a/"},
	{"/c?d=1#frag", "http://example.com/c?d=1"},
	{"?q=1", "http://example.com/a/b?q=1"},
	{"#only", "http://example.com/a/b?x=1"},
	{"", "http://example.com/a/b?x=1"},
	{"//other.test/x", "http://other.test/x"},
	{"https://Other.TEST:8443/X", "https://other.test:8443/X"},
	{"HTTP://EXAMPLE.com", "http://example.com"},
	{"  /c \t", "http://example.com/c"},
	{"/c\n/d", "http://example.com/c/d"},
	{`\\evil.test\x`, "http://evil.test/x"},
	{`/c?q=a\b`, `http://example.com/c?q=a\b`},
	{"/ü?q=ä", "http://example.com/%C3%BC?q=%C3%A4"},
	{"/a b", "http://example.com/a%20b"},
	{"http://[::1]:8080/", "http://[::1]:8080/"},
	{"javascript:alert(1)", ""},
	{"mailto:someone@example.com", ""},
	{"ftp://example.com/", ""},
	{"data:text/html,hi", ""},
	{"http://", ""},
	{"http:///x", ""},
	{"http://:80/", ""},
	{"http://[::1/", ""},
	{"http:opaque", "http://example.com/a/opaque"},
	{"http://a b/", ""},
}

func TestResolveURL(t *testing.T) {
	base, err := resolveURL(nil, testBase)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range resolveTests {
		u, err := resolveURL(base, tt.ref)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("resolveURL(%q) = %s, want an error", tt.ref, u)
		case tt.want != "" && err != nil:
			t.Errorf("resolveURL(%q): %v, want %s", tt.ref, err, tt.want)
		case tt.want != "" && u.String() != tt.want:
			t.Errorf("resolveURL(%q) = %s, want %s", tt.ref, u, tt.want)
		}
	}
	if _, err := resolveURL(nil, "/relative"); err == nil {
		t.Error("a relative URL without a base resolved")
	}
}

func TestSameHost(t *testing.T) {
	for _, tt := range []struct {
		host, expected string
		same           bool
	}{
		{"shop.test", "shop.test", true},
		{"www.shop.test", "shop.test", true},
		{"shop.test:8080", "WWW.SHOP.TEST", true},
		{"shop.test.", "https://www.shop.test/path", true},
		{"[::1]:80", "::1", true},
		{"wwwshop.test", "shop.test", false},
		{"shop.test", "myshop.test", false},
		{"a.shop.test", "shop.test", false},
	} {
		if got := sameHost(tt.host, tt.expected); got != tt.same {
			t.Errorf("sameHost(%q, %q) = %v", tt.host, tt.expected, got)
		}
	}
}

func FuzzResolveURL(f *testing.F) {
	for _, tt := range resolveTests {
		f.Add(testBase, tt.ref)
	}
	f.Add("https://a.test:8443/x/y/z?q", "../../p?q=1#f")
	f.Add("http://[fe80::1%25eth0]/", "x")
	f.Fuzz(func(t *testing.T, rawBase, ref string) {
		base, err := resolveURL(nil, rawBase)
		if err != nil {
			return
		}
		u, err := resolveURL(base, ref)
		if err != nil {
			return
		}
		s := u.String()
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" || u.Fragment != "" || u.Opaque != "" {
			t.Fatalf("resolveURL(%q, %q) = %q: not an absolute http(s) URL without fragment", rawBase, ref, s)
		}
		// Loop detection compares these strings: one URL must always be
		// written the same way.
		if p, err := url.Parse(s); err != nil || p.String() != s {
			t.Fatalf("resolveURL(%q, %q) = %q does not parse back to itself (%v)", rawBase, ref, s, err)
		}
		for _, b := range []*url.URL{nil, base} {
			again, err := resolveURL(b, s)
			if err != nil || again.String() != s {
				t.Fatalf("resolving %q again gives %v (%v)", s, again, err)
			}
		}
	})
}
