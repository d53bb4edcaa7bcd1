//go:build unix

package netcode

import (
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// takeFD takes the connection's socket out of Go's netpoller for the
// poller: it duplicates the descriptor and closes the connection, which
// unregisters its descriptor from epoll and closes that one only — the
// duplicate keeps the socket open, non-blocking as Go made it. Nothing
// then wakes the process when the client's frames arrive: the poller finds
// them at its next tick. c.pmu and c.mu must be held (no write, read or
// deadline is in flight on the connection), and the connection is not
// used again: returnFD replaces it.
func (c *socket) takeFD() (int, bool) {
	fd, derr := -1, error(nil)
	err := c.raw.Control(func(f uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, f, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	})
	if err != nil || derr != nil {
		return -1, false
	}
	_ = c.conn.Close()
	return fd, true
}

// returnFD registers the poller's descriptor with Go's netpoller again as
// the socket's connection (for gws's read loop, the writer's blocking
// writes and their deadlines), and closes the descriptor: the connection
// holds a duplicate of its own. A connection that cannot be made (out of
// descriptors) fails every call, ending the session. c.pmu must be held.
func (c *socket) returnFD() {
	f := os.NewFile(uintptr(c.poll.fd), "tcp")
	c.poll.fd = -1
	conn, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		conn = failedConn{fmt.Errorf("netcode: hand the socket back: %w", err)}
	}
	c.conn, c.raw = conn, nil
	if sc, ok := conn.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			c.raw = raw
		}
	}
}

// failedConn is a connection that could not be made: every call fails.
type failedConn struct{ err error }

func (c failedConn) Read([]byte) (int, error)         { return 0, c.err }
func (c failedConn) Write([]byte) (int, error)        { return 0, c.err }
func (c failedConn) Close() error                     { return nil }
func (c failedConn) LocalAddr() net.Addr              { return nil }
func (c failedConn) RemoteAddr() net.Addr             { return nil }
func (c failedConn) SetDeadline(time.Time) error      { return c.err }
func (c failedConn) SetReadDeadline(time.Time) error  { return c.err }
func (c failedConn) SetWriteDeadline(time.Time) error { return c.err }

// readFD makes one non-blocking read(2) into p, retrying only on EINTR. It
// returns what was read, and eagain when nothing was there; n ≤ 0 without
// eagain is the end of the stream or an error.
func readFD(fd int, p []byte) (n int, eagain bool) {
	for {
		n, err := syscall.Read(fd, p)
		switch err {
		case nil:
			return n, false
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, true
		}
		return -1, false
	}
}

// writeFD makes one non-blocking write(2) of p, retrying only on EINTR,
// and returns how much of p the kernel took (0 on EAGAIN or an error).
func writeFD(fd int, p []byte) int {
	for {
		n, err := syscall.Write(fd, p)
		if err == syscall.EINTR {
			continue
		}
		return max(n, 0)
	}
}
