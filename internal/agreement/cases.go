package agreement

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"fmt"
	"net/http"
	"strings"
)

// Cases returns the corpus. Names are unique and stable: truth.json is keyed
// by them.
func Cases() []Case {
	var cs []Case
	add := func(cat string, c ...Case) {
		for _, x := range c {
			x.Category = cat
			x.BrowserOnly = cat == "browser-only"
			cs = append(cs, x)
		}
	}
	add("http", httpCases()...)
	add("refresh", refreshCases()...)
	add("script", scriptCases()...)
	add("timers", timerCases()...)
	add("events", eventCases()...)
	add("precedence", precedenceCases()...)
	add("url", urlCases()...)
	add("keeps-going", keepsGoingCases()...)
	add("forms", formCases()...)
	add("protocol", protocolCases()...)
	add("browser-only", browserOnlyCases()...)
	return cs
}

func one(name string, start Page) Case {
	return Case{Name: name, Pages: map[string]Page{"start": start}}
}

func many(name string, pages map[string]Page) Case {
	return Case{Name: name, Pages: pages}
}

// js is a page whose body runs code in one inline script.
func js(code string) Page {
	return Page{Body: doc("<title>Redirecting</title>", "<p>Please wait</p><script>"+code+"</script>")}
}

func page(head, body string) Page { return Page{Body: doc(head, body)} }

func loc(status int, location string) Page {
	return Page{Status: status, Header: []string{"Location: " + location}}
}

func meta(content string) string {
	return `<meta http-equiv="refresh" content="` + content + `">`
}

func httpCases() []Case {
	var cs []Case
	for _, code := range []int{301, 302, 303, 307, 308} {
		cs = append(cs,
			one(fmt.Sprintf("status-%d-relative", code), loc(code, "final")),
			one(fmt.Sprintf("status-%d-absolute", code), loc(code, "{{origin}}{{dir}}/final")),
		)
	}
	return append(cs,
		one("location-root-relative", loc(302, "{{dir}}/final")),
		one("location-protocol-relative", loc(302, "//127.0.0.1:{{port}}{{dir}}/final")),
		one("location-dot-segments", loc(302, "a/b/../../final")),
		one("location-with-query", loc(302, "final?click_id=abc&sub=1")),
		one("location-with-fragment", loc(302, "final#section")),
		one("status-300-with-location", loc(300, "final")),
		one("status-304-with-location", loc(304, "final")),
		one("status-201-with-location", loc(201, "final")),
		many("chain-of-five", map[string]Page{
			"start": loc(301, "h2"), "h2": loc(302, "h3?x=1"), "h3": loc(303, "h4"), "h4": loc(307, "h5"), "h5": loc(308, "final"),
		}),
		many("redirect-to-404", map[string]Page{"start": loc(302, "missing")}),
		many("redirect-to-500", map[string]Page{
			"start":  loc(302, "broken"),
			"broken": {Status: 500, Body: doc("<title>Error</title>", "<h1>Server error</h1>")},
		}),
		one("location-empty-value", Page{Status: 302, Header: []string{"Location: "}, Body: doc("", "<p>moved</p>")}),
		many("redirect-sets-cookie", map[string]Page{
			"start": {Status: 302, Header: []string{"Location: gate", "Set-Cookie: seen=1; Path=/"}},
			"gate":  {Handler: cookieGate("seen", "1")},
		}),
		many("cookie-needed-by-script-page", map[string]Page{
			"start": {Header: []string{"Set-Cookie: sess=abc; Path=/"}, Body: doc("", `<script>location.href="gate"</script>`)},
			"gate":  {Handler: cookieGate("sess", "abc")},
		}),
	)
}

// cookieGate redirects to final when the cookie has the value, and to wrong
// otherwise.
func cookieGate(name, value string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, dir string) {
		c, err := r.Cookie(name)
		if err == nil && c.Value == value {
			http.Redirect(w, r, dir+"/final", http.StatusFound)
			return
		}
		http.Redirect(w, r, dir+"/wrong", http.StatusFound)
	}
}

// rawCookieGate is cookieGate reading the Cookie header as sent, for values
// Go's cookie parser refuses, such as one containing a double quote.
func rawCookieGate(want string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, dir string) {
		if strings.Contains(r.Header.Get("Cookie"), want) {
			http.Redirect(w, r, dir+"/final", http.StatusFound)
			return
		}
		http.Redirect(w, r, dir+"/wrong", http.StatusFound)
	}
}

func refreshCases() []Case {
	return []Case{
		one("meta-0", page(meta("0;url=final"), "")),
		one("meta-1", page(meta("1; url=final"), "")),
		one("meta-30-stays", page(meta("30; url=wrong"), "<p>wait</p>")),
		one("meta-no-url-30", page(meta("30"), "")),
		one("meta-quoted-url", page(meta(`0; URL='final?a=1'`), "")),
		one("meta-url-spaces-around-equals", page(meta("0 ; url = final"), "")),
		one("meta-comma-separator", page(meta("0,final"), "")),
		one("meta-space-only", page(meta("0 final"), "")),
		one("meta-url-without-equals", page(meta("0; urlfinal"), "")),
		one("meta-fraction", page(meta("0.5; url=final"), "")),
		one("meta-leading-dot", page(meta(".5; url=final"), "")),
		one("meta-negative", page(meta("-1; url=wrong"), "")),
		one("meta-uppercase", page(`<META HTTP-EQUIV="REFRESH" CONTENT="0;URL=final">`, "")),
		one("meta-in-body", page("", "<p>text</p>"+meta("0;url=final"))),
		one("meta-single-quoted-attr", page(`<meta http-equiv='refresh' content='0;url=final'>`, "")),
		one("meta-unquoted-attr", page(`<meta http-equiv=refresh content=0;url=final>`, "")),
		one("meta-http-equiv-padded", page(`<meta http-equiv=" refresh" content="0;url=wrong">`, "")),
		one("meta-in-template", page("", "<template>"+meta("0;url=wrong")+"</template>")),
		one("meta-in-noscript", page("", "<noscript>"+meta("0;url=wrong")+"</noscript>")),
		one("meta-in-comment", page("<!-- "+meta("0;url=wrong")+" -->", "")),
		one("meta-in-textarea", page("", "<textarea>"+meta("0;url=wrong")+"</textarea>")),
		one("meta-name-refresh", page(`<meta name="refresh" content="0;url=wrong">`, "")),
		one("meta-after-base", page(`<base href="{{dir}}/sub/">`+meta("0;url=../final"), "")),
		one("meta-before-base", page(meta("0;url=final")+`<base href="{{origin}}/elsewhere/">`, "")),
		one("meta-two-first-sooner", page(meta("0;url=final")+meta("1;url=wrong"), "")),
		one("meta-two-second-sooner", page(meta("1;url=wrong")+meta("0;url=final"), "")),
		one("meta-two-equal", page(meta("0;url=wrong")+meta("0;url=final"), "")),
		one("meta-self-30", page(meta("30;url=start"), "")),
		one("header-refresh-0", Page{Header: []string{"Refresh: 0; url=final"}, Body: doc("", "<p>wait</p>")}),
		one("header-refresh-1", Page{Header: []string{"Refresh: 1;url=final"}, Body: doc("", "")}),
		one("header-refresh-30", Page{Header: []string{"Refresh: 30; url=wrong"}, Body: doc("", "")}),
		one("header-refresh-on-plain-text", Page{Header: []string{"Refresh: 0; url=final", "Content-Type: text/plain"}, Body: "moved"}),
		one("header-refresh-on-302", Page{Status: 302, Header: []string{"Refresh: 0; url=wrong", "Location: final"}}),
		one("meta-entity-in-url", page(meta("0;url=final?a=1&amp;b=2"), "")),
		one("meta-absolute-url", page(meta("0;url={{origin}}{{dir}}/final"), "")),
		one("meta-javascript-url", page(meta("0;url=javascript:location='wrong'"), "")),
		one("meta-in-svg", page("", `<svg><meta http-equiv="refresh" content="0;url=final"></svg>`)),
		one("meta-duplicate-attrs", page(`<meta http-equiv="refresh" content="0;url=final" content="0;url=wrong">`, "")),
		one("meta-plain-text-body", Page{Header: []string{"Content-Type: text/plain"}, Body: meta("0;url=wrong")}),
		one("meta-missing-content-type", Page{Header: []string{"Content-Type: "}, Body: doc(meta("0;url=final"), "")}),
	}
}

func scriptCases() []Case {
	return []Case{
		one("location-href", js(`window.location.href = "final";`)),
		one("location-assign-bare", js(`location = "final"`)),
		one("window-location", js(`window.location = 'final';`)),
		one("document-location", js(`document.location.href = "final";`)),
		one("top-location", js(`top.location.href = "final";`)),
		one("self-location", js(`self.location = "final";`)),
		one("location-replace", js(`location.replace("final?via=replace");`)),
		one("location-assign-call", js(`window.location.assign('final');`)),
		one("window-bracket-location", js(`window["location"] = "final";`)),
		one("bracket-href", js(`window["location"]["href"] = "final";`)),
		one("variable-then-assign", js(`var u = "final?from=var"; location.href = u;`)),
		one("concatenation", js(`location.href = "fin" + "al" + "?a=" + 1;`)),
		one("concatenation-with-variables", js(`var base = "{{dir}}/", page = "final"; window.location = base + page + "?n=" + (2 * 21);`)),
		one("template-literal", js("const id = 7; location.href = `final?id=${id}`;")),
		one("array-join", js(`location.href = ["final", "x=1"].join("?");`)),
		one("atob", js(`location.href = atob("ZmluYWw=");`)),
		one("encode-uri-component", js(`location.href = "final?u=" + encodeURIComponent("a b&c");`)),
		one("decode-uri-component", js(`location.href = decodeURIComponent("final%3Fx%3D1");`)),
		one("string-reverse", js(`location.href = "lanif".split("").reverse().join("");`)),
		one("json-parse", js(`var cfg = JSON.parse('{"url":"final?j=1"}'); location.href = cfg.url;`)),
		one("function-called", js(`function go(u) { location.href = u; } go("final");`)),
		one("function-never-called", js(`function go() { location.href = "wrong"; }`)),
		one("iife", js(`(function () { location.replace("final"); })();`)),
		one("arrow-iife", js(`(() => { window.location.href = "final" })()`)),
		one("top-level-var-location", js(`var location = "final";`)),
		one("function-local-var-location", js(`function f() { var location = "wrong"; } f();`)),
		one("let-location-in-block", js(`{ let location = "wrong"; }`)),
		one("entity-kept-in-script", js(`location.href = "final?a=1&amp;b=2";`)),
		one("escaped-slashes", js(`location.href = "{{origin}}{{dir}}/final".replace(/\//g, "\/");`)),
		one("unicode-escape", js(`location.href = "\u0066inal";`)),
		one("hex-escape", js(`location.href = "\x66inal";`)),
		one("frame-busting-guard", js(`if (top !== self) { top.location = "wrong"; }`)),
		one("frame-busting-guard-window", js(`if (window.top != window.self) top.location.href = "wrong";`)),
		one("top-equals-self-navigates", js(`if (top === self) { location.href = "final"; }`)),
		one("parent-equals-window", js(`if (parent == window) location = "final";`)),
		one("frame-element-null", js(`if (window.frameElement === null) location = "final"; else location = "wrong";`)),
		one("onclick-only", page("", `<a href="wrong" onclick="location='wrong';return false">Buy</a>`)),
		one("click-listener-only", js(`document.addEventListener("click", function () { location.href = "wrong"; });`)),
		one("created-anchor-click", js(`var a = document.createElement("a"); a.href = "final?via=anchor"; document.body.appendChild(a); a.click();`)),
		one("existing-anchor-click", page("", `<a id="go" href="final?via=link">Continue</a><script>document.getElementById("go").click();</script>`)),
		one("query-selector-anchor-click", page("", `<a class="cta" href="final">Go</a><script>document.querySelector("a.cta").click();</script>`)),
		one("window-open-self", js(`window.open("final", "_self");`)),
		one("window-open-blank", js(`window.open("wrong", "_blank");`)),
		one("hash-only", js(`location.hash = "top";`)),
		one("location-search", js(`if (!location.search) location.search = "?q=1";`)),
		one("location-pathname", js(`location.pathname = "{{dir}}/final";`)),
		one("script-error-before", page("", `<script>undefinedFunction();location.href="wrong";</script><script>location.href="final";</script>`)),
		one("script-error-after-assign", js(`location.href = "final"; undefinedFunction();`)),
		one("syntax-error-script", page("", `<script>location.href = "wrong" +;</script><script>location.href="final"</script>`)),
		one("try-catch", js(`try { null.x; } catch (e) { location.href = "final"; }`)),
		one("script-type-template", page("", `<script type="text/template">location.href="wrong"</script>`)),
		one("script-type-json-ld", page("", `<script type="application/ld+json">{"url":"wrong"}</script>`)),
		one("script-type-module", page("", `<script type="module">location.href = "final";</script>`)),
		one("script-language-attr", page("", `<script language="javascript">location.href = "final";</script>`)),
		one("script-in-noscript", page("", `<noscript><script>location.href="wrong"</script></noscript>`)),
		one("script-in-comment", page("", `<!-- <script>location.href="wrong"</script> -->`)),
		one("html-comment-in-script", js("<!--\nlocation.href = \"final\";\n//-->")),
		one("string-mentions-location", js(`var s = 'location.href = "wrong"'; console.log(s);`)),
		one("comment-mentions-location", js("// location.href = \"wrong\";\n/* location = 'wrong' */")),
		one("conditional-false", js(`if (1 > 2) { location.href = "wrong"; }`)),
		one("conditional-ternary", js(`location.href = (2 > 1) ? "final" : "wrong";`)),
		one("switch-statement", js(`switch ("b") { case "a": location = "wrong"; break; case "b": location = "final"; }`)),
		one("loop-builds-url", js(`var p = ""; for (var i = 0; i < 3; i++) p += i; location.href = "final?p=" + p;`)),
		one("object-lookup", js(`var routes = {us: "wrong", def: "final"}; location.href = routes["def"];`)),
		one("navigator-language-guard", js(`var l = navigator.language || "en"; location.href = "final";`)),
		one("document-referrer-empty", js(`if (!document.referrer) location.href = "final"; else location.href = "wrong";`)),
		one("location-origin-used", js(`location.href = location.origin + "{{dir}}/final";`)),
		one("location-search-passed-on", many2("final?from=start")),
		one("last-assignment-wins", js(`location.href = "wrong"; location.href = "final";`)),
		one("history-replace-then-nav", js(`history.replaceState(null, "", "start?x=1"); location.replace("final");`)),
		one("eval-navigation", js(`eval('location.href = "final"');`)),
		one("new-function-navigation", js(`new Function('location.href = "final"')();`)),
		one("set-attribute-href-click", js(`var a = document.createElement("a"); a.setAttribute("href", "final"); a.click();`)),
		one("document-links-click", page("", `<a href="final">x</a><script>document.links[0].click();</script>`)),
		one("get-elements-by-tag-click", page("", `<a href="final">x</a><script>document.getElementsByTagName("a")[0].click();</script>`)),
		one("infinite-loop-then-nav", page("", `<script>for(;;){}</script><script>location.href="final"</script>`)),
		one("deep-recursion", page("", `<script>function f(){f()} f();</script><script>location.href="final"</script>`)),
	}
}

// many2 is a page that passes its own query on, a pattern of trackers:
// location.search read and appended.
func many2(target string) Page {
	return js(`location.href = "` + target + `" + (location.search ? "&" + location.search.slice(1) : "");`)
}

func timerCases() []Case {
	return []Case{
		one("settimeout-function-0", js(`setTimeout(function () { location.href = "final"; }, 0);`)),
		one("settimeout-arrow-500", js(`setTimeout(() => location.replace("final"), 500);`)),
		one("settimeout-string", js(`setTimeout("location='final'", 0);`)),
		one("settimeout-no-delay", js(`setTimeout(function () { location = "final" });`)),
		one("settimeout-30s", js(`setTimeout(function () { location.href = "wrong"; }, 30000);`)),
		one("settimeout-2s", js(`setTimeout(function () { location.href = "final"; }, 1500);`)),
		one("settimeout-named-function", js(`function go() { location.href = "final"; } setTimeout(go, 100);`)),
		one("setinterval-countdown", js(`var n = 3; var t = setInterval(function () { if (--n === 0) { clearInterval(t); location.href = "final"; } }, 200);`)),
		one("cleared-timeout", js(`var t = setTimeout(function () { location = "wrong"; }, 100); clearTimeout(t);`)),
		one("two-timers-sooner-wins", js(`setTimeout(function(){ location = "wrong"; }, 2000); setTimeout(function(){ location = "final"; }, 100);`)),
		one("nested-timers", js(`setTimeout(function(){ setTimeout(function(){ location = "final"; }, 100); }, 100);`)),
		one("timer-string-delay", js(`setTimeout(function(){ location = "final"; }, "200");`)),
		one("request-animation-frame", js(`requestAnimationFrame(function(){ location.href = "final"; });`)),
		one("promise-then", js(`Promise.resolve("final").then(function (u) { location.href = u; });`)),
		one("async-function", js(`(async function () { await null; location.href = "final"; })();`)),
		one("queue-microtask", js(`queueMicrotask(function () { location.href = "final"; });`)),
		one("countdown-text-then-go", page("", `<span id="c">3</span><script>var s = 2; var i = setInterval(function(){ document.getElementById("c").textContent = s; if (s-- <= 0) { clearInterval(i); location.replace("final"); } }, 300);</script>`)),
		one("timer-60s-and-meta-30", page(meta("30;url=wrong"), `<script>setTimeout(function(){location="wrong"}, 60000)</script>`)),
	}
}

func eventCases() []Case {
	return []Case{
		one("body-onload", page("", `<script></script>`+"</body>"+`<body onload="location.href='final'">`)),
		one("body-onload-attribute", Page{Body: `<!DOCTYPE html><html><head></head><body onload="window.location='final'"><p>x</p></body></html>`}),
		one("window-onload-function", js(`window.onload = function () { location.href = "final"; };`)),
		one("add-event-listener-load", js(`window.addEventListener("load", function () { location.replace("final"); });`)),
		one("dom-content-loaded", js(`document.addEventListener("DOMContentLoaded", function () { location.href = "final"; });`)),
		one("ready-state-check", js(`if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", go); } else { go(); } function go(){ location.href = "final"; }`)),
		one("onload-named", js(`function go() { location.href = "final"; } window.onload = go;`)),
		one("pageshow", js(`window.addEventListener("pageshow", function () { location.href = "final"; });`)),
		one("onclick-property", js(`document.body.onclick = function () { location.href = "wrong"; };`)),
		one("mouseover-listener", js(`window.addEventListener("mouseover", function () { location.href = "wrong"; });`)),
		one("beforeunload-only", js(`window.addEventListener("beforeunload", function () { location.href = "wrong"; });`)),
		one("img-onerror", page("", `<img src="missing.png" onerror="location.href='final'">`)),
		one("document-write-meta", js(`document.write('<meta http-equiv="refresh" content="0;url=final">');`)),
		one("document-write-script", js(`document.write('<scr' + 'ipt>location.href="final"</scr' + 'ipt>');`)),
		one("document-write-link-click", js(`document.write('<a id="x" href="final">x</a>'); document.getElementById("x").click();`)),
		one("inner-html-meta", js(`document.head.innerHTML += '<meta http-equiv="refresh" content="0;url=final">';`)),
		one("create-meta-element", js(`var m = document.createElement("meta"); m.httpEquiv = "refresh"; m.content = "0;url=final"; document.head.appendChild(m);`)),
		many("external-script", map[string]Page{
			"start": page(`<script src="go.js"></script>`, ""),
			"go.js": {Header: []string{"Content-Type: application/javascript"}, Body: `location.href = "final?via=external";`},
		}),
		many("external-script-defer", map[string]Page{
			"start": page(`<script defer src="go.js"></script>`, ""),
			"go.js": {Header: []string{"Content-Type: text/javascript"}, Body: `window.location.replace("final");`},
		}),
		many("external-script-sets-config", map[string]Page{
			"start":  page(`<script src="cfg.js"></script>`, `<script>location.href = CFG.target;</script>`),
			"cfg.js": {Header: []string{"Content-Type: text/javascript"}, Body: `var CFG = {target: "final?cfg=1"};`},
		}),
		many("external-script-404", map[string]Page{
			"start": page(`<script src="nope.js"></script>`, `<script>location.href="final";</script>`),
		}),
	}
}

func precedenceCases() []Case {
	return []Case{
		one("script-beats-meta-0", page(meta("0;url=wrong"), `<script>location.href="final"</script>`)),
		one("script-before-meta-0", page(`<script>location.href="final"</script>`+meta("0;url=wrong"), "")),
		one("meta-beats-header-refresh", Page{Header: []string{"Refresh: 0;url=wrong"}, Body: doc(meta("0;url=final"), "")}),
		one("header-sooner-than-meta", Page{Header: []string{"Refresh: 0;url=final"}, Body: doc(meta("1;url=wrong"), "")}),
		one("meta-sooner-than-header", Page{Header: []string{"Refresh: 1;url=wrong"}, Body: doc(meta("0;url=final"), "")}),
		one("timer-sooner-than-meta", page(meta("1;url=wrong"), `<script>setTimeout(function(){location="final"}, 100)</script>`)),
		one("meta-sooner-than-timer", page(meta("0;url=final"), `<script>setTimeout(function(){location="wrong"}, 1500)</script>`)),
		one("timer-0-and-meta-0", page(meta("0;url=wrong"), `<script>setTimeout(function(){location="final"}, 0)</script>`)),
		one("onload-beats-meta-0", page(meta("0;url=wrong"), `<script>window.onload=function(){location="final"}</script>`)),
		one("script-beats-header-refresh", Page{Header: []string{"Refresh: 0;url=wrong"}, Body: doc("", `<script>location="final"</script>`)}),
		one("location-header-beats-body", Page{Status: 302, Header: []string{"Location: final"}, Body: doc(meta("0;url=wrong"), `<script>location="wrong"</script>`)}),
		one("meta-30-and-script", page(meta("30;url=wrong"), `<script>location.href="final"</script>`)),
		one("write-meta-after-meta", page(meta("1;url=wrong"), `<script>document.write('<meta http-equiv="refresh" content="0;url=final">')</script>`)),
		one("script-nav-then-form", page("", `<form id="f" action="wrong"></form><script>location.href="final"; document.getElementById("f").submit();</script>`)),
		one("meta-and-onload-timer-30s", page(meta("1;url=final"), `<script>onload=function(){setTimeout(function(){location="wrong"},30000)}</script>`)),
		one("meta-0-and-onload-timer-2s", page(meta("0;url=final"), `<script>onload=function(){setTimeout(function(){location="wrong"},2000)}</script>`)),
	}
}

func urlCases() []Case {
	return []Case{
		one("percent-not-escape-location", loc(302, "final?d=50%off")),
		one("percent-not-escape-path", many3("/deals/50%off")),
		one("http-colon-single-slash", loc(302, "http:{{dir}}/final")),
		one("http-colon-no-slash", loc(302, "http:final")),
		one("backslashes", loc(302, `\c\`+"x"+`\..\..\..{{dir}}\final`)),
		one("tab-and-newline-in-script-url", js(`location.href = "fi\tnal\n?x=1";`)),
		one("leading-trailing-spaces", loc(302, "  final  ")),
		one("space-in-query", js(`location.href = "final?q=a b";`)),
		one("space-in-path", js(`location.href = "final dir/x";`)),
		one("non-ascii-query-utf8", js(`location.href = "final?city=Zürich";`)),
		one("non-ascii-path-utf8", js(`location.href = "café";`)),
		one("non-ascii-query-latin1-page", Page{Header: []string{"Content-Type: text/html; charset=windows-1252"}, Body: doc("", "<script>location.href = \"final?city=Z\xfcrich\";</script>")}),
		one("non-ascii-meta-latin1-page", Page{Header: []string{"Content-Type: text/html; charset=iso-8859-1"}, Body: doc(meta("0;url=final?q=caf\xe9"), "")}),
		one("meta-charset-declared-latin1", Page{Header: []string{"Content-Type: text/html"}, Body: doc(`<meta charset="windows-1252">`+meta("0;url=final?q=\xe9t\xe9"), "")}),
		one("invalid-utf8-in-page", Page{Body: doc(meta("0;url=final?q=a\xffb"), "")}),
		one("quote-in-query", js(`location.href = "final?q=\"x\"";`)),
		one("apostrophe-in-query", js(`location.href = "final?q=it's";`)),
		one("angle-in-query", js(`location.href = "final?q=<b>";`)),
		one("uppercase-scheme-host", loc(302, "HTTP://127.0.0.1:{{port}}{{dir}}/final")),
		one("double-slash-path", loc(302, "{{dir}}//final")),
		one("dot-in-query-kept", loc(302, "final?p=../x")),
		one("encoded-slash-kept", loc(302, "final?r=%2Fa%2Fb")),
		one("plus-kept", js(`location.href = "final?q=a+b";`)),
		one("empty-query", loc(302, "final?")),
		one("fragment-only-script", js(`location.href = "#frag";`)),
		one("question-and-hash", loc(302, "final?#x")),
		one("location-utf8-bytes", Page{Status: 302, Header: []string{"Location: final?q=\xc3\xa9"}}),
		one("location-latin1-byte", Page{Status: 302, Header: []string{"Location: final?q=\xe9"}}),
		one("script-percent-literal", js(`location.href = "final?d=100%";`)),
		one("meta-percent-literal", page(meta("0;url=final?d=20%off"), "")),
		one("base-href-script", page(`<base href="{{dir}}/sub/">`, `<script>location.href = "../final";</script>`)),
		one("base-href-anchor-click", page(`<base href="{{dir}}/sub/">`, `<a id="a" href="../final">x</a><script>document.getElementById("a").click()</script>`)),
		one("ipv4-shorthand-host", loc(302, "http://127.1:{{port}}{{dir}}/final")),
		one("trailing-dot-segment", loc(302, "sub/..")),
	}
}

// many3 redirects to a path with a percent sign that is not an escape.
func many3(path string) Page { return loc(302, "{{dir}}"+path) }

func keepsGoingCases() []Case {
	return []Case{
		many("404-page-with-script-home", map[string]Page{
			"start": loc(302, "gone"),
			"gone":  {Status: 404, Body: doc("<title>Not found</title>", `<script>location.href = "home";</script>`)},
		}),
		one("404-with-meta-refresh", Page{Status: 404, Body: doc(meta("0;url=home"), "Not found")}),
		one("500-with-script", Page{Status: 500, Body: doc("", `<script>location.replace("home")</script>`)}),
		one("302-without-location-meta", Page{Status: 302, Body: doc(meta("0;url=final"), "moved")}),
		one("302-without-location-script", Page{Status: 302, Body: doc("", `<script>location="final"</script>`)}),
		one("204-target-via-script", js(`location.href = "empty";`)),
		one("204-target-via-meta", page(meta("0;url=empty"), "")),
		one("204-then-timer", js(`location.href = "empty"; setTimeout(function(){ location.href = "final"; }, 300);`)),
		one("410-gone-plain", Page{Status: 410, Body: doc("", "gone")}),
		one("403-with-meta", Page{Status: 403, Body: doc(meta("0;url=final"), "denied")}),
	}
}

func formCases() []Case {
	postGate := func(w http.ResponseWriter, r *http.Request, dir string) {
		_ = r.ParseForm()
		if r.Method == http.MethodPost && r.PostForm.Get("token") == "t1" {
			http.Redirect(w, r, dir+"/final?posted="+r.PostForm.Get("sub"), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, dir+"/wrong", http.StatusSeeOther)
	}
	postLand := func(w http.ResponseWriter, r *http.Request, dir string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.Method != http.MethodPost {
			fmt.Fprint(w, doc("<title>Wrong</title>", "<h1>GET</h1>"))
			return
		}
		fmt.Fprint(w, doc("<title>Posted</title>", "<h1>Posted</h1>"))
	}
	return []Case{
		one("form-get-submit", page("", `<form id="f" action="final"><input type="hidden" name="a" value="1"><input name="b" value="x y"></form><script>document.getElementById("f").submit();</script>`)),
		many("form-post-submit", map[string]Page{
			"start": page("", `<form method="post" action="post"><input type="hidden" name="token" value="t1"><input type="hidden" name="sub" value="s9"></form><script>document.forms[0].submit();</script>`),
			"post":  {Handler: postGate},
		}),
		many("form-post-lands-on-post", map[string]Page{
			"start":  page("", `<form method="POST" action="posted" name="go"><input name="k" value="v"></form><script>document.go.submit()</script>`),
			"posted": {Handler: postLand},
		}),
		one("form-onload-submit", Page{Body: `<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form action="final"><input type="hidden" name="c" value="3"></form></body></html>`}),
		one("form-no-action", page("", `<form id="f"><input type="hidden" name="n" value="1"></form><script>if (location.search === "") document.getElementById("f").submit(); else location.href = "final" + location.search;</script>`)),
		one("form-checkbox-and-select", page("", `<form id="f" action="final"><input type="checkbox" name="c1" value="on1" checked><input type="checkbox" name="c2" value="on2"><select name="s"><option value="a">A</option><option value="b" selected>B</option></select><textarea name="t">hi</textarea><input type="submit" name="btn" value="Go"></form><script>document.getElementById("f").submit();</script>`)),
		one("form-disabled-field", page("", `<form id="f" action="final"><input name="a" value="1" disabled><input name="b" value="2"></form><script>document.getElementById("f").submit();</script>`)),
		one("form-created-by-script", js(`var f = document.createElement("form"); f.action = "final"; f.method = "get"; var i = document.createElement("input"); i.type = "hidden"; i.name = "z"; i.value = "9"; f.appendChild(i); document.body.appendChild(f); f.submit();`)),
		one("form-target-blank", page("", `<form id="f" action="wrong" target="_blank"></form><script>document.getElementById("f").submit();</script>`)),
		one("form-button-click", page("", `<form action="final"><input name="q" value="1"><button id="b" type="submit">Go</button></form><script>document.getElementById("b").click();</script>`)),
		one("form-request-submit", page("", `<form id="f" action="final"><input name="r" value="1"></form><script>document.getElementById("f").requestSubmit();</script>`)),
		one("form-not-submitted", page("", `<form action="wrong"><input name="q"></form>`)),
		one("form-submit-on-click-only", page("", `<form id="f" action="wrong"></form><button onclick="document.getElementById('f').submit()">Go</button>`)),
		one("form-action-query-replaced", page("", `<form id="f" action="final?dropped=1"><input type="hidden" name="kept" value="1"></form><script>document.getElementById("f").submit();</script>`)),
		one("form-set-value-then-submit", page("", `<form id="f" action="final"><input type="hidden" id="v" name="v" value=""></form><script>document.getElementById("v").value = "set"; document.getElementById("f").submit();</script>`)),
		one("form-timer-submit", page("", `<form id="f" action="final"></form><script>setTimeout(function(){ document.getElementById("f").submit(); }, 200);</script>`)),
		one("document-write-form", js(`document.write('<form id="w" action="final"><input name="w" value="1"></form>'); document.getElementById("w").submit();`)),
	}
}

func protocolCases() []Case {
	landing := []byte(doc("", `<script>location.href = "final?via=deflate";</script>`))
	return []Case{
		many("cookie-with-quote", map[string]Page{
			"start": {Status: 302, Header: []string{`Set-Cookie: q="a b"; Path=/`, "Location: gate"}},
			"gate":  {Handler: rawCookieGate(`q="a b"`)},
		}),
		many("cookie-with-inner-quote", map[string]Page{
			"start": {Status: 302, Header: []string{`Set-Cookie: q=x"y; Path=/`, "Location: gate"}},
			"gate":  {Handler: rawCookieGate(`q=x"y`)},
		}),
		many("document-cookie-set", map[string]Page{
			"start": js(`document.cookie = "k=v1; path=/"; location.href = "gate";`),
			"gate":  {Handler: cookieGate("k", "v1")},
		}),
		one("deflate-unasked-zlib", Page{Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "deflate")
			var b bytes.Buffer
			z := zlib.NewWriter(&b)
			z.Write(landing)
			z.Close()
			w.Write(b.Bytes())
		}}),
		one("deflate-unasked-raw", Page{Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "deflate")
			var b bytes.Buffer
			z, _ := flate.NewWriter(&b, flate.DefaultCompression)
			z.Write(landing)
			z.Close()
			w.Write(b.Bytes())
		}}),
		one("gzip-body", Page{Handler: func(w http.ResponseWriter, r *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
			var b bytes.Buffer
			z := gzip.NewWriter(&b)
			z.Write(landing)
			z.Close()
			w.Write(b.Bytes())
		}}),
		one("two-different-locations", Page{Status: 302, Header: []string{"Location: final", "Location: wrong"}}),
		one("two-equal-locations", Page{Status: 302, Header: []string{"Location: final", "Location: final"}}),
		one("location-on-200", Page{Header: []string{"Location: wrong"}, Body: doc("", "<h1>Stay</h1>")}),
		one("refresh-header-bad", Page{Header: []string{"Refresh: soon; url=wrong"}, Body: doc("", "")}),
		one("xhtml-content-type", Page{Header: []string{"Content-Type: application/xhtml+xml"}, Body: `<html xmlns="http://www.w3.org/1999/xhtml"><head><meta http-equiv="refresh" content="0;url=final"/></head><body></body></html>`}),
		one("large-page-script-at-end", page("", strings.Repeat("<p>filler text for a long landing page</p>", 1200)+`<script>location.href="final"</script>`)),
		one("bom-utf8", Page{Body: "\xef\xbb\xbf" + doc(meta("0;url=final"), "")}),
		one("json-body", Page{Header: []string{"Content-Type: application/json"}, Body: `{"url":"wrong","html":"<meta http-equiv=\"refresh\" content=\"0;url=wrong\">"}`}),
		one("image-body", Page{Header: []string{"Content-Type: image/png"}, Body: "\x89PNG\r\n\x1a\n"}),
	}
}

func browserOnlyCases() []Case {
	return []Case{
		many("fetch-then-navigate", map[string]Page{
			"start":    js(`fetch("api.json").then(function(r){ return r.json(); }).then(function(d){ location.href = d.next; });`),
			"api.json": {Header: []string{"Content-Type: application/json"}, Body: `{"next":"final?via=fetch"}`},
		}),
		many("xhr-then-navigate", map[string]Page{
			"start":    js(`var x = new XMLHttpRequest(); x.open("GET", "api.json"); x.onload = function(){ location.href = JSON.parse(x.responseText).next; }; x.send();`),
			"api.json": {Header: []string{"Content-Type: application/json"}, Body: `{"next":"final?via=xhr"}`},
		}),
		one("layout-dependent", page("", `<div id="d" style="width:300px">x</div><script>if (document.getElementById("d").offsetWidth === 300) location.href = "final"; else location.href = "wrong";</script>`)),
		many("iframe-top-navigation", map[string]Page{
			"start": page("", `<iframe src="inner"></iframe>`),
			"inner": js(`top.location.href = "final";`),
		}),
		one("canvas-dependent", js(`var c = document.createElement("canvas"); if (c.getContext && c.getContext("2d")) location.href = "final"; else location.href = "wrong";`)),
		many("dynamic-import", map[string]Page{
			"start":  page("", `<script type="module">import("./mod.js").then(function(m){ location.href = m.next; });</script>`),
			"mod.js": {Header: []string{"Content-Type: text/javascript"}, Body: `export const next = "final?via=import";`},
		}),
		many("send-beacon-style-image-then-go", map[string]Page{
			"start":     js(`var i = new Image(); i.onload = function(){ location.href = "final"; }; i.src = "pixel.gif";`),
			"pixel.gif": {Header: []string{"Content-Type: image/gif"}, Body: "GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"},
		}),
	}
}
