package netem

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hang bounds every wait in these tests. It only catches hangs: timing is
// asserted by lower bounds, never by upper ones, because the machine is
// shared and noisy.
const hang = 10 * time.Second

// TestMain fails the run if any test left a pump running.
func TestMain(m *testing.M) {
	code := m.Run()
	if s := pumps(); code == 0 && s != "" {
		fmt.Fprintf(os.Stderr, "netem goroutines still running after the tests:\n%s\n", s)
		code = 1
	}
	os.Exit(code)
}

// pumps returns the stacks of the goroutines running netem's own code
// (pumps, accept loops), or "" if there are none.
func pumps() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var left []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for _, fn := range []string{"/netem.fill(", "/netem.drain(", "/netem.(*Conn).pumpUp(", "/netem.(*Proxy).accept(", "/netem.(*Proxy).serve("} {
			if strings.Contains(g, fn) {
				left = append(left, g)
				break
			}
		}
	}
	return strings.Join(left, "\n\n")
}

// checkNoPumps fails t if a netem goroutine is running. Callers have
// closed everything they opened and Close waits for the goroutines, so
// there is nothing to poll for.
func checkNoPumps(t *testing.T) {
	t.Helper()
	if s := pumps(); s != "" {
		t.Fatalf("goroutines left after Close:\n%s", s)
	}
}

// tcpPair returns the two ends of a loopback TCP connection, closed when
// the test ends.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	s := accept(t, ln)
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// accept accepts one connection on ln, closed when the test ends.
func accept(t testing.TB, ln net.Listener) net.Conn {
	t.Helper()
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(hang))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// wrapConn is Wrap, closed when the test ends without waiting for undelivered
// data.
func wrapConn(t testing.TB, c net.Conn, up, down Link) *Conn {
	t.Helper()
	w := Wrap(c, up, down)
	t.Cleanup(func() {
		w.SetLinger(0)
		_ = w.Close()
	})
	return w
}

// listen is Listen, closed when the test ends.
func listen(t testing.TB, target string, up, down Link) *Proxy {
	t.Helper()
	p, err := Listen(target, up, down)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// route is one shaped direction as a test sees it: it writes to w, and
// what it wrote comes out of r, shaped. Both can half-close.
type route struct {
	w, r  net.Conn
	stall func(time.Duration)
}

// paths are the four ways through netem: each direction of a Conn and of
// a Proxy connection, shaped by the Link given to open.
var paths = []struct {
	name string
	open func(t *testing.T, l Link) route
}{
	{"conn/up", func(t *testing.T, l Link) route {
		c, s := tcpPair(t)
		w := wrapConn(t, c, l, Link{})
		return route{w: w, r: s, stall: w.Stall}
	}},
	{"conn/down", func(t *testing.T, l Link) route {
		c, s := tcpPair(t)
		w := wrapConn(t, c, Link{}, l)
		return route{w: s, r: w, stall: w.Stall}
	}},
	{"proxy/up", func(t *testing.T, l Link) route {
		c, s, p := proxyPair(t, l, Link{})
		return route{w: c, r: s, stall: p.Stall}
	}},
	{"proxy/down", func(t *testing.T, l Link) route {
		c, s, p := proxyPair(t, Link{}, l)
		return route{w: s, r: c, stall: p.Stall}
	}},
}

// proxyPair returns a client connected through a Proxy and the target's
// end of the proxied connection.
func proxyPair(t *testing.T, up, down Link) (client, server net.Conn, p *Proxy) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	p = listen(t, ln.Addr().String(), up, down)
	client, err = net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client, accept(t, ln), p
}

// readTimed reads n messages of size bytes from r and returns when each
// one's last byte arrived.
func readTimed(t *testing.T, r net.Conn, n, size int) ([]byte, []time.Time) {
	t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(hang))
	buf := make([]byte, n*size)
	at := make([]time.Time, n)
	for got := 0; got < len(buf); {
		k, err := r.Read(buf[got:])
		now := time.Now()
		for i := got / size; i < n && (i+1)*size <= got+k; i++ {
			at[i] = now
		}
		got += k
		if err != nil {
			t.Fatalf("Read after %d of %d bytes: %v", got, len(buf), err)
		}
	}
	return buf, at
}

func TestLatencyLowerBound(t *testing.T) {
	tests := []struct {
		name       string
		give       Link
		msgs, size int
	}{
		{"latency", Link{Latency: 30 * time.Millisecond}, 5, 16},
		{"jitter", Link{Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1}, 20, 16},
		{"rate", Link{Rate: 200_000}, 2, 10_000}, // 100 ms on the wire
	}
	for _, pt := range paths {
		for _, tt := range tests {
			t.Run(pt.name+"/"+tt.name, func(t *testing.T) {
				rt := pt.open(t, tt.give)
				msg := make([]byte, tt.size)
				sent := make([]time.Time, tt.msgs)
				for i := range sent {
					sent[i] = time.Now()
					if _, err := rt.w.Write(msg); err != nil {
						t.Fatalf("Write: %v", err)
					}
				}
				_, at := readTimed(t, rt.r, tt.msgs, tt.size)
				floor := max(tt.give.Latency-tt.give.Jitter, 0)
				for i := range sent {
					if d := at[i].Sub(sent[i]); d < floor {
						t.Errorf("message %d arrived after %v, want ≥ %v", i, d, floor)
					}
				}
				if tt.give.Rate > 0 {
					wire := time.Duration(int64(tt.msgs*tt.size) * int64(time.Second) / tt.give.Rate)
					if d := at[tt.msgs-1].Sub(sent[0]); d < floor+wire {
						t.Errorf("all %d bytes arrived after %v, want ≥ %v", tt.msgs*tt.size, d, floor+wire)
					}
				}
			})
		}
	}
}

func TestJitterKeepsOrder(t *testing.T) {
	const writes = 1000
	link := Link{Latency: 2 * time.Millisecond, Jitter: 2 * time.Millisecond, Seed: 1}
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			rt := pt.open(t, link)
			var msg [4]byte
			for i := range writes {
				binary.BigEndian.PutUint32(msg[:], uint32(i))
				if _, err := rt.w.Write(msg[:]); err != nil {
					t.Fatalf("Write %d: %v", i, err)
				}
			}
			got, _ := readTimed(t, rt.r, writes, 4)
			for i := range writes {
				if seq := binary.BigEndian.Uint32(got[4*i:]); seq != uint32(i) {
					t.Fatalf("message %d has seq %d, want %d", i, seq, i)
				}
			}
		})
	}
}

func TestStallHoldsThenBursts(t *testing.T) {
	const stallFor = 150 * time.Millisecond
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			rt := pt.open(t, Link{Latency: 5 * time.Millisecond})
			start := time.Now()
			rt.stall(stallFor)
			for _, s := range []string{"a", "b", "c"} {
				if _, err := rt.w.Write([]byte(s)); err != nil {
					t.Fatalf("Write: %v", err)
				}
			}
			got, at := readTimed(t, rt.r, 3, 1)
			if string(got) != "abc" {
				t.Errorf("read %q, want %q", got, "abc")
			}
			if d := at[0].Sub(start); d < stallFor {
				t.Errorf("first byte arrived %v after the stall began, want ≥ %v", d, stallFor)
			}
		})
	}
}

// TestStallBurst checks, on a pipe, that what fell due during a stall and
// what arrived during it come out together when it ends.
func TestStallBurst(t *testing.T) {
	const latency = 20 * time.Millisecond
	var s stall
	p := newPipe(Link{Latency: latency}, &s, 0)
	t0 := monoNow()
	mustWrite(t, p, "a")
	s.extend(200 * time.Millisecond)
	end := s.end()
	mustWrite(t, p, "b")
	mustWrite(t, p, "c")
	t1 := monoNow()

	buf := make([]byte, 8)
	n, err := p.read(buf)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if now := monoNow(); now < end {
		t.Errorf("read returned %v before the stall's end", time.Duration(end-now))
	}
	// "a" fell due during the stall (unless this goroutine was descheduled
	// for longer than its latency), "b" and "c" arrived during it: when
	// all three were due before the end, they come out in one read.
	if t1+mono(latency) <= end {
		if string(buf[:n]) != "abc" {
			t.Errorf("first read after the stall = %q, want %q", buf[:n], "abc")
		}
	} else {
		t.Logf("writes took %v, longer than the stall: not checking the burst", time.Duration(t1-t0))
	}
}

func mustWrite(t *testing.T, p *pipe, s string) {
	t.Helper()
	if _, err := p.write([]byte(s)); err != nil {
		t.Fatalf("write(%q): %v", s, err)
	}
}

// TestHalfClose checks that a FIN follows the data written before it on
// every path (the close frame then FIN of a WebSocket close), and that the
// other direction still works afterwards.
func TestHalfClose(t *testing.T) {
	payload := bytes.Repeat([]byte("0123456789abcdef"), 200_000/16)
	link := Link{Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond, Seed: 3}
	for _, pt := range paths {
		t.Run(pt.name, func(t *testing.T) {
			rt := pt.open(t, link)
			if _, err := rt.w.Write(payload); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if err := rt.w.(closeWriter).CloseWrite(); err != nil {
				t.Fatalf("CloseWrite: %v", err)
			}
			got := readAll(t, rt.r)
			if !bytes.Equal(got, payload) {
				t.Fatalf("read %d bytes before EOF, want the %d written", len(got), len(payload))
			}

			if _, err := rt.r.Write([]byte("bye")); err != nil {
				t.Fatalf("Write back: %v", err)
			}
			if err := rt.r.(closeWriter).CloseWrite(); err != nil {
				t.Fatalf("CloseWrite back: %v", err)
			}
			if got := readAll(t, rt.w); string(got) != "bye" {
				t.Errorf("read back %q before EOF, want %q", got, "bye")
			}
		})
	}
}

// readAll reads r to EOF; any other error fails the test.
func readAll(t *testing.T, r net.Conn) []byte {
	t.Helper()
	_ = r.SetReadDeadline(time.Now().Add(hang))
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read to EOF: got %d bytes, then %v", len(b), err)
	}
	return b
}

func TestCloseLingers(t *testing.T) {
	t.Run("delivers", func(t *testing.T) {
		c, s := tcpPair(t)
		w := Wrap(c, Link{Latency: 30 * time.Millisecond}, Link{})
		if _, err := w.Write([]byte("close frame")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := readAll(t, s); string(got) != "close frame" {
			t.Errorf("peer read %q, want %q", got, "close frame")
		}
	})
	t.Run("drops with zero linger", func(t *testing.T) {
		c, s := tcpPair(t)
		w := Wrap(c, Link{}, Link{})
		w.Stall(time.Hour)
		w.SetLinger(0)
		if _, err := w.Write([]byte("lost")); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if got := readAll(t, s); len(got) != 0 {
			t.Errorf("peer read %q, want nothing", got)
		}
	})
}

func TestProxyCutRestore(t *testing.T) {
	target := echoServer(t)
	p := listen(t, target, Link{Latency: time.Millisecond}, Link{Latency: time.Millisecond})

	c1 := dialEcho(t, p.Addr())
	p.Cut()
	if err := readFails(c1); err != nil {
		t.Errorf("open connection after Cut: %v", err)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatalf("dial during Cut: %v", err) // accepted, then closed
	}
	defer c2.Close()
	if err := readFails(c2); err != nil {
		t.Errorf("new connection during Cut: %v", err)
	}
	p.Restore()
	dialEcho(t, p.Addr())
}

// echoServer serves an echo on a loopback port until the test ends, and
// waits for its goroutines then.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			})
		}
	})
	return ln.Addr().String()
}

// dialEcho dials an echo server at addr and checks that it echoes.
func dialEcho(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(hang))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("echo = %q, %v; want %q", buf, err, "ping")
	}
	return c
}

// readFails reports an error unless reading c ends the connection (EOF or
// reset) rather than timing out.
func readFails(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(hang))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	switch {
	case err == nil:
		return fmt.Errorf("read %d bytes, want the connection closed", n)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("read timed out, want the connection closed")
	}
	return nil
}

func TestDeadlines(t *testing.T) {
	t.Run("read expires", func(t *testing.T) {
		c, _ := tcpPair(t)
		w := wrapConn(t, c, Link{}, Link{})
		start := time.Now()
		_ = w.SetReadDeadline(start.Add(50 * time.Millisecond))
		_, err := w.Read(make([]byte, 1))
		checkTimeout(t, "Read", err)
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("Read timed out after %v, want ≥ 50ms", d)
		}
	})
	t.Run("read deadline moved earlier", func(t *testing.T) {
		c, _ := tcpPair(t)
		w := wrapConn(t, c, Link{}, Link{})
		_ = w.SetReadDeadline(time.Now().Add(time.Hour))
		done := goRead(w)
		waitBlocked(t, w.down)
		_ = w.SetReadDeadline(time.Now())
		checkTimeout(t, "Read", waitErr(t, done))
	})
	t.Run("read deadline cleared", func(t *testing.T) {
		c, s := tcpPair(t)
		w := wrapConn(t, c, Link{}, Link{})
		_ = w.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		done := goRead(w)
		waitBlocked(t, w.down)
		_ = w.SetReadDeadline(time.Time{})
		// Let the cleared deadline pass: here time passing is the point.
		time.Sleep(60 * time.Millisecond)
		if _, err := s.Write([]byte("x")); err != nil {
			t.Fatalf("peer Write: %v", err)
		}
		if err := waitErr(t, done); err != nil {
			t.Errorf("Read = %v, want data", err)
		}
	})
	t.Run("write expires", func(t *testing.T) {
		c, _ := tcpPair(t)
		w := wrapConn(t, c, Link{}, Link{})
		w.Stall(time.Hour) // nothing drains: the queue fills
		start := time.Now()
		_ = w.SetWriteDeadline(start.Add(50 * time.Millisecond))
		n, err := w.Write(make([]byte, maxQueued+1))
		checkTimeout(t, "Write", err)
		if n != maxQueued {
			t.Errorf("Write queued %d bytes, want %d", n, maxQueued)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("Write timed out after %v, want ≥ 50ms", d)
		}
	})
	t.Run("write deadline moved earlier", func(t *testing.T) {
		c, _ := tcpPair(t)
		w := wrapConn(t, c, Link{}, Link{})
		w.Stall(time.Hour)
		done := make(chan error, 1)
		go func() { // ends when the deadline moves, or at Close
			_, err := w.Write(make([]byte, maxQueued+1))
			done <- err
		}()
		waitFull(t, w.up)
		_ = w.SetDeadline(time.Now())
		checkTimeout(t, "Write", waitErr(t, done))
	})
}

// goRead starts a one-byte Read of c; the channel gets its error.
func goRead(c net.Conn) <-chan error {
	done := make(chan error, 1)
	go func() { // ends when the Read returns, at the latest at Close
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	return done
}

// waitErr waits for an error from done.
func waitErr(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(hang):
		t.Fatalf("still blocked after %v", hang)
		return nil
	}
}

// waitFull polls until p is full: its producer is blocked, or about to
// block.
func waitFull(t *testing.T, p *pipe) {
	t.Helper()
	for start := time.Now(); time.Since(start) < hang; time.Sleep(time.Millisecond) {
		if p.queued() == maxQueued {
			return
		}
	}
	t.Fatalf("pipe not full after %v", hang)
}

// waitBlocked polls until someone waits on p. Use it only where one side
// of p can wait: a pump waits on an empty pipe too.
func waitBlocked(t *testing.T, p *pipe) {
	t.Helper()
	for start := time.Now(); time.Since(start) < hang; time.Sleep(time.Millisecond) {
		p.mu.Lock()
		waiting := p.mu.wake != nil
		p.mu.Unlock()
		if waiting {
			return
		}
	}
	t.Fatalf("no one blocked on the pipe after %v", hang)
}

func checkTimeout(t *testing.T, op string, err error) {
	t.Helper()
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s = %v, want a timeout (os.ErrDeadlineExceeded)", op, err)
	}
}

func checkClosed(t *testing.T, op string, err error) {
	t.Helper()
	if !errors.Is(err, net.ErrClosed) {
		t.Errorf("%s = %v, want net.ErrClosed", op, err)
	}
}

func TestClose(t *testing.T) {
	t.Run("idle conn", func(t *testing.T) {
		c, _ := tcpPair(t)
		w := Wrap(c, Link{Latency: time.Millisecond}, Link{Latency: time.Millisecond})
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkNoPumps(t)
		_, err := w.Write([]byte("x"))
		checkClosed(t, "Write after Close", err)
		_, err = w.Read(make([]byte, 1))
		checkClosed(t, "Read after Close", err)
		if err := w.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
	})
	t.Run("waits for the pumps", func(t *testing.T) {
		c, _ := tcpPair(t)
		lc := &lateConn{Conn: c}
		w := Wrap(lc, Link{}, Link{})
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := lc.inside.Load(); n != 0 {
			t.Errorf("Close returned with %d pump(s) still in a Read of the socket", n)
		}
	})
	t.Run("blocked read and write", func(t *testing.T) {
		c, s := tcpPair(t)
		w := Wrap(c, Link{}, Link{Latency: time.Millisecond})
		w.Stall(time.Hour)
		w.SetLinger(0)
		if _, err := s.Write([]byte("queued down")); err != nil {
			t.Fatalf("peer Write: %v", err)
		}
		read := goRead(w)
		wrote := make(chan error, 1)
		go func() { // ends at Close
			_, err := w.Write(make([]byte, maxQueued+1))
			wrote <- err
		}()
		waitFull(t, w.up)
		waitBlocked(t, w.down)
		if err := w.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkNoPumps(t)
		checkClosed(t, "blocked Read", waitErr(t, read))
		checkClosed(t, "blocked Write", waitErr(t, wrote))
	})
	t.Run("busy proxy", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		defer ln.Close()
		p, err := Listen(ln.Addr().String(), Link{Latency: time.Millisecond}, Link{})
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		p.Stall(time.Hour)
		var conns []net.Conn
		for range 3 {
			c, err := net.Dial("tcp", p.Addr())
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			accept(t, ln)
			if _, err := c.Write(make([]byte, 100_000)); err != nil {
				t.Fatalf("Write: %v", err)
			}
			conns = append(conns, c)
		}
		if err := p.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		checkNoPumps(t)
		for i, c := range conns {
			if err := readFails(c); err != nil {
				t.Errorf("connection %d after Close: %v", i, err)
			}
		}
		if c, err := net.Dial("tcp", p.Addr()); err == nil {
			c.Close()
			t.Errorf("dial after Close succeeded, want refused")
		}
	})
}

// lateConn is a socket whose Read fails late: a Close that does not wait
// for the pump reading it returns while the pump is still inside.
type lateConn struct {
	net.Conn
	inside atomic.Int32 // Reads in progress
}

func (c *lateConn) Read(b []byte) (int, error) {
	c.inside.Add(1)
	defer c.inside.Add(-1)
	n, err := c.Conn.Read(b)
	if err != nil {
		time.Sleep(20 * time.Millisecond) // the lateness being modelled, not a synchronisation
	}
	return n, err
}

func TestDialer(t *testing.T) {
	var _ func(context.Context, string, string) (net.Conn, error) = (&Dialer{}).DialContext

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()
	d := &Dialer{Up: Link{Latency: 20 * time.Millisecond}}
	c, err := d.DialContext(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("DialContext: %v", err)
	}
	defer c.Close()
	if _, ok := c.(*Conn); !ok {
		t.Errorf("DialContext returned a %T, want a *netem.Conn", c)
	}
	s := accept(t, ln)
	if got, want := c.LocalAddr().String(), s.RemoteAddr().String(); got != want {
		t.Errorf("LocalAddr = %s, want %s", got, want)
	}
	start := time.Now()
	if _, err := c.Write([]byte("hi")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	_, at := readTimed(t, s, 1, 2)
	if d := at[0].Sub(start); d < 20*time.Millisecond {
		t.Errorf("arrived after %v, want ≥ 20ms", d)
	}

	_ = ln.Close()
	if c, err := d.DialContext(t.Context(), "tcp", ln.Addr().String()); err == nil {
		c.Close()
		t.Errorf("DialContext to a closed port succeeded")
	}
}

func TestJitterStreams(t *testing.T) {
	l := Link{Latency: 10 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 42}
	draws := func(l Link, stream uint64) []int64 {
		r := l.rng(stream)
		out := make([]int64, 100)
		for i := range out {
			out[i] = r.Int64N(1 << 40)
		}
		return out
	}
	if a, b := draws(l, streamID(3, dirUp)), draws(l, streamID(3, dirUp)); !equal(a, b) {
		t.Errorf("same seed and stream gave different draws")
	}
	if a, b := draws(l, streamID(3, dirUp)), draws(l, streamID(3, dirDown)); equal(a, b) {
		t.Errorf("the two directions of a connection drew the same jitter")
	}
	if a, b := draws(l, streamID(3, dirUp)), draws(l, streamID(4, dirUp)); equal(a, b) {
		t.Errorf("two connections drew the same jitter")
	}
	l.Seed = 0
	if a, b := draws(l, 0), draws(l, 0); equal(a, b) {
		t.Errorf("Seed 0 gave the same draws twice, want random seeds")
	}

	// Each delay stays within [Latency-Jitter, Latency+Jitter] before the
	// FIFO floor lifts it, and dues never go backwards.
	l.Seed = 7
	p := newPipe(l, &stall{}, 0)
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := mono(0)
	for i := range 1000 {
		now := mono(i) * mono(time.Microsecond)
		due := p.dueLocked(now, 1)
		if due < prev || due < now+mono(l.Latency-l.Jitter) || due > max(prev, now+mono(l.Latency+l.Jitter)) {
			t.Fatalf("chunk %d at %v due at %v after %v: out of bounds", i, now, due, prev)
		}
		prev = due
	}
}

func equal(a, b []int64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func BenchmarkConn(b *testing.B) {
	const size = 32 << 10
	b.Run("dir=up", func(b *testing.B) {
		c, s := tcpPair(b)
		w := Wrap(c, Link{}, Link{})
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = io.Copy(io.Discard, s) }) // ends at w's FIN
		buf := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := w.Write(buf); err != nil {
				b.Fatalf("Write: %v", err)
			}
		}
		if err := w.Close(); err != nil { // delivers the queue: counted
			b.Fatalf("Close: %v", err)
		}
		wg.Wait()
	})
	b.Run("dir=down", func(b *testing.B) {
		c, s := tcpPair(b)
		w := Wrap(c, Link{}, Link{})
		var wg sync.WaitGroup
		wg.Go(func() { // ends when w closes
			buf := make([]byte, size)
			for {
				if _, err := s.Write(buf); err != nil {
					return
				}
			}
		})
		buf := make([]byte, size)
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := io.ReadFull(w, buf); err != nil {
				b.Fatalf("Read: %v", err)
			}
		}
		w.SetLinger(0)
		_ = w.Close()
		_ = s.Close()
		wg.Wait()
	})
}
