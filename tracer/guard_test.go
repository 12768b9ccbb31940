package tracer

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/urltracker/urltracker"
)

// TestGuardCheck has one row per refused range, and the exceptions.
func TestGuardCheck(t *testing.T) {
	tests := []struct {
		dest   string
		allow  string // as in URLTRACKER_TRACE_ALLOW_CIDRS
		reason string // "" when allowed
	}{
		{dest: "93.184.215.14:80"},
		{dest: "93.184.215.14:443"},
		{dest: "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443"},
		{dest: "0.0.0.0:80", reason: "unspecified address"},
		{dest: "[::]:80", reason: "unspecified address"},
		{dest: "0.1.2.3:80", reason: `"this network" address`},
		{dest: "10.1.2.3:80", reason: "private address"},
		{dest: "100.64.0.1:80", reason: "shared (carrier-grade NAT) address"},
		{dest: "100.127.255.254:443", reason: "shared (carrier-grade NAT) address"},
		{dest: "100.128.0.1:80"},
		{dest: "127.0.0.1:80", reason: "loopback address"},
		{dest: "127.255.255.254:443", reason: "loopback address"},
		{dest: "169.254.169.254:80", reason: "link-local address"},
		{dest: "172.16.0.1:80", reason: "private address"},
		{dest: "172.31.255.254:80", reason: "private address"},
		{dest: "172.32.0.1:80"},
		{dest: "192.168.1.1:443", reason: "private address"},
		{dest: "224.0.0.251:80", reason: "multicast address"},
		{dest: "239.255.255.250:80", reason: "multicast address"},
		{dest: "255.255.255.255:80", reason: "broadcast address"},
		{dest: "240.0.0.1:80", reason: "reserved address"},
		{dest: "[::1]:80", reason: "loopback address"},
		{dest: "[fc00::1]:80", reason: "private (unique local) address"},
		{dest: "[fd12:3456::1]:443", reason: "private (unique local) address"},
		{dest: "[fe80::1]:80", reason: "link-local address"},
		{dest: "[fe80::1%25eth0]:80", reason: "link-local address"},
		{dest: "[ff02::1]:80", reason: "multicast address"},
		{dest: "[::ffff:127.0.0.1]:80", reason: "loopback address"},
		{dest: "[::ffff:10.0.0.1]:80", reason: "private address"},
		{dest: "[::ffff:169.254.169.254]:80", reason: "link-local address"},
		{dest: "[64:ff9b::a9fe:a9fe]:80", reason: "link-local address (via NAT64)"},
		{dest: "[64:ff9b::5db8:d70e]:80"},
		{dest: "93.184.215.14:8080", reason: "port 8080 is neither 80 nor 443"},
		{dest: "93.184.215.14:22", reason: "port 22 is neither 80 nor 443"},
		{dest: "127.0.0.1:8080", allow: "127.0.0.0/8"},
		{dest: "[::ffff:127.0.0.1]:8080", allow: "127.0.0.1"},
		{dest: "[::1]:8080", allow: "::1/128"},
		{dest: "10.1.2.3:22", allow: "10.0.0.0/8, 192.168.0.0/16"},
		{dest: "192.168.0.9:80", allow: "10.0.0.0/8, 192.168.0.0/16"},
		{dest: "172.16.0.1:80", allow: "10.0.0.0/8, 192.168.0.0/16", reason: "private address"},
		{dest: "127.0.0.2:80", allow: "127.0.0.1/32", reason: "loopback address"},
		{dest: "10.9.9.9:80", allow: "::ffff:10.0.0.0/104"},
		{dest: "93.184.215.14:8080", allow: "93.184.215.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.dest+" "+tt.allow, func(t *testing.T) {
			allow, err := ParseAllowCIDRs(tt.allow)
			if err != nil {
				t.Fatal(err)
			}
			dest := netip.MustParseAddrPort(strings.Replace(tt.dest, "%25", "%", 1))
			err = NewGuard(allow).Check(dest)
			switch {
			case tt.reason == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.reason != "" && err == nil:
				t.Fatalf("allowed, want refused as %s", tt.reason)
			case tt.reason != "":
				want := fmt.Sprintf("destination %s is not allowed: %s; set URLTRACKER_TRACE_ALLOW_CIDRS to allow it", dest, tt.reason)
				if err.Error() != want {
					t.Fatalf("error %q\nwant  %q", err, want)
				}
			}
		})
	}
}

func TestParseAllowCIDRs(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		errorOn string // the entry the error must name
	}{
		{in: "", want: nil},
		{in: " , ,", want: nil},
		{in: "127.0.0.0/8,::1/128", want: []string{"127.0.0.0/8", "::1/128"}},
		{in: " 10.0.0.0/8 , 192.168.1.7 ", want: []string{"10.0.0.0/8", "192.168.1.7/32"}},
		{in: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{in: "::ffff:10.0.0.0/104", want: []string{"10.0.0.0/8"}},
		{in: "fd00::/8,fe80::1", want: []string{"fd00::/8", "fe80::1/128"}},
		{in: "10.0.0.0/8,10.0.0.0/33", errorOn: `"10.0.0.0/33"`},
		{in: "localhost", errorOn: `"localhost"`},
		{in: "10.0.0.0/8, 300.1.1.1", errorOn: `"300.1.1.1"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAllowCIDRs(tt.in)
			if tt.errorOn != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errorOn) || !strings.Contains(err.Error(), AllowCIDRsEnv) {
					t.Fatalf("error %v, want one naming %s and %s", err, tt.errorOn, AllowCIDRsEnv)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotText []string
			for _, p := range got {
				gotText = append(gotText, p.String())
			}
			if !slices.Equal(gotText, tt.want) {
				t.Fatalf("got %v, want %v", gotText, tt.want)
			}
		})
	}
}

// countingServer counts the requests that reach it.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestBlockedTraces checks the guard where it matters: at dial time, after
// DNS, on every hop. Refused destinations are all loopback addresses, so a
// guard that failed would still send nothing off this machine.
func TestBlockedTraces(t *testing.T) {
	landing := func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<p>ok</p>") }
	srv, hits := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-127.0.0.2":
			http.Redirect(w, r, "http://127.0.0.2:"+requestPort(r)+r.URL.Path, http.StatusFound)
		case "/to-internal-name":
			http.Redirect(w, r, "http://internal.test:"+requestPort(r)+"/", http.StatusFound)
		case "/rebind":
			// A new connection for the next hop makes the tracer resolve
			// the name again.
			w.Header().Set("Connection", "close")
			http.Redirect(w, r, "/landing", http.StatusFound)
		default:
			landing(w, r)
		}
	})
	p := serverPort(srv)
	only127001 := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}

	var rebinds sync.Map // host → lookups so far
	tests := []struct {
		name    string
		allow   []netip.Prefix
		url     string
		dns     map[string][]string
		verdict urltracker.Verdict
		chain   []string
		hits    int64
		error   string
	}{
		{name: "loopback address", url: srv.URL + "/", verdict: "blocked", chain: []string{"/ 0 error"},
			error: "destination 127.0.0.1:" + p + " is not allowed: loopback address; set URLTRACKER_TRACE_ALLOW_CIDRS to allow it"},
		{name: "name resolving to loopback", url: "http://shop.test:" + p + "/", dns: map[string][]string{"shop.test": {"127.0.0.1"}},
			verdict: "blocked", chain: []string{"/ 0 error"}, error: "loopback address"},
		{name: "localhost", url: "http://localhost:" + p + "/", verdict: "blocked", chain: []string{"/ 0 error"}, error: "loopback address"},
		{name: "IPv4-mapped loopback", url: "http://[::ffff:127.0.0.1]:" + p + "/", verdict: "blocked", chain: []string{"/ 0 error"}, error: "loopback address"},
		{name: "allowed", allow: only127001, url: srv.URL + "/", verdict: "healthy", chain: []string{"/ 200 final"}, hits: 1},
		{name: "allowed by name", allow: only127001, url: "http://shop.test:" + p + "/", dns: map[string][]string{"shop.test": {"127.0.0.1"}},
			verdict: "healthy", chain: []string{"/ 200 final"}, hits: 1},
		{name: "redirect to a refused address", allow: only127001, url: srv.URL + "/to-127.0.0.2",
			verdict: "blocked", chain: []string{"/to-127.0.0.2 302 http", "/to-127.0.0.2 0 error"}, hits: 1,
			error: "destination 127.0.0.2:" + p + " is not allowed: loopback address"},
		{name: "redirect to an internal name", allow: only127001, url: srv.URL + "/to-internal-name", dns: map[string][]string{"internal.test": {"127.0.0.2"}},
			verdict: "blocked", chain: []string{"/to-internal-name 302 http", "/ 0 error"}, hits: 1, error: "127.0.0.2"},
		{name: "one refused address among several", allow: only127001, url: "http://mixed.test:" + p + "/", dns: map[string][]string{"mixed.test": {"127.0.0.1", "127.0.0.2"}},
			verdict: "blocked", chain: []string{"/ 0 error"}, error: "127.0.0.2"},
		{name: "DNS rebinding between hops", allow: only127001, url: "http://rebind.test:" + p + "/rebind", dns: map[string][]string{"rebind.test": {"127.0.0.1", "then", "127.0.0.2"}},
			verdict: "blocked", chain: []string{"/rebind 302 http", "/landing 0 error"}, hits: 1, error: "127.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			tr := newTracer(t, Config{AllowCIDRs: tt.allow})
			if tt.dns != nil {
				tr.guard.lookup = func(_ context.Context, host string) ([]netip.Addr, error) {
					answers, ok := tt.dns[host]
					if !ok {
						return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
					}
					// "then" separates the first answer from later ones.
					if i := slices.Index(answers, "then"); i >= 0 {
						n, _ := rebinds.LoadOrStore(host, new(atomic.Int64))
						if n.(*atomic.Int64).Add(1) == 1 {
							answers = answers[:i]
						} else {
							answers = answers[i+1:]
						}
					}
					var addrs []netip.Addr
					for _, a := range answers {
						addrs = append(addrs, netip.MustParseAddr(a))
					}
					return addrs, nil
				}
			}
			c := tr.Trace(context.Background(), Request{URL: tt.url})
			if c.Verdict != tt.verdict || !slices.Equal(hops(c), tt.chain) {
				t.Fatalf("verdict %s chain %q (%s), want %s %q", c.Verdict, hops(c), c.Error, tt.verdict, tt.chain)
			}
			if !strings.Contains(c.Error, tt.error) {
				t.Errorf("error %q, want it to contain %q", c.Error, tt.error)
			}
			if got := hits.Load(); got != tt.hits {
				t.Errorf("server saw %d requests, want %d", got, tt.hits)
			}
		})
	}
}

func requestPort(r *http.Request) string {
	_, p, _ := net.SplitHostPort(r.Host)
	return p
}

func serverPort(srv *httptest.Server) string {
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return p
}
