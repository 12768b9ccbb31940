package tracer

import (
	"strings"
	"testing"
)

var scriptTests = []struct {
	src    string
	target string // "" when nothing is followed
}{
	{`location = "/a"`, "/a"},
	{`location.href='/a';`, "/a"},
	{"location.href=`/a`", "/a"},
	{`window.location = "/a";`, "/a"},
	{`window.location.href = "/a";`, "/a"},
	{`document.location = "/a";`, "/a"},
	{`document.location.href = "/a";`, "/a"},
	{`top.location.href = "/a";`, "/a"},
	{`self.location = "/a";`, "/a"},
	{`parent.location = "/a";`, "/a"},
	{`window.top.location.href = "/a";`, "/a"},
	{`location.replace("/a")`, "/a"},
	{`location.assign("/a")`, "/a"},
	{`window.location.replace('/a', 1)`, "/a"},
	{`setTimeout(function(){location.href="/a"},500)`, "/a"},
	{`setTimeout(() => { window.location = "/a"; }, 0);`, "/a"},
	{`if (ok) location.href = "/a"; else location.href = "/b";`, "/a"},
	{`var c = cond ? 1 : 2; location = "/a"`, "/a"},
	{"location.href = '/a'\nnext()", "/a"},
	{`location.href = "http:\/\/example.com\/a?x=1&amp;y=2"`, "http://example.com/a?x=1&y=2"},
	{`location.href = "\x2fa\u002f\u{62}"`, "/a/b"},
	{`location.href = "/caf\u00e9"`, "/café"},
	{`location.href = "/\uD83D\uDE00"`, "/\U0001F600"},
	{`location.href = "/a\
b"`, "/ab"},
	{`location.href = "/\101"`, "/A"},
	{"<!--\nlocation = '/a'\n//-->", "/a"},
	{"x = 1\n  --> location = '/trap'\nlocation = '/a'", "/a"},
	{"x = 1 --> location = '/a'", "/a"},
	{"// location = '/trap'\nlocation = '/a'", "/a"},
	{"/* location = '/trap' */ location = '/a'", "/a"},
	{`var s = "location = '/trap'"; location = '/a'`, "/a"},
	{`var r = /location = "\/trap"/; location = '/a'`, "/a"},
	{`var r = /[/"]/g; location = '/a'`, "/a"},
	{"var t = `${location = '/trap'}`; location = '/a'", "/a"},
	{`x = a / b; location = "/a" // "`, "/a"},
	{`// location.href = "/trap";`, ""},
	{`/* location.href = "/trap"; */`, ""},
	{`/* location.href = "/trap";`, ""},
	{`var x = "http://example.com/trap";`, ""},
	{`var location = "/trap";`, ""},
	{`let location = "/trap";`, ""},
	{`obj.location = "/trap";`, ""},
	{`obj.window.location = "/trap";`, ""},
	{`a?.location = "/trap";`, ""},
	{`location.href = "/trap" + id;`, ""},
	{`location.href = "/trap".concat(id);`, ""},
	{"location.href = `/trap/${id}`;", ""},
	{`location.href == "/trap"`, ""},
	{`location.href === "/trap"`, ""},
	{`location.href += "/trap"`, ""},
	{`location.href.replace("a", "/trap")`, ""},
	{`s.replace("/trap")`, ""},
	{`location.reload()`, ""},
	{`location = url;`, ""},
	{`location["href"] = "/trap";`, ""},
	{`var o = {location: "/trap"};`, ""},
	{`setTimeout("location.href='/trap'", 0)`, ""},
	{`location.href = "/trap\u{110000}"`, ""},
	{`location.href = "/trap\x4"`, ""},
	{`location.href = "/trap`, ""},
	{"location.href = '/trap\nx'", ""},
	{``, ""},
	// Code that runs by itself is followed; code waiting for a click is not.
	{`(function () { location.href = "/a"; })();`, "/a"},
	{`!function () { location.href = "/a" }()`, "/a"},
	{`window.onload = function () { location = "/a" };`, "/a"},
	{`document.addEventListener("DOMContentLoaded", function () { location.replace("/a") });`, "/a"},
	{`window.addEventListener('load', () => { location.href = '/a' })`, "/a"},
	{`$(function () { location.href = "/a" });`, "/a"},
	{`$(document).ready(function () { window.location = "/a" });`, "/a"},
	{`function go() { location.href = "/a"; } go();`, "/a"},
	{`function go() { location.href = "/a"; } setTimeout(go, 1000);`, "/a"},
	{`var go = function () { location = "/a" }; window.onload = go;`, "/a"},
	{`const go = () => { location.href = "/a" }; go()`, "/a"},
	{`const go = url => { location.href = "/a" }; go(1)`, "/a"},
	{`var r = { go: function () { location.href = "/a" } }; r.go();`, "/a"},
	{`function onRedirect() { location.href = "/a" } onRedirect()`, "/a"},
	{`function later() { location.href = "/a" } setTimeout(function () { later() }, 10)`, "/a"},
	{`function buy() { location.href = "/trap" }`, ""},
	{`function buy() { location.href = "/trap" } btn.addEventListener("click", buy);`, ""},
	{`document.getElementById("buy").addEventListener("click", function () { location.href = "/trap" });`, ""},
	{`form.addEventListener('submit', e => { e.preventDefault(); location.href = '/trap' })`, ""},
	{`btn.attachEvent("onclick", function () { location.href = "/trap" })`, ""},
	{`$("#buy").click(function () { window.location = "/trap" })`, ""},
	{`$("#buy").on("click", () => { location.assign("/trap") })`, ""},
	{`btn.addEventListener("click", () => location.href = "/trap")`, ""},
	{`btn.onclick = function () { location.href = "/trap" }`, ""},
	{`btn.onclick = () => { location.href = "/trap" }`, ""},
	{`btn.addEventListener("click", function () { go() }); function go() { location.href = "/trap" }`, ""},
	{`btn.onclick = function () { location.href = "/trap" }; location.href = "/a"`, "/a"},
}

func TestScanScript(t *testing.T) {
	for _, tt := range scriptTests {
		target, ok := scanScript(tt.src)
		if target != tt.target || ok != (tt.target != "") {
			t.Errorf("scanScript(%q) = %q, %v; want %q", tt.src, target, ok, tt.target)
		}
	}
}

func FuzzScanScript(f *testing.F) {
	for _, tt := range scriptTests {
		f.Add(tt.src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		target, ok := scanScript(src)
		if !ok && target != "" {
			t.Fatalf("not found, yet %q", target)
		}
		if again, okAgain := scanScript("\n" + src); again != target || okAgain != ok {
			t.Fatalf("a leading newline changed %q, %v to %q, %v", target, ok, again, okAgain)
		}
		// Nothing inside a comment is code.
		if !strings.ContainsAny(src, "\n\r\u2028\u2029") {
			if target, ok := scanScript("//" + src); ok {
				t.Fatalf("followed %q out of a line comment", target)
			}
		}
		if !strings.Contains(src, "*/") {
			if target, ok := scanScript("/*" + src + "*/"); ok {
				t.Fatalf("followed %q out of a block comment", target)
			}
		}
	})
}
