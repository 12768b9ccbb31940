package tracer

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
)

// loopback is what every test allows: upstreams are local httptest servers.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func testConfig() Config {
	return Config{AllowCIDRs: loopback, Timeout: 10 * time.Second, HopTimeout: 5 * time.Second}
}

// newTracer returns a Tracer whose idle connections are closed after the test.
func newTracer(t testing.TB, cfg Config) *Tracer {
	t.Helper()
	tr := New(cfg)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// fakeDNS makes the names in hosts resolve to their addresses; any other
// name does not exist.
func fakeDNS(tr *Tracer, hosts map[string]string) {
	tr.guard.lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
		addr, ok := hosts[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		return []netip.Addr{netip.MustParseAddr(addr)}, nil
	}
}

// page is one canned answer. In header values and the body, {{srv}} stands
// for the server's URL and {{srv-escaped}} for it with "/" written "\/".
type page struct {
	status int // default 200
	header map[string]string
	body   string
}

// pageServer serves pages by path.
func pageServer(t testing.TB, pages map[string]page) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		expand := strings.NewReplacer("{{srv}}", srv.URL, "{{srv-escaped}}", strings.ReplaceAll(srv.URL, "/", `\/`)).Replace
		for k, v := range p.header {
			w.Header().Set(k, expand(v))
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
		}
		w.WriteHeader(cmpOr(p.status, http.StatusOK))
		fmt.Fprint(w, expand(p.body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// hops summarises a chain as "path status type" lines, easy to compare.
func hops(c urltracker.Check) []string {
	var out []string
	for _, h := range c.Chain {
		u, err := url.Parse(h.URL)
		path := h.URL
		if err == nil {
			path = u.RequestURI()
		}
		out = append(out, fmt.Sprintf("%s %d %s", path, h.Status, h.RedirectType))
	}
	return out
}

func htmlPage(head, body string) string {
	return "<!DOCTYPE html><html><head><title>t</title>" + head + "</head><body>" + body + "</body></html>"
}

func script(js string) string { return htmlPage("", "<script>"+js+"</script>") }

var final = page{body: htmlPage("", "<h1>Landing</h1>")}

// TestRedirectForms follows every kind of redirect the tracer knows.
func TestRedirectForms(t *testing.T) {
	tests := []struct {
		name  string
		start page // served at /start, leading to /final
		want  urltracker.RedirectType
	}{
		{"301 absolute", page{status: 301, header: map[string]string{"Location": "{{srv}}/final"}}, "http"},
		{"302 relative", page{status: 302, header: map[string]string{"Location": "final"}}, "http"},
		{"303 root relative", page{status: 303, header: map[string]string{"Location": "/final"}}, "http"},
		{"307 dot dot", page{status: 307, header: map[string]string{"Location": "a/../final"}}, "http"},
		{"308 protocol relative", page{status: 308, header: map[string]string{"Location": "//{{host}}/final"}}, "http"},
		{"302 with fragment", page{status: 302, header: map[string]string{"Location": "/final#section"}}, "http"},
		{"Refresh header", page{header: map[string]string{"Refresh": "0; url=/final"}}, "meta"},
		{"meta", page{body: htmlPage(`<meta http-equiv="refresh" content="0; url=/final">`, "")}, "meta"},
		{"meta upper case", page{body: htmlPage(`<META HTTP-EQUIV="REFRESH" CONTENT="0;URL=/final">`, "")}, "meta"},
		{"meta unquoted", page{body: htmlPage(`<meta http-equiv=refresh content=0;url=/final>`, "")}, "meta"},
		{"meta single quoted url", page{body: htmlPage(`<meta http-equiv="refresh" content="1; url='/final'">`, "")}, "meta"},
		{"meta double quoted url", page{body: htmlPage(`<meta http-equiv='refresh' content='1; URL="/final"'>`, "")}, "meta"},
		{"meta comma and spaces", page{body: htmlPage(`<meta http-equiv="refresh" content=" 2 , url = /final ">`, "")}, "meta"},
		{"meta without url=", page{body: htmlPage(`<meta http-equiv="refresh" content="0 /final">`, "")}, "meta"},
		{"meta absolute", page{body: htmlPage(`<meta http-equiv="refresh" content="0;url={{srv}}/final">`, "")}, "meta"},
		{"meta entity", page{body: htmlPage(`<meta http-equiv="refresh" content="0;url=&#x2F;final">`, "")}, "meta"},
		{"meta at the delay limit", page{body: htmlPage(`<meta http-equiv="refresh" content="10;url=/final">`, "")}, "meta"},
		{"meta in body", page{body: htmlPage("", `<p>Moved.</p><meta http-equiv="refresh" content="0;url=/final">`)}, "meta"},
		{"meta with base href", page{body: htmlPage(`<base href="/final/../"><meta http-equiv="refresh" content="0;url=final">`, "")}, "meta"},
		{"location =", page{body: script(`location = "/final";`)}, "javascript"},
		{"location.href =", page{body: script(`location.href = '/final';`)}, "javascript"},
		{"window.location =", page{body: script(`window.location = "/final"`)}, "javascript"},
		{"window.location.href =", page{body: script(`window.location.href="/final";`)}, "javascript"},
		{"document.location =", page{body: script(`document.location = '/final';`)}, "javascript"},
		{"document.location.href =", page{body: script(`document.location.href = "/final";`)}, "javascript"},
		{"top.location.href =", page{body: script(`top.location.href = "/final";`)}, "javascript"},
		{"self.location =", page{body: script(`self.location = "/final";`)}, "javascript"},
		{"window.top.location =", page{body: script(`window.top.location = "/final";`)}, "javascript"},
		{"location.replace", page{body: script(`location.replace("/final");`)}, "javascript"},
		{"window.location.replace", page{body: script(`window.location.replace('/final')`)}, "javascript"},
		{"location.assign", page{body: script(`location.assign("/final");`)}, "javascript"},
		{"back quotes", page{body: script("location.href = `/final`;")}, "javascript"},
		{"absolute", page{body: script(`location.href = "{{srv}}/final";`)}, "javascript"},
		{"escaped slashes", page{body: script(`location.href = "{{srv-escaped}}\/final";`)}, "javascript"},
		{"unicode escape", page{body: script(`location.href = "\u002ffinal";`)}, "javascript"},
		{"relative", page{body: script(`location.href = "final";`)}, "javascript"},
		{"setTimeout function", page{body: script(`setTimeout(function () { window.location.href = "/final"; }, 1500);`)}, "javascript"},
		{"setTimeout arrow", page{body: script(`setTimeout(() => location.replace('/final'), 0)`)}, "javascript"},
		{"no semicolon", page{body: script("location.href = '/final'\nconsole.log('bye')")}, "javascript"},
		{"after a comment", page{body: script("// go on\n/* now */ location = '/final'")}, "javascript"},
		{"html comment hiding", page{body: script("<!--\nlocation.href = '/final';\n//-->")}, "javascript"},
		{"after look-alikes", page{body: script(`var x = "http://example.com/trap"; var r = /"/g; location.href = "/final";`)}, "javascript"},
		{"script type", page{body: htmlPage(`<script type="text/javascript">location.href = "/final"</script>`, "")}, "javascript"},
		{"script beats delayed meta", page{body: htmlPage(`<meta http-equiv="refresh" content="5;url=/trap">`, `<script>location.href = "/final"</script>`)}, "javascript"},
		{"script beats an immediate meta refresh earlier in the page", page{body: htmlPage(`<meta http-equiv="refresh" content="0;url=/trap">`, `<script>location.href = "/final"</script>`)}, "javascript"},
		{"top-level var location navigates", page{body: script(`var location = "/final";`)}, "javascript"},
		{"code in a timer string", page{body: script(`setTimeout("location.href='/final'", 0);`)}, "javascript"},
		{"sooner meta refresh replaces a later one", page{body: htmlPage(`<meta http-equiv="refresh" content="60"><meta http-equiv="refresh" content="0;url=/final">`, "")}, "meta"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pageServer(t, map[string]page{"/start": tt.start, "/final": final})
			host := strings.TrimPrefix(srv.URL, "http://")
			for k, v := range tt.start.header {
				tt.start.header[k] = strings.ReplaceAll(v, "{{host}}", host)
			}
			c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/start"})
			want := []string{fmt.Sprintf("/start %d %s", cmpOr(tt.start.status, 200), tt.want), "/final 200 final"}
			if got := hops(c); !slices.Equal(got, want) || c.Verdict != urltracker.VerdictHealthy {
				t.Fatalf("chain %q verdict %s (%s), want %q healthy", got, c.Verdict, c.Error, want)
			}
			if c.FinalURL != srv.URL+"/final" || !c.Success {
				t.Errorf("FinalURL %q Success %v, want %s/final true", c.FinalURL, c.Success, srv.URL)
			}
		})
	}
}

// TestLookAlikes checks that pages which only look like redirects are
// landing pages.
func TestLookAlikes(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"line comment", script(`// location.href = "/trap";`)},
		{"block comment", script(`/* window.location = "/trap"; */`)},
		{"html comment", htmlPage("<!-- <meta http-equiv=\"refresh\" content=\"0;url=/trap\"> -->", "")},
		{"string not assigned", script(`var x = "http://example.com/trap";`)},
		{"string mentioning location", script(`console.log("location.href = '/trap'");`)},
		{"regex with quotes", script(`var r = /"/; var s = "location.href = '/trap'";`)},
		{"declared in a function", script(`function f() { var location = "/trap"; } f();`)},
		{"other object", script(`obj.location = "/trap";`)},
		{"other object href", script(`link.href = "/trap";`)},
		{"concatenation", script(`location.href = "/trap?id=" + id;`)},
		{"template substitution", script("location.href = `/trap/${id}`;")},
		{"comparison", script(`if (location.href == "/trap") { go(); }`)},
		{"string replace", script(`var s = location.href.replace("a", "/trap");`)},
		{"object property", script(`var o = { location: "/trap" };`)},
		{"code in a string", script(`var code = "location.href='/trap'";`)},
		{"json script", htmlPage(`<script type="application/ld+json">{"x": 1}; location.href = "/trap"</script>`, "")},
		{"template script", htmlPage(`<script type="text/template">location.href = "/trap"</script>`, "")},
		{"external script", htmlPage(`<script src="/app.js">location.href = "/trap"</script>`, "")},
		{"text outside script", htmlPage("", `<p>location.href = "/trap";</p>`)},
		{"noscript meta", htmlPage(`<noscript><meta http-equiv="refresh" content="0;url=/trap"></noscript>`, "")},
		{"meta name not http-equiv", htmlPage(`<meta name="refresh" content="0;url=/trap">`, "")},
		{"meta refreshing itself", htmlPage(`<meta http-equiv="refresh" content="5">`, "")},
		{"meta to itself", htmlPage(`<meta http-equiv="refresh" content="0;url=/start#top">`, "")},
		{"meta too late", htmlPage(`<meta http-equiv="refresh" content="11;url=/trap">`, "")},
		{"later meta due later ignored", htmlPage(`<meta http-equiv="refresh" content="60"><meta http-equiv="refresh" content="61;url=/trap">`, "")},
		{"javascript scheme", htmlPage(`<meta http-equiv="refresh" content="0;url=javascript:alert(1)">`, "")},
		{"fragment only", script(`location.href = "#top";`)},
		{"click handler", htmlPage("", `<button id="buy">Buy now</button><script>
			document.getElementById("buy").addEventListener("click", function () {
				window.location.href = "/trap?step=checkout";
			});
		</script>`)},
		{"function for an onclick attribute", htmlPage("", `<script>function buy() { location.href = "/trap"; }</script>
			<button onclick="buy()">Buy now</button>`)},
		{"long article with a late refresh in its body", htmlPage(`<meta charset="utf-8">`,
			"<article>"+strings.Repeat("<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n", 300)+
				`<meta http-equiv="refresh" content="300;url=/trap"></article>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pageServer(t, map[string]page{"/start": {body: tt.body}, "/trap": final})
			c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/start"})
			want := []string{"/start 200 final"}
			if got := hops(c); !slices.Equal(got, want) || c.Verdict != urltracker.VerdictHealthy {
				t.Fatalf("chain %q verdict %s (%s), want %q healthy", got, c.Verdict, c.Error, want)
			}
		})
	}
}

// TestVerdicts reaches each verdict over local servers.
func TestVerdicts(t *testing.T) {
	redirect := func(to string) page { return page{status: 302, header: map[string]string{"Location": to}} }
	endless := map[string]page{}
	for i := range 10 {
		endless[fmt.Sprintf("/r/%d", i)] = redirect(fmt.Sprintf("/r/%d", i+1))
	}
	endless["/r/10"] = final
	tests := []struct {
		name      string
		pages     map[string]page
		start     string
		expected  string // Request.ExpectedHost
		maxHops   int
		verdict   urltracker.Verdict
		chain     []string
		errorHas  string
		finalPath string
	}{
		{name: "healthy", pages: map[string]page{"/": final}, start: "/",
			verdict: "healthy", chain: []string{"/ 200 final"}},
		{name: "204 is healthy", pages: map[string]page{"/": {status: 204}}, start: "/",
			verdict: "healthy", chain: []string{"/ 204 final"}},
		{name: "404", pages: map[string]page{"/a": redirect("/gone")}, start: "/a",
			verdict: "broken", chain: []string{"/a 302 http", "/gone 404 error"}, errorHas: "HTTP 404 Not Found"},
		{name: "500", pages: map[string]page{"/": {status: 500, body: "oops"}}, start: "/",
			verdict: "broken", chain: []string{"/ 500 error"}, errorHas: "HTTP 500 Internal Server Error"},
		{name: "3xx without Location", pages: map[string]page{"/": {status: 302}}, start: "/",
			verdict: "broken", chain: []string{"/ 302 error"}, errorHas: "without a Location header"},
		{name: "Location with another scheme", pages: map[string]page{"/": redirect("ftp://example.com/x")}, start: "/",
			verdict: "broken", chain: []string{"/ 302 error"}, errorHas: "must start with http:// or https://"},
		{name: "loop", pages: map[string]page{"/a": redirect("/b"), "/b": redirect("/a")}, start: "/a",
			verdict: "loop", chain: []string{"/a 302 http", "/b 302 http"}, errorHas: "leads back to", finalPath: "/b"},
		{name: "loop to itself", pages: map[string]page{"/a": redirect("/a")}, start: "/a",
			verdict: "loop", chain: []string{"/a 302 http"}},
		{name: "loop through meta", pages: map[string]page{"/a": redirect("/b"), "/b": {body: script(`location = "/a"`)}}, start: "/a",
			verdict: "loop", chain: []string{"/a 302 http", "/b 200 javascript"}},
		{name: "max hops redirects", pages: endless, start: "/r/7", maxHops: 3,
			verdict: "healthy", chain: []string{"/r/7 302 http", "/r/8 302 http", "/r/9 302 http", "/r/10 200 final"}},
		{name: "too many hops", pages: endless, start: "/r/6", maxHops: 3,
			verdict: "too_many_hops", chain: []string{"/r/6 302 http", "/r/7 302 http", "/r/8 302 http", "/r/9 302 http"}, errorHas: "more than 3 redirects"},
		{name: "expected host", pages: map[string]page{"/": final}, start: "/", expected: "127.0.0.1",
			verdict: "healthy", chain: []string{"/ 200 final"}},
		{name: "unexpected landing", pages: map[string]page{"/": final}, start: "/", expected: "example.com",
			verdict: "unexpected_landing", chain: []string{"/ 200 final"}, errorHas: "landed on 127.0.0.1, expected example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pageServer(t, tt.pages)
			c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + tt.start, ExpectedHost: tt.expected, MaxHops: tt.maxHops})
			if c.Verdict != tt.verdict || !slices.Equal(hops(c), tt.chain) {
				t.Fatalf("verdict %s chain %q (%s), want %s %q", c.Verdict, hops(c), c.Error, tt.verdict, tt.chain)
			}
			if !strings.Contains(c.Error, tt.errorHas) {
				t.Errorf("error %q, want it to contain %q", c.Error, tt.errorHas)
			}
			if (c.Error == "") != (tt.verdict == urltracker.VerdictHealthy) || c.Success != (tt.verdict == urltracker.VerdictHealthy) {
				t.Errorf("Success %v Error %q for verdict %s", c.Success, c.Error, c.Verdict)
			}
			if tt.finalPath != "" && c.FinalURL != srv.URL+tt.finalPath {
				t.Errorf("FinalURL %q, want %s%s", c.FinalURL, srv.URL, tt.finalPath)
			}
		})
	}
}

// TestExpectedHostByName lands on named hosts: a www. prefix on either side
// is the same host, another name is not.
func TestExpectedHostByName(t *testing.T) {
	pages := map[string]page{"/": final}
	srv := pageServer(t, pages)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	pages["/away"] = page{status: 301, header: map[string]string{"Location": fmt.Sprintf("http://other.test:%d/", port)}}
	tests := []struct {
		host, path, expected string
		verdict              urltracker.Verdict
	}{
		{"shop.test", "/", "shop.test", "healthy"},
		{"shop.test", "/", "www.shop.test", "healthy"},
		{"www.shop.test", "/", "shop.test", "healthy"},
		{"WWW.Shop.Test", "/", "https://shop.test/", "healthy"},
		{"shop.test", "/", "SHOP.TEST", "healthy"},
		{"shop.test", "/", "myshop.test", "unexpected_landing"},
		{"shop.test", "/away", "shop.test", "unexpected_landing"},
	}
	for _, tt := range tests {
		t.Run(tt.host+tt.path+" "+tt.expected, func(t *testing.T) {
			tr := newTracer(t, testConfig())
			fakeDNS(tr, map[string]string{"shop.test": "127.0.0.1", "www.shop.test": "127.0.0.1", "other.test": "127.0.0.1"})
			start := fmt.Sprintf("http://%s:%d%s", tt.host, port, tt.path)
			c := tr.Trace(context.Background(), Request{URL: start, ExpectedHost: tt.expected})
			if c.Verdict != tt.verdict {
				t.Fatalf("verdict %s (%s), want %s; chain %q", c.Verdict, c.Error, tt.verdict, hops(c))
			}
		})
	}
}

// TestConnectionFailures are broken links whose error says what failed.
func TestConnectionFailures(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(tlsSrv.Close)

	tests := []struct {
		name, url, errorHas string
	}{
		{"DNS", "http://nxdomain.test/", "no such host"},
		{"connection refused", closedURL + "/", "connection refused"},
		{"untrusted certificate", tlsSrv.URL + "/", "certificate"},
		{"invalid URL", "http://[::1/", "invalid URL"},
		{"not http", "mailto:someone@example.com", "must start with http:// or https://"},
		{"no scheme", "example.com/offer", "must start with http:// or https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracer(t, testConfig())
			fakeDNS(tr, nil)
			c := tr.Trace(context.Background(), Request{URL: tt.url})
			if c.Verdict != urltracker.VerdictBroken || !strings.Contains(c.Error, tt.errorHas) {
				t.Fatalf("verdict %s error %q, want broken with %q", c.Verdict, c.Error, tt.errorHas)
			}
		})
	}
}

// TestCookiesWithinOneTrace follows a chain whose second hop needs the
// cookie the first one set, and checks that the next trace starts without it.
func TestCookiesWithinOneTrace(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s3cr3t", Path: "/"})
		http.Redirect(w, r, "/need", http.StatusFound)
	})
	mux.HandleFunc("/need", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "s3cr3t" {
			http.Error(w, "no session", http.StatusForbidden)
			return
		}
		fmt.Fprint(w, final.body)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tr := newTracer(t, testConfig())

	c := tr.Trace(context.Background(), Request{URL: srv.URL + "/set"})
	if want := []string{"/set 302 http", "/need 200 final"}; !slices.Equal(hops(c), want) || !c.Success {
		t.Fatalf("chain %q verdict %s (%s), want %q healthy", hops(c), c.Verdict, c.Error, want)
	}
	c = tr.Trace(context.Background(), Request{URL: srv.URL + "/need"})
	if c.Verdict != urltracker.VerdictRefused || !strings.Contains(c.Error, "403") {
		t.Fatalf("second trace: verdict %s (%s), want refused by 403: cookies must not outlive a trace", c.Verdict, c.Error)
	}
}

// TestRequestHeaders checks the fixed User-Agent, the default one, and that
// gzip is asked for.
func TestRequestHeaders(t *testing.T) {
	for _, tt := range []struct{ configured, want string }{
		{"", urltracker.UserAgent()},
		{"acme-check/1.0", "acme-check/1.0"},
	} {
		t.Run(tt.want, func(t *testing.T) {
			var got http.Header
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
			t.Cleanup(srv.Close)
			cfg := testConfig()
			cfg.UserAgent = tt.configured
			newTracer(t, cfg).Trace(context.Background(), Request{URL: srv.URL})
			if ua := got.Get("User-Agent"); ua != tt.want {
				t.Errorf("User-Agent %q, want %q", ua, tt.want)
			}
			if ae := got.Get("Accept-Encoding"); !strings.Contains(ae, "gzip") {
				t.Errorf("Accept-Encoding %q, want gzip", ae)
			}
		})
	}
}

// TestGzipBody follows a meta refresh inside a gzip-compressed page.
func TestGzipBody(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	fmt.Fprint(zw, htmlPage(`<meta http-equiv="refresh" content="0;url=/final">`, strings.Repeat("<p>padding</p>", 100)))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			http.Error(w, "gzip only", http.StatusNotAcceptable)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(zipped.Bytes())
	})
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, final.body) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/start"})
	if want := []string{"/start 200 meta", "/final 200 final"}; !slices.Equal(hops(c), want) || !c.Success {
		t.Fatalf("chain %q verdict %s (%s), want %q healthy", hops(c), c.Verdict, c.Error, want)
	}
}

// TestBodyCap reads no more than MaxBodyBytes of a page: a redirect past it
// is not seen, one before it is, and a page that never ends is a landing.
func TestBodyCap(t *testing.T) {
	filler := strings.Repeat("<p>Lorem ipsum dolor sit amet.</p>\n", 2*MaxBodyBytes/36)
	meta := `<meta http-equiv="refresh" content="0;url=/final">`
	mux := http.NewServeMux()
	mux.HandleFunc("/late", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html><body>"+filler+meta) })
	mux.HandleFunc("/early", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html><head>"+meta+"</head><body>"+filler)
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		for r.Context().Err() == nil {
			if _, err := fmt.Fprint(w, filler); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/final", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, final.body) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	for path, want := range map[string][]string{
		"/late":    {"/late 200 final"},
		"/early":   {"/early 200 meta", "/final 200 final"},
		"/endless": {"/endless 200 final"},
	} {
		t.Run(path, func(t *testing.T) {
			c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + path})
			if !slices.Equal(hops(c), want) || !c.Success {
				t.Fatalf("chain %q verdict %s (%s), want %q healthy", hops(c), c.Verdict, c.Error, want)
			}
		})
	}
}

// TestNonUTF8Page follows redirects written in ISO-8859-1 to the URL a
// browser would request.
func TestNonUTF8Page(t *testing.T) {
	const latin1 = "text/html; charset=iso-8859-1"
	tests := []struct {
		name string
		page page
	}{
		{"meta, charset in header", page{header: map[string]string{"Content-Type": latin1},
			body: "<html><head><meta http-equiv=\"refresh\" content=\"0;url=/caf\xe9\"></head><body>Caf\xe9</body></html>"}},
		{"script, charset in header", page{header: map[string]string{"Content-Type": latin1},
			body: "<html><body><p>R\xe9sum\xe9</p><script>location.href = '/caf\xe9';</script></body></html>"}},
		{"meta, charset in page", page{header: map[string]string{"Content-Type": "text/html"},
			body: "<html><head><meta charset=\"iso-8859-1\"><meta http-equiv=\"refresh\" content=\"0;url=/caf\xe9\"></head></html>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := pageServer(t, map[string]page{"/start": tt.page, "/café": final})
			c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/start"})
			if len(c.Chain) != 2 || !c.Success || c.FinalURL != srv.URL+"/caf%C3%A9" {
				t.Fatalf("chain %q verdict %s (%s) final %s, want healthy at /café", hops(c), c.Verdict, c.Error, c.FinalURL)
			}
		})
	}
}

// TestFiveHopChain records every hop of a 4-redirect chain and its landing.
func TestFiveHopChain(t *testing.T) {
	srv := pageServer(t, map[string]page{
		"/1":       {status: 302, header: map[string]string{"Location": "/2?click_id=abc&sub=1"}},
		"/2":       {body: htmlPage(`<meta http-equiv="refresh" content="0;url=/3?offer=42">`, "")},
		"/3":       {body: script(`window.location.href = "/4?utm_source=x&amp;utm_medium=y";`)},
		"/4":       {status: 301, header: map[string]string{"Location": "/landing?p=1&p=2"}},
		"/landing": final,
	})
	c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/1"})
	want := []string{
		"/1 302 http",
		"/2?click_id=abc&sub=1 200 meta",
		"/3?offer=42 200 javascript",
		"/4?utm_source=x&amp;utm_medium=y 301 http",
		"/landing?p=1&p=2 200 final",
	}
	if !slices.Equal(hops(c), want) || c.Verdict != urltracker.VerdictHealthy || !c.Success {
		t.Fatalf("chain %q verdict %s (%s), want %q healthy", hops(c), c.Verdict, c.Error, want)
	}
	wantParams := []map[string]string{{}, {"click_id": "abc", "sub": "1"}, {"offer": "42"}, {"utm_source": "x"}, {"p": "1"}}
	for i, h := range c.Chain {
		if fmt.Sprint(h.Params) != fmt.Sprint(wantParams[i]) {
			t.Errorf("hop %d params %v, want %v", i+1, h.Params, wantParams[i])
		}
		if h.TimingMS < 0 || h.TimingMS > c.DurationMS {
			t.Errorf("hop %d timing %d ms outside the trace's %d ms", i+1, h.TimingMS, c.DurationMS)
		}
	}
	if c.FinalURL != srv.URL+"/landing?p=1&p=2" || c.Error != "" {
		t.Errorf("FinalURL %q Error %q", c.FinalURL, c.Error)
	}
	if time.Since(c.StartedAt) > time.Minute || c.DurationMS < 0 {
		t.Errorf("StartedAt %v DurationMS %d", c.StartedAt, c.DurationMS)
	}
}
