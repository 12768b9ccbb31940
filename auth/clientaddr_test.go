package auth

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name    string
		remote  string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		{"no proxies trusted: header ignored", "10.1.2.3:5555", []string{"203.0.113.9"}, nil, "10.1.2.3"},
		{"untrusted peer: header ignored", "198.51.100.7:5555", []string{"203.0.113.9"}, proxies, "198.51.100.7"},
		{"trusted peer: last hop", "10.1.2.3:5555", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"spoofed hops before the client are ignored", "10.1.2.3:5555", []string{"1.1.1.1, 203.0.113.9"}, proxies, "203.0.113.9"},
		{"chain of trusted proxies", "10.1.2.3:5555", []string{"203.0.113.9, 10.9.9.9"}, proxies, "203.0.113.9"},
		{"several headers", "10.1.2.3:5555", []string{"1.1.1.1", "203.0.113.9"}, proxies, "203.0.113.9"},
		{"garbage hop stops the walk", "10.1.2.3:5555", []string{"203.0.113.9, not-an-ip"}, proxies, "10.1.2.3"},
		{"no header", "10.1.2.3:5555", nil, proxies, "10.1.2.3"},
		{"IPv6 peer", "[::1]:5555", []string{"2001:db8::1"}, proxies, "2001:db8::1"},
		{"IPv4-mapped", "[::ffff:198.51.100.7]:5555", nil, proxies, "198.51.100.7"},
	} {
		r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := ClientAddr(r, tc.trusted); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
