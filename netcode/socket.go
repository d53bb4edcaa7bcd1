package netcode

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lxzan/gws"
)

// defaultLinger bounds how long a socket keeps reading, and discarding,
// after the server's close frame (see socket.Close), unless
// Config.Linger says otherwise.
const defaultLinger = time.Second

// socket is a session's connection as gws sees it: every byte the server
// sends the client goes through Write (gws's frames: control frames, queued
// messages, the close frame) or tryFrame (snapshots, messages and pings
// sent while nothing waits), every byte gws reads through Read.
//
// tryFrame is the hot path. A snapshot goes out with one non-blocking write
// on the goroutine that offers it — the match's tick — with no hand-off to
// a writer goroutine, no wake-up and no deadline to set: at thousands of
// clients those cost as much as the rest of the server together. When the
// kernel takes only part of the frame, the rest is kept as the tail, and
// whoever writes next (the session's writer, started for it) sends it
// first.
//
// Tick-driven reads (poll.go, Session.Poll): a match that reads its
// players' sockets at its ticks takes the socket over from gws's read
// goroutine, which parks in Read at a frame boundary, and reads it with
// non-blocking read(2)s of its own. Anything out of the ordinary hands the
// socket back for good (handBackLocked): gws's read goroutine resumes with
// the bytes read but not yet parsed, and everything runs as without
// polling. The socket is in one of three phases:
//
//	phaseGws    gws reads; a poller may ask for the socket (requestPoll)
//	phasePolled the poller reads; gws's read goroutine is parked in Read,
//	            or not started yet (adopt: the reactor reads from the first byte)
//	phaseBack   handed back: gws reads, for good
//
// Two mutexes, taken in this order when both are: mu keeps the frames
// written whole and in order, and may be held for a whole blocking write;
// pmu owns the connection — its phase, its descriptor, the net.Conn and
// its deadlines — and is never held across a blocking call, so that
// neither the read side nor a close waits for a stuck writer.
//
// Closing lingers (docs/protocol.md "Closing"). gws closes the connection right
// after writing its close frame; if the client's frames were still unread
// then, the kernel would answer with a reset, which can destroy the close
// frame — and the Kick before it — before the client reads them. So Close
// only half-closes: the close frame is followed by FIN, the read side
// stays open, and the session's read loop goes on reading and discarding
// until the client closes too, its stream ends, or the linger passes;
// then finish closes the socket for good.
//
// Every close frame passes Write, so it is also where a close gws decides
// on its own (a frame header announcing a payload beyond the hard limit, a
// frame that breaks WebSocket framing, a read deadline) gets the Kick the
// protocol promises: onClose, set by the session, may replace the frame.
type socket struct {
	remote, local net.Addr // the connection's, fixed at creation
	// hasFD: the connection has a descriptor (raw is not nil); fixed at
	// creation. Without one tryFrame always defers, and nobody polls.
	hasFD bool

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

	// onClose is offered the close code of every close frame written; it
	// returns the bytes to write instead (a Kick and a close frame), or nil
	// to write the frame as it is. Set before the connection is used;
	// called with mu held.
	onClose func(code uint16) []byte
	// shut is set by Close: the close frame has gone out, nothing more may
	// be written, and the read side lingers until lingerUntil. Under mu;
	// lingering mirrors it for the read side, lingerUntil set before.
	shut        bool
	lingering   atomic.Bool
	lingerUntil time.Time
	linger      time.Duration // set before use; default defaultLinger

	// pmu guards the connection (see the type's doc).
	pmu  sync.Mutex
	conn net.Conn        // replaced by a hand-back (poll.go); under pmu
	raw  syscall.RawConn // conn's; nil if it has no descriptor
	// The deadlines last set, under pmu: while the socket is polled the
	// connection's are not in force, and a hand-back sets them again.
	readDeadline, writeDeadline time.Time
	poll                        pollState // under pmu

	// phase mirrors poll.phase, for checks without pmu: Poll's on every
	// tick, a close's.
	phase atomic.Int32
	// asked: a poller has asked for the socket (requestPoll), once.
	asked atomic.Bool
	// ending: the session is closing; the socket is never taken over from
	// now on (see handBack).
	ending atomic.Bool
}

func newSocket(c net.Conn) *socket {
	s := &socket{conn: c, linger: defaultLinger}
	s.writeBuf = s.writeOnce
	s.poll.fd = -1
	if c != nil {
		s.remote, s.local = c.RemoteAddr(), c.LocalAddr()
	}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			s.raw, s.hasFD = raw, true
		}
	}
	return s
}

// RemoteAddr returns the client's address.
func (c *socket) RemoteAddr() net.Addr { return c.remote }

// LocalAddr returns the server's address of the connection.
func (c *socket) LocalAddr() net.Addr { return c.local }

// Read reads what the client sent, for gws's read loop. While the socket
// is polled it parks; after a hand-back it returns first what the poller
// read but did not parse. A poller's request is granted here, before a
// read, when gws has parsed every byte it was given up to a frame's end
// (see detachLocked).
func (c *socket) Read(p []byte) (int, error) {
	for {
		c.pmu.Lock()
		switch c.poll.phase {
		case phasePolled:
			resumed := c.poll.resumed
			c.pmu.Unlock()
			<-resumed
			continue
		case phaseBack:
			if len(c.poll.left) > 0 {
				n := copy(p, c.poll.left)
				c.poll.left = c.poll.left[n:]
				c.pmu.Unlock()
				return n, nil
			}
		case phaseGws:
			if c.poll.wanted && c.poll.frames.boundary() && c.detachLocked() {
				c.pmu.Unlock()
				if c.ending.Load() {
					c.handBack() // the session began closing meanwhile
				}
				continue
			}
		}
		conn := c.conn
		c.pmu.Unlock()

		n, err := conn.Read(p)

		c.pmu.Lock()
		if c.poll.phase == phaseGws {
			c.poll.frames.feed(p[:n])
		}
		if err != nil && c.poll.kicked && isTimeout(err) {
			// requestPoll's wake-up: back to the top, where the socket
			// is handed over if gws is between frames.
			c.poll.kicked = false
			c.applyReadDeadlineLocked()
			c.pmu.Unlock()
			if n > 0 {
				return n, nil
			}
			continue
		}
		c.pmu.Unlock()
		return n, err
	}
}

// Write writes p after the tail, if any, blocking until done or the write
// deadline. gws writes every frame it sends through it, each in one call;
// a close frame may be replaced by what onClose returns.
func (c *socket) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shut {
		return 0, net.ErrClosed
	}
	if err := c.flushLocked(); err != nil {
		return 0, err
	}
	if code, ok := closeFrameCode(p); ok && c.onClose != nil {
		if repl := c.onClose(code); repl != nil {
			if _, err := c.writeLocked(repl); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.writeLocked(p)
}

// writeLocked writes p, blocking until done or the write deadline. While
// polled it makes one non-blocking write first; what the kernel does not
// take then is written after a hand-back, as without polling. c.mu must be
// held.
func (c *socket) writeLocked(p []byte) (int, error) {
	n := 0
	c.pmu.Lock()
	if c.poll.phase == phasePolled {
		n = writeFD(c.poll.fd, p)
		if n == len(p) {
			c.pmu.Unlock()
			return n, nil
		}
		c.handBackLocked()
	}
	conn := c.conn
	c.pmu.Unlock()
	m, err := conn.Write(p[n:])
	return n + m, err
}

// Close ends the sending side after what was written — the close frame —
// with FIN, and leaves the read side open for at most the linger (see
// the type's doc); finish closes the connection. A connection that cannot
// half-close is closed at once. A polled socket is handed back first: gws's
// read loop does the lingering.
func (c *socket) Close() error {
	c.mu.Lock()
	if c.shut {
		c.mu.Unlock()
		return nil
	}
	c.shut = true
	c.lingerUntil = time.Now().Add(c.linger)
	c.lingering.Store(true)
	c.mu.Unlock()
	c.pmu.Lock()
	c.handBackLocked()
	conn := c.conn
	c.pmu.Unlock()
	hc, ok := conn.(interface{ CloseWrite() error })
	if !ok || hc.CloseWrite() != nil {
		return conn.Close()
	}
	// Whoever still reads (the session's read loop) wakes by then.
	return conn.SetReadDeadline(c.lingerUntil)
}

// SetDeadline sets both deadlines (see SetReadDeadline and
// SetWriteDeadline).
func (c *socket) SetDeadline(t time.Time) error {
	if err := c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the read deadline, unless the socket lingers: then
// the linger deadline stands. While the socket is polled the deadline is
// kept for the hand-back (the poller checks the idle deadline itself).
func (c *socket) SetReadDeadline(t time.Time) error {
	if c.lingering.Load() {
		return nil
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.readDeadline = t
	if c.poll.phase == phasePolled || c.poll.kicked {
		return nil // set again by the hand-back, or once Read sees the kick
	}
	return c.conn.SetReadDeadline(t)
}

// SetWriteDeadline sets the write deadline; while the socket is polled it
// is kept for the hand-back (a polled socket's writes do not block). It
// never waits for a writer.
func (c *socket) SetWriteDeadline(t time.Time) error {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.writeDeadline = t
	if c.poll.phase == phasePolled {
		return nil
	}
	return c.conn.SetWriteDeadline(t)
}

// applyReadDeadlineLocked puts the read deadline in force: the linger's
// once the socket lingers. c.pmu must be held, and the socket not polled.
func (c *socket) applyReadDeadlineLocked() {
	dl := c.readDeadline
	if c.lingering.Load() {
		dl = c.lingerUntil
	}
	_ = c.conn.SetReadDeadline(dl)
}

// finish closes the connection for good, after reading and discarding
// what the client still sends, until its stream ends or the linger
// deadline passes, if the socket lingers. The read loop calls it once it
// has stopped reading; it may block until the linger deadline.
func (c *socket) finish() {
	c.mu.Lock()
	shut, until := c.shut, c.lingerUntil
	c.shut = true
	c.mu.Unlock()
	c.pmu.Lock()
	c.handBackLocked() // nothing to give back: gws's read loop is not parked
	conn := c.conn
	c.pmu.Unlock()
	if shut && time.Now().Before(until) {
		_ = conn.SetReadDeadline(until)
		_, _ = io.Copy(io.Discard, conn)
	}
	_ = conn.Close()
}

// abort closes the connection at once, lingering or not: for a shutdown
// out of time. It does not wait for a writer.
func (c *socket) abort() {
	c.pmu.Lock()
	c.handBackLocked()
	conn := c.conn
	c.pmu.Unlock()
	_ = conn.Close()
}

// finClose is the first byte of a close frame: final, opcode 8.
const finClose = 0x80 | 0x8

// closeFrameCode reports whether p is a whole close frame as gws writes it
// (unmasked, final, with a payload of at most 125 bytes), and its status
// code: 1005 (none) if it carries none.
func closeFrameCode(p []byte) (uint16, bool) {
	if len(p) < 2 || p[0] != finClose || int(p[1]) > 125 || len(p) != 2+int(p[1]) {
		return 0, false
	}
	if p[1] < 2 {
		return 1005, true
	}
	return binary.BigEndian.Uint16(p[2:4]), true
}

// appendCloseFrame appends a server close frame with code and reason text
// (at most 123 bytes of it).
func appendCloseFrame(b []byte, code uint16, reason string) []byte {
	reason = reason[:min(len(reason), 123)]
	b = append(b, finClose, byte(2+len(reason)))
	b = binary.BigEndian.AppendUint16(b, code)
	return append(b, reason...)
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
	n, err := c.writeLocked(c.tail)
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
	// the caller must start the writer, if none runs, to flush it.
	frameTail
)

// tryFrame writes payload as one WebSocket frame with opcode op (binary,
// or a ping) with a single non-blocking write. It never waits: not for a
// writer, not for the kernel.
//
// While the socket is polled the write is a plain write(2) on its
// descriptor; one the kernel does not take whole hands the socket back
// (a client not keeping up is no business of the fast path).
func (c *socket) tryFrame(op gws.Opcode, payload []byte) tryResult {
	if !c.hasFD || !c.mu.TryLock() {
		return frameDeferred
	}
	defer c.mu.Unlock()
	if len(c.tail) > 0 || c.shut {
		return frameDeferred
	}
	c.buf = append(appendHeader(c.buf[:0], op, len(payload)), payload...)
	c.n = 0
	var err error
	c.pmu.Lock()
	if c.poll.phase == phasePolled {
		c.n = writeFD(c.poll.fd, c.buf)
		if c.n < len(c.buf) {
			c.handBackLocked()
		}
		c.pmu.Unlock()
	} else {
		raw := c.raw
		c.pmu.Unlock()
		err = raw.Write(c.writeBuf)
	}
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
func appendFrameHeader(b []byte, n int) []byte { return appendHeader(b, gws.OpcodeBinary, n) }

// appendHeader is appendFrameHeader for a frame with opcode op.
func appendHeader(b []byte, op gws.Opcode, n int) []byte {
	fin := 0x80 | byte(op)
	switch {
	case n < 126:
		return append(b, fin, byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(b, fin, 126), uint16(n))
	}
	return binary.BigEndian.AppendUint64(append(b, fin, 127), uint64(n))
}
