package chromium

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/urltracker/urltracker/tracer"
)

// guardProxy is an HTTP proxy on loopback through which Chromium makes every
// connection of one check. It dials with the tracer's address guard, so a
// browser check reaches nothing an HTTP check could not, and it remembers
// what the guard refused, for the verdict.
type guardProxy struct {
	guard     *tracer.Guard
	ln        net.Listener
	srv       *http.Server
	transport *http.Transport

	mu      sync.Mutex
	blocked map[string]error // by host:port
	conns   sync.WaitGroup   // CONNECT tunnels
}

func startProxy(guard *tracer.Guard, hopTimeout time.Duration) (*guardProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &guardProxy{guard: guard, ln: ln, blocked: map[string]error{}}
	p.transport = &http.Transport{
		Proxy:                 nil,
		DialContext:           p.dial,
		ResponseHeaderTimeout: hopTimeout,
		TLSHandshakeTimeout:   hopTimeout,
		MaxIdleConnsPerHost:   4,
	}
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: hopTimeout}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *guardProxy) addr() string { return p.ln.Addr().String() }

// blockedError is the guard's refusal of host:port during this check, if any.
func (p *guardProxy) blockedError(hostport string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.blocked[hostport]
}

func (p *guardProxy) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := p.guard.DialContext(ctx, network, addr)
	var blocked *tracer.BlockedError
	if errors.As(err, &blocked) {
		p.mu.Lock()
		p.blocked[addr] = err
		p.mu.Unlock()
	}
	return conn, err
}

func (p *guardProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Connection")
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// tunnel serves CONNECT (HTTPS): the guard dials, then bytes flow both ways
// until either side closes or the proxy shuts down.
func (p *guardProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	upstream, err := p.dial(ctx, "tcp", r.Host)
	cancel()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	p.conns.Add(2)
	go func() {
		defer p.conns.Done()
		_, _ = io.Copy(upstream, buf)
		upstream.Close()
		client.Close()
	}()
	go func() {
		defer p.conns.Done()
		_, _ = io.Copy(client, upstream)
		upstream.Close()
		client.Close()
	}()
}

// close stops the proxy and waits for its tunnels; the browser using it is
// gone by then, so they end.
func (p *guardProxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	_ = p.srv.Close()
	p.transport.CloseIdleConnections()
	p.conns.Wait()
}
