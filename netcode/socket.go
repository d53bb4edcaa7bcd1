package netcode

import (
	"encoding/binary"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
)

// socket is a session's connection as gws sees it: every byte the server
// sends the client goes through Write (gws's frames: control frames, queued
// messages, the close frame) or tryFrame (snapshots), and the mutex keeps
// them whole and in order.
//
// tryFrame is the hot path. A snapshot goes out with one non-blocking write
// on the goroutine that offers it — the match's tick — with no hand-off to
// the session's writer goroutine, no wake-up and no deadline to set: at
// thousands of clients those cost as much as the rest of the server
// together. When the kernel takes only part of the frame, the rest is kept
// as the tail, and whoever writes next (the writer, woken for it) sends it
// first.
type socket struct {
	net.Conn
	raw syscall.RawConn // nil if the connection has no descriptor: tryFrame always defers

	mu   sync.Mutex
	tail []byte // the unwritten end of the frame tryFrame began
	buf  []byte // the frame tryFrame writes; tail points into it
	n    int    // what the last write of buf wrote; set by writeBuf
	// writeBuf is the method value c.writeOnce, made once: a closure made
	// per write would escape to the heap through RawConn.Write.
	writeBuf func(fd uintptr) bool
	// pending is len(tail), for Session.Pending, which must not wait for mu
	// while a writer is blocked holding it.
	pending atomic.Int64
}

func newSocket(c net.Conn) *socket {
	s := &socket{Conn: c}
	s.writeBuf = s.writeOnce
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw = raw
		}
	}
	return s
}

// Write writes p after the tail, if any, blocking until done or the write
// deadline. gws writes every frame it sends through it.
func (c *socket) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// flush writes the tail, if any, blocking until done or the write deadline.
func (c *socket) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushLocked()
}

func (c *socket) flushLocked() error {
	if len(c.tail) == 0 {
		return nil
	}
	n, err := c.Conn.Write(c.tail)
	c.tail = c.tail[n:]
	c.pending.Store(int64(len(c.tail)))
	return err
}

// tryResult is what became of a frame offered to tryFrame.
type tryResult int

const (
	// frameDeferred: nothing was written — another write holds the
	// socket, a tail waits, the kernel's buffer is full or the socket
	// failed. The caller hands the frame to the writer, which blocks
	// (under the write deadline) and meets any error itself.
	frameDeferred tryResult = iota
	// frameSent: the whole frame is written.
	frameSent
	// frameTail: part of the frame is written and the rest is the tail;
	// the caller must wake the writer to flush it.
	frameTail
)

// tryFrame writes payload as one binary WebSocket frame with a single
// non-blocking write. It never waits: not for the mutex, not for the
// kernel.
func (c *socket) tryFrame(payload []byte) tryResult {
	if c.raw == nil || !c.mu.TryLock() {
		return frameDeferred
	}
	defer c.mu.Unlock()
	if len(c.tail) > 0 {
		return frameDeferred
	}
	c.buf = append(appendFrameHeader(c.buf[:0], len(payload)), payload...)
	c.n = 0
	err := c.raw.Write(c.writeBuf)
	n := c.n
	switch {
	case err != nil || n <= 0:
		return frameDeferred
	case n < len(c.buf):
		c.tail = c.buf[n:]
		c.pending.Store(int64(len(c.tail)))
		return frameTail
	}
	return frameSent
}

// writeOnce makes one write(2) of buf. EAGAIN, EINTR or a broken socket
// all leave n ≤ 0: nothing written, the frame is deferred. It reports true
// so that RawConn.Write returns at once, never waiting for the socket to
// drain.
func (c *socket) writeOnce(fd uintptr) bool {
	c.n, _ = syscall.Write(int(fd), c.buf)
	return true
}

// appendFrameHeader appends the header of an unmasked, final, binary
// WebSocket frame (RFC 6455 §5.2) — what a server sends — carrying n bytes.
// gws frames the same way when compression is off, which the server never
// negotiates.
func appendFrameHeader(b []byte, n int) []byte {
	const finBinary = 0x80 | 0x2
	switch {
	case n < 126:
		return append(b, finBinary, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, finBinary, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, finBinary, 127), uint64(n))
}
