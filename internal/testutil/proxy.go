package testutil

import (
	"errors"
	"net"
	"sync"
	"testing"
)

// TCPProxy forwards loopback connections to a target address, and can
// simulate a database that becomes unreachable: Cut drops every connection
// and refuses new ones (a server that is down), Stall lets no byte through
// while keeping connections open (a network partition, where calls hang
// until their deadline). Restore heals either.
type TCPProxy struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	cond   *sync.Cond
	state  proxyState
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

type proxyState int

const (
	proxyOpen proxyState = iota
	proxyStalled
	proxyCut
)

// NewTCPProxy starts a proxy to target on a free loopback port; it is closed
// at the end of the test.
func NewTCPProxy(t testing.TB, target string) *TCPProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &TCPProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port.
func (p *TCPProxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every proxied connection and refuses new ones until Restore.
func (p *TCPProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = proxyCut
	p.closeConnsLocked()
}

// Stall holds every byte in both directions, and new connections before they
// reach the target, until Restore.
func (p *TCPProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = proxyStalled
}

// Restore lets connections and data through again.
func (p *TCPProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state = proxyOpen
	p.cond.Broadcast()
}

func (p *TCPProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.closed = true
	p.closeConnsLocked()
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *TCPProxy) closeConnsLocked() {
	for c := range p.conns {
		c.Close()
	}
	p.cond.Broadcast()
}

func (p *TCPProxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(client)
		}()
	}
}

func (p *TCPProxy) forward(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	if !p.passable() {
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	go p.pipe(server, client, done)
	go p.pipe(client, server, done)
	<-done
	<-done
}

// pipe copies src to dst, holding data while the proxy is stalled. When one
// direction ends, both end, as with a dropped link.
func (p *TCPProxy) pipe(dst, src net.Conn, done chan<- struct{}) {
	defer func() {
		dst.Close()
		src.Close()
		done <- struct{}{}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !p.passable() {
				return
			}
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// passable waits while the proxy is stalled and reports whether data may
// pass.
func (p *TCPProxy) passable() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.state == proxyStalled && !p.closed {
		p.cond.Wait()
	}
	return p.state == proxyOpen && !p.closed
}

// track registers c unless the proxy is cut or closed.
func (p *TCPProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == proxyCut || p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *TCPProxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}
