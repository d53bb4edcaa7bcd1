package netem

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// dialTimeout bounds the proxy's dial to its target.
const dialTimeout = 10 * time.Second

// Proxy is a TCP proxy on a loopback port that forwards every connection
// to a target address through shaped links, for code that can only be
// given an address. It can stall the link, and cut it (the target seems
// down) and restore it. Half-closes pass through: a FIN from one side
// reaches the other after everything sent before it. A reset or error on
// one side is passed on by closing the other, after what was queued from
// the failing side has been delivered.
//
// Listen starts it; Close stops it and waits for its goroutines. Its
// methods are safe for concurrent use.
type Proxy struct {
	ln       net.Listener
	target   string
	up, down Link
	stall    stall // shared by every connection
	wg       sync.WaitGroup

	closeOnce sync.Once
	closeErr  error

	mu struct {
		sync.Mutex
		cut    bool
		closed bool
		n      uint64 // connections accepted, for their jitter streams
		conns  map[*proxyConn]struct{}
	}
}

// proxyConn is one proxied connection: client is the accepted socket,
// server the one dialed to the target. It is in Proxy.mu.conns from accept
// until drop; server is set, under Proxy.mu, only while it is there.
type proxyConn struct {
	client net.Conn
	server net.Conn
	cancel context.CancelFunc // aborts the dial to the target
	up     *pipe              // client → target
	down   *pipe              // target → client
	halves int                // directions ended by a FIN; guarded by Proxy.mu
}

// Listen starts a proxy on 127.0.0.1 forwarding to target ("host:port"),
// up shaping what clients send to the target and down what the target
// sends back; each connection draws its own jitter. The proxy runs until
// Close, which the caller must call.
func Listen(target string, up, down Link) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("netem: listen for %s: %w", target, err)
	}
	p := &Proxy{ln: ln, target: target, up: up, down: down}
	p.mu.conns = make(map[*proxyConn]struct{})
	p.wg.Go(p.accept)
	return p, nil
}

// Addr is the proxy's "host:port", to use in place of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut drops every open connection and refuses new ones (they are accepted
// and closed at once) until Restore: to its clients the target is down.
// Data in flight is lost.
func (p *Proxy) Cut() { p.dropAll(func() { p.mu.cut = true }) }

// dropAll runs mark under the proxy's lock (to refuse new connections) and
// closes every open connection.
func (p *Proxy) dropAll(mark func()) {
	p.mu.Lock()
	mark()
	conns := p.takeLocked()
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}

// Restore lets new connections through again after Cut.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mu.cut = false
}

// Stall freezes the link from now until now+d, both directions of every
// connection, including those opened meanwhile: nothing is delivered, and
// what falls due or arrives during the stall is delivered when it ends, in
// order and at once. A stall that would end sooner than the current one
// does not shorten it.
func (p *Proxy) Stall(d time.Duration) { p.stall.extend(d) }

// Close stops accepting, drops every connection and waits for all of the
// proxy's goroutines. It returns the listener's close error; calling it
// again returns the same.
func (p *Proxy) Close() error {
	p.closeOnce.Do(func() {
		p.closeErr = p.ln.Close()
		p.dropAll(func() { p.mu.closed = true })
		p.wg.Wait()
	})
	return p.closeErr
}

// takeLocked empties the connection set and returns what was in it, for
// the caller to close. p.mu must be held.
func (p *Proxy) takeLocked() []*proxyConn {
	conns := make([]*proxyConn, 0, len(p.mu.conns))
	for pc := range p.mu.conns {
		conns = append(conns, pc)
	}
	clear(p.mu.conns)
	return conns
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed by Close
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// serve dials the target for an accepted client and starts the
// connection's four pumps, or closes the client if the proxy is cut or the
// dial fails.
func (p *Proxy) serve(client net.Conn) {
	p.mu.Lock()
	if p.mu.cut || p.mu.closed {
		p.mu.Unlock()
		_ = client.Close()
		return
	}
	n := p.mu.n
	p.mu.n++
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	pc := &proxyConn{
		client: client,
		cancel: cancel,
		up:     newPipe(p.up, &p.stall, streamID(n, dirUp)),
		down:   newPipe(p.down, &p.stall, streamID(n, dirDown)),
	}
	p.mu.conns[pc] = struct{}{}
	p.mu.Unlock()

	var d net.Dialer
	server, err := d.DialContext(ctx, "tcp", p.target)
	if err != nil {
		p.drop(pc)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.mu.conns[pc]; !ok { // cut or closed while dialing
		_ = server.Close()
		return
	}
	pc.server = server
	p.wg.Go(func() { fill(pc.up, client) })
	p.wg.Go(func() { p.deliver(pc, drain(pc.up, server), server) })
	p.wg.Go(func() { fill(pc.down, server) })
	p.wg.Go(func() { p.deliver(pc, drain(pc.down, client), client) })
}

// deliver ends one direction of pc once its pipe has been drained into
// dst: a FIN is passed on as dst.CloseWrite, and the connection is dropped
// once both directions have ended so; anything else (a reset, a failed
// write, a drop) drops it at once.
func (p *Proxy) deliver(pc *proxyConn, err error, dst net.Conn) {
	if err == io.EOF {
		if cw, ok := dst.(closeWriter); ok && cw.CloseWrite() == nil {
			p.mu.Lock()
			pc.halves++
			done := pc.halves == 2
			p.mu.Unlock()
			if !done {
				return
			}
		}
	}
	p.drop(pc)
}

// drop removes pc from the proxy and closes it, unless Cut or Close got
// there first.
func (p *Proxy) drop(pc *proxyConn) {
	p.mu.Lock()
	_, ok := p.mu.conns[pc]
	delete(p.mu.conns, pc)
	p.mu.Unlock()
	if ok {
		pc.close()
	}
}

// close aborts the dial, kills both pipes (waking their pumps) and closes
// both sockets (ending pumps blocked on them). It is called once, by
// whoever took pc out of the proxy's set, after which server no longer
// changes.
func (pc *proxyConn) close() {
	pc.cancel()
	pc.up.fail(net.ErrClosed)
	pc.down.fail(net.ErrClosed)
	_ = pc.client.Close()
	if pc.server != nil {
		_ = pc.server.Close()
	}
}
