package bench

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
)

// countReads wraps conn so that it counts the bytes read into n. On Linux a
// TCP connection is read through its raw descriptor, one read(2) per
// arrival: the usual net.Conn reads until the socket says EAGAIN, which
// costs a second read(2) per snapshot that finds nothing, a sixth of the
// generator's system time. Here a read that fills less than the buffer
// is taken to have emptied the socket (Linux's TCP copies everything
// queued, up to the buffer), and the next Read waits for the socket to be
// readable before it reads: data that arrives later raises a new edge of
// the poller. A read that fills the buffer reads again at once. Deadlines
// and Close work as on the wrapped connection (the runtime's poller does
// the waiting).
func countReads(conn net.Conn, n *atomic.Uint64) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return &countingConn{Conn: conn, n: n}
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return &countingConn{Conn: conn, n: n}
	}
	c := &rawReadConn{Conn: tc, raw: raw, n: n}
	c.readFn = c.readOnce
	return c
}

// rawReadConn is a TCP connection read through its raw descriptor (see
// countReads). Read is not safe for concurrent use, which a WebSocket's
// single reader does not need.
type rawReadConn struct {
	net.Conn
	raw syscall.RawConn
	n   *atomic.Uint64
	// emptied reports that the last read left the socket empty: the next
	// one waits for it to be readable first.
	emptied bool

	// One read's state, for readFn (c.readOnce, made once: a closure
	// per Read would be allocated, the poller keeps it).
	readFn func(fd uintptr) bool
	p      []byte
	wait   bool
	rn     int
	rerr   error
}

// readOnce is the raw read: it asks the poller to wait first if wait is
// set, and reports whether the read is done (not EAGAIN).
func (c *rawReadConn) readOnce(fd uintptr) bool {
	if c.wait {
		c.wait = false
		return false // wait until readable, then come back
	}
	for {
		c.rn, c.rerr = syscall.Read(int(fd), c.p)
		if c.rerr != syscall.EINTR {
			break
		}
	}
	return c.rerr != syscall.EAGAIN
}

func (c *rawReadConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.p, c.wait, c.rn, c.rerr = p, c.emptied, 0, nil
	err := c.raw.Read(c.readFn)
	n, errno := c.rn, c.rerr
	c.p, c.emptied = nil, false
	switch {
	case err != nil: // closed, or a deadline
		return 0, err
	case errno != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
	case n <= 0:
		return 0, io.EOF
	}
	c.emptied = n < len(p)
	c.n.Add(uint64(n))
	return n, nil
}
