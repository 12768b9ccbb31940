package tracer

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/testutil"
)

// TestLandingKept keeps the landing page for the judge: its body decoded to
// UTF-8, capped at MaxLandingBytes, with the X-Robots-Tag header; a redirect
// page is not a landing.
func TestLandingKept(t *testing.T) {
	long := "<html><body>" + strings.Repeat("<p>Great deal.</p>\n", 2*MaxLandingBytes/19)
	srv := pageServer(t, map[string]page{
		"/go":    {status: 302, header: map[string]string{"Location": "/latin"}},
		"/latin": {header: map[string]string{"Content-Type": "text/html; charset=iso-8859-1", "X-Robots-Tag": "noindex"}, body: "<title>P\xe1gina no encontrada</title>"},
		"/long":  {body: long},
	})
	tr := newTracer(t, testConfig())

	c := tr.Trace(context.Background(), Request{URL: srv.URL + "/go"})
	if c.Landing == nil {
		t.Fatalf("no landing kept (verdict %s, %s)", c.Verdict, c.Error)
	}
	if got := string(c.Landing.Body); got != "<title>Página no encontrada</title>" {
		t.Errorf("landing body %q, want it decoded from ISO-8859-1", got)
	}
	if c.Landing.URL != srv.URL+"/latin" || c.Landing.Status != 200 || c.Landing.RobotsTag != "noindex" {
		t.Errorf("landing %s %d robots %q", c.Landing.URL, c.Landing.Status, c.Landing.RobotsTag)
	}

	c = tr.Trace(context.Background(), Request{URL: srv.URL + "/long"})
	if c.Landing == nil || len(c.Landing.Body) != MaxLandingBytes {
		t.Fatalf("long landing: kept %v, want the first %d bytes", c.Landing != nil, MaxLandingBytes)
	}
}

// TestRefused gives a landing that answers 403 or 429 the verdict refused,
// not broken: it may serve visitors and refuse only a checker.
func TestRefused(t *testing.T) {
	for _, code := range []int{http.StatusForbidden, http.StatusTooManyRequests} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			srv := pageServer(t, map[string]page{
				"/go":   {status: 302, header: map[string]string{"Location": "/shop"}},
				"/shop": {status: code, body: "no bots"},
			})
			c := newTracer(t, testConfig()).Trace(context.Background(), Request{URL: srv.URL + "/go"})
			if c.Verdict != urltracker.VerdictRefused || !strings.Contains(c.Error, fmt.Sprint(code)) || c.Success {
				t.Errorf("verdict %s (%s), want refused naming %d", c.Verdict, c.Error, code)
			}
		})
	}
}

// TestCertificates records the expiry of each HTTPS host's certificate,
// once per host.
func TestCertificates(t *testing.T) {
	expires := time.Now().Add(72 * time.Hour).Truncate(time.Second).UTC()
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/b", http.StatusFound) })
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, final.body) })
	srv, pool := testutil.TLSServer(t, mux, expires)
	cfg := testConfig()
	cfg.RootCAs = pool

	c := newTracer(t, cfg).Trace(context.Background(), Request{URL: srv.URL + "/a"})
	if c.Verdict != urltracker.VerdictHealthy {
		t.Fatalf("verdict %s (%s)", c.Verdict, c.Error)
	}
	if len(c.Certificates) != 1 || c.Certificates[0].Host != "127.0.0.1" || !c.Certificates[0].ExpiresAt.Equal(expires) {
		t.Errorf("certificates %+v, want 127.0.0.1 expiring %s once", c.Certificates, expires)
	}
}
