package tracer

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html/charset"

	"github.com/urltracker/urltracker"
)

// browseTests are the virtual browser's rules, one or more cases each: where
// a page sends the tab by itself, as "how target", or "" for nowhere. Page
// URLs are relative to http://example.com/dir/start.
var browseTests = []struct {
	name    string
	refresh string // the Refresh header
	page    string
	want    string
}{
	// Rule 1: a navigation started while loading wins over any refresh.
	{"script beats meta 0 before it", "", `<meta http-equiv="refresh" content="0;url=/meta"><script>location.href="/script"</script>`, "javascript /script"},
	{"script beats meta 0 after it", "", `<script>location.href="/script"</script><meta http-equiv="refresh" content="0;url=/meta">`, "javascript /script"},
	{"script beats Refresh header", "0;url=/header", `<script>location="/script"</script>`, "javascript /script"},
	{"last assignment wins", "", `<script>location.href="/a"; location.href="/b";</script>`, "javascript /b"},
	{"form submitted while loading", "", `<form id="f" action="/go"><input type="hidden" name="a" value="1 2"></form><script>document.getElementById("f").submit()</script>`, "form /go?a=1+2"},
	{"created anchor clicked", "", `</head><body><script>var a=document.createElement("a"); a.href="/x"; document.body.appendChild(a); a.click();</script>`, "javascript /x"},
	{"anchor opening a window leaves the tab", "", `<a id="a" target="_blank" href="/x"></a><script>document.getElementById("a").click()</script>`, ""},
	{"script sees only what is parsed", "", `<script>var f = document.getElementById("late"); if (f) location = "/early"; else location = "/absent";</script><a id="late"></a>`, "javascript /absent"},
	// Rule 2: load handlers next.
	{"onload attribute", "", `</head><body onload="location='/onload'">`, "javascript /onload"},
	{"window.onload beats meta 0", "", `<meta http-equiv="refresh" content="0;url=/meta"><script>onload=function(){location="/onload"}</script>`, "javascript /onload"},
	{"DOMContentLoaded listener", "", `<script>document.addEventListener("DOMContentLoaded", function(){ location.replace("/dcl") })</script>`, "javascript /dcl"},
	{"click handler never runs", "", `<script>document.addEventListener("click", function(){ location = "/click" })</script>`, ""},
	// Rule 3: timers and the refresh in the order they are due.
	{"timer sooner than meta", "", `<meta http-equiv="refresh" content="1;url=/meta"><script>setTimeout(function(){location="/timer"}, 100)</script>`, "javascript /timer"},
	{"meta sooner than timer", "", `<meta http-equiv="refresh" content="1;url=/meta"><script>setTimeout(function(){location="/timer"}, 1500)</script>`, "meta /meta"},
	{"timer set before load beats meta 0", "", `<meta http-equiv="refresh" content="0;url=/meta"><script>setTimeout(function(){location="/timer"}, 0)</script>`, "javascript /timer"},
	{"30 s timer is not a redirect", "", `<script>setTimeout(function(){location="/late"}, 30000)</script>`, ""},
	{"timer string", "", `<script>setTimeout("location='/s'", 0)</script>`, "javascript /s"},
	{"cleared timer", "", `<script>var t = setTimeout(function(){location="/x"}, 10); clearTimeout(t)</script>`, ""},
	{"interval counts down", "", `<script>var n=3, i=setInterval(function(){ if(--n==0){clearInterval(i); location="/done"} }, 300)</script>`, "javascript /done"},
	{"promise", "", `<script>Promise.resolve("/p").then(function(u){ location.href = u })</script>`, "javascript /p"},
	// Rule 4: one refresh at a time; a later one replaces it if due no later.
	{"meta replaces header", "0;url=/header", `<meta http-equiv="refresh" content="0;url=/meta">`, "meta /meta"},
	{"header sooner than meta", "0;url=/header", `<meta http-equiv="refresh" content="1;url=/meta">`, "meta /header"},
	{"second meta sooner", "", `<meta http-equiv="refresh" content="1;url=/a"><meta http-equiv="refresh" content="0;url=/b">`, "meta /b"},
	{"second meta later", "", `<meta http-equiv="refresh" content="0;url=/a"><meta http-equiv="refresh" content="1;url=/b">`, "meta /a"},
	{"meta 30 s", "", `<meta http-equiv="refresh" content="30;url=/late">`, ""},
	{"meta in template", "", `<template><meta http-equiv="refresh" content="0;url=/x"></template>`, ""},
	{"meta in noscript", "", `<noscript><meta http-equiv="refresh" content="0;url=/x"></noscript>`, ""},
	{"http-equiv not trimmed", "", `<meta http-equiv=" refresh" content="0;url=/x">`, ""},
	{"base before meta", "", `<base href="/sub/"><meta http-equiv="refresh" content="0;url=x">`, "meta /sub/x"},
	{"base after meta ignored", "", `<meta http-equiv="refresh" content="0;url=x"><base href="/sub/">`, "meta /dir/x"},
	{"document.write of a meta", "", `<script>document.write('<meta http-equiv="refresh" content="0;url=/w">')</script>`, "meta /w"},
	// Pages in frames bust out; a top-level page does not.
	{"frame-busting guard", "", `<script>if (top !== self) top.location = "/bust";</script>`, ""},
	{"top is self", "", `<script>if (top === self && window.top == window.self) location = "/top";</script>`, "javascript /top"},
	// Scripts fail alone, and what they navigate keeps browser details.
	{"error stops one script", "", `<script>nope(); location="/no"</script><script>location="/yes"</script>`, "javascript /yes"},
	{"syntax error stops one script", "", `<script>location = "/no" +;</script><script>location="/yes"</script>`, "javascript /yes"},
	{"top-level var location", "", `<script>var location = "/var";</script>`, "javascript /var"},
	{"let location", "", `<script>{ let location = "/let"; }</script>`, ""},
	{"entities kept in scripts", "", `<script>location.href = "/e?a=1&amp;b=2"</script>`, "javascript /e?a=1&amp;b=2"},
	{"hash only", "", `<script>location.hash = "x"; location.href = "#y";</script>`, ""},
	{"computed URL", "", `<script>var p = ["f", "i", "n"].join(""); location.href = "/" + p + "?n=" + (6*7);</script>`, "javascript /fin?n=42"},
	{"atob", "", `<script>location = atob("L2I2NA==")</script>`, "javascript /b64"},
	{"window bracket", "", `<script>window["location"]["href"] = "/br"</script>`, "javascript /br"},
	{"infinite loop is stopped", "", `<script>for(;;){}</script><script>location="/after"</script>`, ""},
	{"runaway memory is stopped", "", `<script>var s = "xxxxxxxx"; for(;;) s += s;</script><script>location="/after"</script>`, ""},
	{"post form", "", `<form method="post" action="/p"><input name="k" value="v"><input type="checkbox" name="c"></form><script>document.forms[0].submit()</script>`, "form POST /p k=v"},
}

func TestBrowse(t *testing.T) {
	page, _ := url.Parse("http://example.com/dir/start")
	for _, tt := range browseTests {
		t.Run(tt.name, func(t *testing.T) {
			nav, ok := browse([]byte("<!DOCTYPE html><html><head>"+tt.page+"</body></html>"), pageEnv{
				url: page, refresh: tt.refresh, maxDelay: 10 * time.Second,
			})
			got := ""
			if ok {
				target := strings.TrimPrefix(nav.target.String(), "http://example.com")
				got = string(nav.how) + " " + target
				if nav.method == http.MethodPost {
					got = string(nav.how) + " POST " + target + " " + nav.body
				}
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestBrowseQueryCharset encodes a query in the page's charset and its path
// in UTF-8, as browsers do.
func TestBrowseQueryCharset(t *testing.T) {
	page, _ := url.Parse("http://example.com/")
	enc, _ := charset.Lookup("windows-1252")
	nav, ok := browse([]byte(`<script>location.href = "/café?q=café"</script>`), pageEnv{url: page, enc: enc, maxDelay: time.Second})
	if !ok || nav.target.String() != "http://example.com/caf%C3%A9?q=caf%E9" || nav.how != urltracker.RedirectJavaScript {
		t.Fatalf("got %v %v, want /caf%%C3%%A9?q=caf%%E9", nav.target, ok)
	}
}
