package servicetest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy between code under test and a real service, so that
// a test can cut the service off (and bring it back) without stopping the
// service everyone shares.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	mu     struct {
		sync.Mutex
		cut   bool
		conns map[net.Conn]struct{}
	}
}

// NewProxy listens on a free local port and forwards to target
// ("host:port"). It stops when the test ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target}
	p.mu.conns = make(map[net.Conn]struct{})
	p.wg.Go(p.accept)
	t.Cleanup(func() {
		_ = ln.Close()
		p.Cut()
		p.wg.Wait()
	})
	return p
}

// Addr is the proxy's "host:port", to use in place of the service's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every open connection and refuses new ones until Restore: to
// the code under test, the service is down.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.cut = true
	for c := range p.mu.conns {
		_ = c.Close()
	}
}

// Restore lets connections through again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.cut = false
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// track registers conns to be dropped by Cut; it fails if the proxy is cut.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.cut {
		return false
	}
	for _, c := range conns {
		p.mu.conns[c] = struct{}{}
	}
	return true
}

func (p *Proxy) untrack(conns ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range conns {
		delete(p.mu.conns, c)
		_ = c.Close()
	}
}

func (p *Proxy) serve(client net.Conn) {
	if !p.track(client) {
		_ = client.Close()
		return
	}
	server, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(server) {
		if server != nil {
			_ = server.Close()
		}
		p.untrack(client)
		return
	}
	// Either direction ending ends both: untrack closes the two sockets.
	p.wg.Go(func() {
		_, _ = io.Copy(server, client)
		p.untrack(client, server)
	})
	p.wg.Go(func() {
		_, _ = io.Copy(client, server)
		p.untrack(client, server)
	})
}

// RedisViaProxy is Redis with a Proxy in front: the URL points at the
// proxy, so the test can cut Redis off.
func RedisViaProxy(t testing.TB, db int) (rawURL, prefix string, proxy *Proxy) {
	t.Helper()
	rawURL, prefix = Redis(t, db)
	rawURL, proxy = viaProxy(t, rawURL, "6379")
	return rawURL, prefix, proxy
}

// PostgresViaProxy is Postgres with a Proxy in front: the URL points at the
// proxy, so the test can cut Postgres off.
func PostgresViaProxy(t testing.TB) (rawURL, schema string, proxy *Proxy) {
	t.Helper()
	rawURL, schema = Postgres(t)
	rawURL, proxy = viaProxy(t, rawURL, "5432")
	return rawURL, schema, proxy
}

// viaProxy starts a proxy to rawURL's host and returns the URL rewritten to
// go through it.
func viaProxy(t testing.TB, rawURL, defaultPort string) (string, *Proxy) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("service URL: %v", err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), defaultPort)
	}
	p := NewProxy(t, target)
	u.Host = p.Addr()
	return u.String(), p
}
