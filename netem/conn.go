package netem

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultLinger is how long Close waits, unless SetLinger says otherwise,
// for written data to be delivered before it closes the socket.
const DefaultLinger = time.Second

// Conn is a net.Conn whose directions are shaped by Links. Write queues a
// copy of the data and returns at once, as a write into a kernel buffer
// does; a pump goroutine writes it to the real connection when due.
// Another pump reads the real connection continuously and timestamps what
// it reads; Read returns it once due. Both pumps are started by Wrap and
// ended by Close, which waits for them.
//
// Its methods are safe for concurrent use.
type Conn struct {
	conn    net.Conn
	up      *pipe // what the local side writes; the up pump drains it into conn
	down    *pipe // what conn delivers; the down pump fills it, Read drains it
	stall   stall
	flushed chan struct{} // closed when the up pump has ended
	linger  atomic.Int64  // a time.Duration: how long Close waits for flushed
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeErr  error // conn.Close's, set once by the first Close
}

var _ net.Conn = (*Conn)(nil)

// Wrap shapes c: up delays what the local side writes, down what it
// reads. The returned Conn owns c and its two pumps are running (unlike a
// constructor that starts nothing, a Conn, like a dialed socket, is live
// from the start); the caller must Close it.
func Wrap(c net.Conn, up, down Link) *Conn { return wrap(c, up, down, 0) }

// wrap is Wrap for the n-th connection made with up and down, which gets
// jitter streams of its own.
func wrap(c net.Conn, up, down Link, n uint64) *Conn {
	w := &Conn{conn: c, flushed: make(chan struct{})}
	w.up = newPipe(up, &w.stall, streamID(n, dirUp))
	w.down = newPipe(down, &w.stall, streamID(n, dirDown))
	w.linger.Store(int64(DefaultLinger))
	w.wg.Go(w.pumpUp)
	w.wg.Go(func() { fill(w.down, c) })
	return w
}

// pumpUp delivers the written data to the socket until the stream ends:
// with a FIN after CloseWrite, silently once Close has called for the
// rest, or with the socket's write error, which later Writes return.
func (c *Conn) pumpUp() {
	defer close(c.flushed)
	switch err := drain(c.up, c.conn); err {
	case io.EOF:
		if err := c.conn.(closeWriter).CloseWrite(); err != nil { // CloseWrite checked the type
			c.up.fail(err)
		}
	case errLinger:
	default:
		c.up.fail(err)
	}
}

// Read reads data that has crossed the down link. It blocks until some is
// due, until the stream's end (io.EOF, or the socket's error, returned
// after all data received before it), or until the read deadline, when it
// returns an error whose Timeout method reports true. After Close it
// returns an error wrapping net.ErrClosed.
func (c *Conn) Read(b []byte) (int, error) {
	n, err := c.down.read(b)
	return n, c.opError("read", err)
}

// Write queues a copy of b for the up link and returns without waiting
// for delivery. It blocks only while 4 MiB are queued (the link is slow or
// stalled, or the peer does not read), until the write deadline, when it
// returns the count queued and an error whose Timeout method reports true.
// After Close or CloseWrite it returns an error wrapping net.ErrClosed;
// after the socket failed, the socket's error.
func (c *Conn) Write(b []byte) (int, error) {
	n, err := c.up.write(b)
	return n, c.opError("write", err)
}

// opError dresses the errors the pipes make up as the net package's, so
// that callers can test them the same way; the socket's pass through.
func (c *Conn) opError(op string, err error) error {
	if err != os.ErrDeadlineExceeded && err != net.ErrClosed {
		return err
	}
	return &net.OpError{Op: op, Net: c.conn.LocalAddr().Network(), Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: err}
}

// Close closes the connection. Like a socket's close it still delivers
// what was written, FIFO and shaped as usual, but it waits at most the
// linger time (DefaultLinger, see SetLinger) for that; what is still
// queued then, and everything not yet read, is dropped. It then closes the
// real connection and waits for both pumps to end. Blocked Reads and
// Writes return net.ErrClosed. Calling it again returns the first call's
// result.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.down.fail(net.ErrClosed)
		c.up.finish(errLinger, false)
		if d := time.Duration(c.linger.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-c.flushed:
			case <-t.C:
			}
			t.Stop()
		}
		c.up.fail(net.ErrClosed)
		c.closeErr = c.conn.Close() // ends a pump blocked on the socket
		c.wg.Wait()
	})
	return c.closeErr
}

// CloseWrite half-closes the connection: the real connection's write side
// is shut (a FIN is sent) after every byte written before, in order and
// shaped as usual, and CloseWrite returns without waiting for that. Later
// Writes fail. It returns an error wrapping errors.ErrUnsupported if the
// real connection cannot half-close.
func (c *Conn) CloseWrite() error {
	if _, ok := c.conn.(closeWriter); !ok {
		return &net.OpError{Op: "close", Net: c.conn.LocalAddr().Network(), Source: c.conn.LocalAddr(), Addr: c.conn.RemoteAddr(), Err: errors.ErrUnsupported}
	}
	if !c.up.finish(io.EOF, true) {
		return c.opError("close", net.ErrClosed)
	}
	return nil
}

// SetLinger sets how long Close waits for written data to be delivered; 0
// or less drops it at once.
func (c *Conn) SetLinger(d time.Duration) { c.linger.Store(int64(max(d, 0))) }

// Stall freezes both directions from now until now+d: nothing is
// delivered meanwhile, and what falls due or arrives during the stall is
// delivered when it ends, in order and at once. A stall that would end
// sooner than the current one does not shorten it.
func (c *Conn) Stall(d time.Duration) { c.stall.extend(d) }

// SetDeadline sets the read and write deadlines; see SetReadDeadline and
// SetWriteDeadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.down.setReadDeadline(t)
	c.up.setWriteDeadline(t)
	return nil
}

// SetReadDeadline sets when a Read, waiting or future, stops waiting for
// data to become due; the zero time means never. It applies to the local
// side only: the pump keeps reading the real connection.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.down.setReadDeadline(t)
	return nil
}

// SetWriteDeadline sets when a Write, waiting or future, stops waiting for
// room in the queue; the zero time means never. Queued data is delivered
// regardless.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.up.setWriteDeadline(t)
	return nil
}

// LocalAddr returns the real connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.conn.LocalAddr() }

// RemoteAddr returns the real connection's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.conn.RemoteAddr() }

// Dialer dials connections and shapes them with Up and Down (see Wrap).
// Its DialContext fits a NetDial option. Each connection it dials draws
// its own jitter, reproducibly with a Link Seed: the n-th connection of
// two Dialers with the same Links gets the same draws. It is safe for
// concurrent use and must not be copied after first use.
type Dialer struct {
	Up   Link // shapes what the dialing side writes
	Down Link // shapes what it reads
	// Dialer dials the real connections; nil means a zero net.Dialer.
	Dialer *net.Dialer

	n atomic.Uint64 // connections dialed
}

// DialContext dials addr with d.Dialer and returns the connection wrapped
// in a *Conn, which the caller must Close. Its errors are the
// net.Dialer's, unwrapped, so that they read and test the same.
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := d.Dialer
	if nd == nil {
		nd = &net.Dialer{}
	}
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return wrap(c, d.Up, d.Down, d.n.Add(1)-1), nil
}
