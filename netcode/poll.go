package netcode

import (
	"encoding/binary"
	"time"

	"github.com/lxzan/gws"
)

// Poll reads what the client sent since the last poll and dispatches it as
// gws's read loop would: inputs and actions to the seat, pings answered
// with a queued pong, every frame under the frame-rate limit and extending
// the idle deadline. It is for a match that applies inputs only at its
// ticks (a tick-driven room), which calls it for each of its connections
// at the start of every tick, on its goroutine: an input is needed then and
// not before, so its arrival need wake nobody. now is the current time.
//
// The first Poll asks gws's read goroutine for the socket, which it hands
// over at its next frame boundary; from then on the socket is read by Poll
// alone, with one non-blocking read(2) per tick. Anything but binary data
// frames, pings and pongs within MaxFrame — a close, text or fragmented
// frame, one too big, a frame breaking the protocol, the end of the
// stream, the idle deadline — hands the socket back to gws for good, with
// the bytes not yet parsed, and gws deals with it as it always does; so
// does the session closing, and a write the kernel does not take whole.
//
// Poll never blocks. It does nothing with Config.DisableTickReads, once
// the socket is handed back, on a connection without a descriptor, and on
// an event-driven seat's (EventSeat), which the server's reactor reads.
// It must not be called concurrently with itself.
func (s *Session) Poll(now time.Time) {
	if s.events {
		return // the reactor reads it
	}
	c := s.sock
	switch c.phase.Load() {
	case phaseGws:
		if !s.srv.cfg.DisableTickReads && !c.asked.Load() && !s.closing.Load() {
			c.requestPoll()
		}
		return
	case phaseBack:
		return
	}
	if !c.beginPoll() {
		return
	}
	if !s.polled {
		s.polled = true
		s.srv.Stats.TickReads.Add(1)
	}
	s.readPolled(now)
}

// react reads and dispatches what the client of an event-driven seat sent,
// as Poll does: the reactor calls it when the socket is readable.
func (s *Session) react(now time.Time) {
	if s.sock.beginPoll() {
		s.readPolled(now)
	}
}

// sweepIdle hands the socket back if its idle deadline has passed: gws
// finds it past and closes as it does. The reactor calls it for the
// sockets it reads, whose silence produces no event.
func (s *Session) sweepIdle(now time.Time) {
	if now.UnixNano() >= s.readDeadline.Load() {
		s.sock.handBack()
	}
}

// readPolled is a poll begun by beginPoll: it dispatches the frames read,
// ends the poll, and hands the socket back if the idle deadline has
// passed. Called by the one poller of the socket: Poll or the reactor.
func (s *Session) readPolled(now time.Time) {
	c := s.sock
	for {
		op, payload, ok := c.nextFrame(s.srv.cfg.MaxFrame)
		if !ok {
			break
		}
		if !s.readFrame(now) {
			continue // closing: read and discarded, as gws does
		}
		switch op {
		case gws.OpcodeBinary:
			if reason, message, ok := handleFrame(s, true, payload); !ok {
				s.Close(reason, message)
			}
		case gws.OpcodePing:
			s.enqueue(frame{op: gws.OpcodePong, b: append([]byte(nil), payload...)})
		}
	}
	c.endPoll()
	if now.UnixNano() >= s.readDeadline.Load() {
		// Idle — what arrived by now counted —: gws finds the deadline
		// past and closes as it does.
		c.handBack()
	}
}

// pollState is a socket's tick-driven reading (see the socket's doc).
// Under the socket's pmu, except where a field says otherwise.
type pollState struct {
	phase int32 // phaseGws, phasePolled or phaseBack
	// wanted: a poller asked for the socket; gws's read goroutine hands it
	// over at its next frame boundary (Read).
	wanted bool
	// kicked: requestPoll set a read deadline in the past to wake gws's
	// read goroutine from a read; its timeout is not the idle deadline's.
	kicked bool
	// frames follows the frame boundaries in what Read hands gws, so that
	// the socket is taken over between two frames.
	frames frameTracker

	fd int // the descriptor read and written while polled

	// resumed is closed to unpark gws's read goroutine after a hand-back;
	// made when gws's read goroutine hands the socket over (nil for one
	// adopted from its first byte, whose read loop has not started).
	resumed chan struct{}
	// startRead starts gws's read loop, for a socket taken over from its
	// first byte (adopt), whose read loop was never started: the
	// hand-back calls it, once, where it would close resumed. nil
	// otherwise, and once called.
	startRead func()
	// reactor reads the socket while it is polled (adopt); nil when a
	// tick-driven room polls it.
	reactor *reactor
	// polling: the poller is between beginPoll and endPoll, dispatching
	// frames on the session's behalf; a hand-back meanwhile leaves gws
	// parked until endPoll (resumeDue), so that the read side — the
	// session's decode buffer, its rate limit — has one owner at a time.
	polling, resumeDue bool

	// rbuf holds what the poller read and has not parsed yet, rbuf[rs:re];
	// after a hand-back, left is what gws reads before the connection.
	rbuf   []byte
	rs, re int
	left   []byte
	reads  int  // read(2)s made in this poll
	filled bool // the last read(2) filled rbuf: more may be waiting
}

// The phases of a socket's reading (see the socket's doc).
const (
	phaseGws int32 = iota
	phasePolled
	phaseBack
)

// maxPollReads bounds the read(2)s of one poll: a client sending more than
// that much per tick waits for the next (the frame-rate limit stops a
// flood long before).
const maxPollReads = 4

// aLongTimeAgo is a read deadline that has passed: setting it wakes a
// goroutine blocked in a read at once.
var aLongTimeAgo = time.Unix(1, 0)

// requestPoll asks gws's read goroutine for the socket (see Read). If it
// is blocked in a read, a read deadline in the past wakes it. Called by
// the poller, once.
func (c *socket) requestPoll() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.asked.Store(true)
	if c.poll.phase != phaseGws || !c.hasFD || c.ending.Load() || c.lingering.Load() {
		return
	}
	c.poll.wanted, c.poll.kicked = true, true
	_ = c.conn.SetReadDeadline(aLongTimeAgo)
}

// detachLocked takes the socket over from gws: from now on Poll reads it
// and gws's read goroutine parks in Read. Called by gws's read goroutine,
// between frames, with c.pmu held. It reports false if a writer holds c.mu
// — the request is dropped, and the poller's next Poll asks again —; and,
// the socket staying gws's for good, if the session is closing or the
// descriptor cannot be had.
func (c *socket) detachLocked() bool {
	if !c.mu.TryLock() {
		c.poll.wanted = false
		c.asked.Store(false)
		return false
	}
	defer c.mu.Unlock()
	fd := -1
	ok := !c.ending.Load() && !c.shut
	if ok {
		fd, ok = c.takeFD()
	}
	if !ok {
		c.handBackLocked()
		return false
	}
	c.poll.fd = fd
	c.poll.wanted, c.poll.kicked = false, false
	c.poll.resumed = make(chan struct{})
	c.poll.rbuf = make([]byte, pollBufferSize)
	c.poll.rs, c.poll.re = 0, 0
	c.setPhaseLocked(phasePolled)
	return true
}

// handBack gives the socket back to gws for good, if it is not already,
// and makes sure it is never taken over again. It waits for no writer.
func (c *socket) handBack() {
	c.ending.Store(true)
	if c.phase.Load() != phasePolled {
		return // Read sees ending if it is taking the socket over just now
	}
	c.pmu.Lock()
	c.handBackLocked()
	c.pmu.Unlock()
}

// handBackLocked gives the socket back to gws for good: a socket not yet
// taken over never will be; a polled one gets its connection back, with
// its deadlines, and gws's read goroutine resumes — once the poller is
// done, if it is polling — reading first what the poller left unparsed.
// c.pmu must be held.
func (c *socket) handBackLocked() {
	switch c.poll.phase {
	case phaseBack:
		return
	case phaseGws:
		c.setPhaseLocked(phaseBack)
		c.poll.wanted = false
		if c.poll.kicked {
			c.poll.kicked = false
			c.applyReadDeadlineLocked()
		}
		return
	}
	if r := c.poll.reactor; r != nil {
		r.remove(c.poll.fd)
		c.poll.reactor = nil
	}
	c.returnFD()
	c.poll.left = c.poll.rbuf[c.poll.rs:c.poll.re]
	c.setPhaseLocked(phaseBack)
	c.applyReadDeadlineLocked()
	_ = c.conn.SetWriteDeadline(c.writeDeadline)
	if c.poll.polling {
		c.poll.resumeDue = true
	} else {
		c.resumeLocked()
	}
}

// resumeLocked lets gws read again after a hand-back: it unparks gws's read
// goroutine, or starts it if the socket was polled from its first byte.
// c.pmu must be held.
func (c *socket) resumeLocked() {
	if c.poll.resumed != nil {
		close(c.poll.resumed)
	}
	if start := c.poll.startRead; start != nil {
		c.poll.startRead = nil
		start()
	}
}

// adopt takes the socket over from its first byte, before gws's read loop
// has started — nothing has been read from the connection yet, so this is
// a frame boundary — for r to read it; startRead starts the read loop,
// which the hand-back calls. It reports false, the socket staying gws's
// and startRead not called, if the session is already closing or the
// descriptor cannot be had or registered. Called once, right after the
// upgrade.
func (c *socket) adopt(r *reactor, s *Session, startRead func()) bool {
	c.mu.Lock() // mu before pmu, as everywhere
	defer c.mu.Unlock()
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if !c.hasFD || c.poll.phase != phaseGws || c.ending.Load() || c.shut {
		return false
	}
	fd, ok := c.takeFD()
	if !ok {
		return false
	}
	if err := r.add(fd, s); err != nil {
		c.poll.fd = fd
		c.returnFD() // the connection is closed: give gws a new one
		return false
	}
	c.poll.fd = fd
	c.poll.reactor = r
	c.poll.startRead = startRead // no read goroutine is parked: resumed stays nil
	c.poll.rbuf = make([]byte, pollBufferSize)
	c.poll.rs, c.poll.re = 0, 0
	c.setPhaseLocked(phasePolled)
	return true
}

func (c *socket) setPhaseLocked(p int32) {
	c.poll.phase = p
	c.phase.Store(p)
}

// beginPoll starts a poll: it reports whether the socket is polled, and
// if so, the poller owns the read side until endPoll.
func (c *socket) beginPoll() bool {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	if c.poll.phase != phasePolled {
		return false
	}
	c.poll.polling, c.poll.reads = true, 0
	return true
}

// endPoll ends a poll, and lets gws's read goroutine resume if the socket
// was handed back meanwhile.
func (c *socket) endPoll() {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	c.poll.polling = false
	if c.poll.resumeDue {
		c.poll.resumeDue = false
		c.resumeLocked()
	}
}

// pollBufferSize is the size of a polled socket's read buffer, held while
// it is polled: 1 KiB, like gws's, since a tick-driven game's client frames
// are tens of bytes (an input, a ping). A frame that does not fit, which
// no honest arena client sends, is left to gws: it hands the socket back
// (see nextFrame).
const pollBufferSize = 1 << 10

// nextFrame returns the next complete frame the poller may dispatch — a
// final binary frame of at most maxFrame bytes that fits the buffer, a
// ping or a pong — its
// payload unmasked in place, reading the socket when the buffer holds no
// whole frame: at most maxPollReads times per poll, and not again after a
// read that left room (the kernel had no more). It reports false when
// nothing more is to be had this poll, and hands the socket back on
// anything else: another frame (a close, text, a fragment, one too big),
// a malformed one, the end of the stream or an error. The payload aliases
// the buffer until the next call.
func (c *socket) nextFrame(maxFrame int) (op gws.Opcode, payload []byte, ok bool) {
	c.pmu.Lock()
	defer c.pmu.Unlock()
	p := &c.poll
	for p.phase == phasePolled {
		buf := p.rbuf[p.rs:p.re]
		op, hdr, size, verdict := parseClientFrame(buf, min(maxFrame, len(p.rbuf)-maxClientHeader))
		switch verdict {
		case frameWhole:
			payload = buf[hdr : hdr+size]
			unmask(payload, buf[hdr-4:hdr])
			p.rs += hdr + size
			return op, payload, true
		case frameRefused:
			c.handBackLocked()
			return 0, nil, false
		}
		// Incomplete: read more, if there may be more.
		if p.reads >= maxPollReads || (p.reads > 0 && !p.filled) {
			return 0, nil, false
		}
		if p.rs > 0 {
			p.re = copy(p.rbuf, buf)
			p.rs = 0
		}
		n, eagain := readFD(p.fd, p.rbuf[p.re:])
		p.reads++
		switch {
		case n > 0:
			p.re += n
			p.filled = p.re == len(p.rbuf)
		case eagain:
			p.filled = false
			return 0, nil, false
		default:
			// The end of the stream, or an error: gws reads it again.
			c.handBackLocked()
			return 0, nil, false
		}
	}
	return 0, nil, false
}

// maxClientHeader is the longest client frame header: two bytes, a 64-bit
// length and the mask.
const maxClientHeader = 14

// What parseClientFrame makes of the bytes at the start of a buffer.
const (
	frameIncomplete = iota // a frame the poller may take, not whole yet
	frameWhole             // a whole frame the poller may take
	frameRefused           // a frame for gws: not one the poller takes
)

// parseClientFrame parses the client frame at the start of b (RFC 6455
// §5.2): its opcode, header length and payload length, and whether the
// poller takes it — masked, no extension bits, and either a final binary
// frame of at most maxFrame bytes or a ping or a pong (final, at most 125
// bytes). Everything else is gws's to read: refused.
func parseClientFrame(b []byte, maxFrame int) (op gws.Opcode, hdr, size int, verdict int) {
	if len(b) < 2 {
		return 0, 0, 0, frameIncomplete
	}
	const fin, rsv, mask = 0x80, 0x70, 0x80
	op = gws.Opcode(b[0] & 0x0F)
	if b[0]&fin == 0 || b[0]&rsv != 0 || b[1]&mask == 0 {
		return op, 0, 0, frameRefused
	}
	limit := maxFrame
	switch op {
	case gws.OpcodeBinary:
	case gws.OpcodePing, gws.OpcodePong:
		limit = 125
	default:
		return op, 0, 0, frameRefused
	}
	var n uint64
	switch code := b[1] & 0x7F; code {
	case 126:
		if len(b) < 4 {
			return op, 0, 0, frameIncomplete
		}
		n, hdr = uint64(binary.BigEndian.Uint16(b[2:4])), 4
	case 127:
		if len(b) < 10 {
			return op, 0, 0, frameIncomplete
		}
		n, hdr = binary.BigEndian.Uint64(b[2:10]), 10
	default:
		n, hdr = uint64(code), 2
	}
	if n > uint64(limit) {
		return op, 0, 0, frameRefused
	}
	hdr += 4 // the mask
	size = int(n)
	if len(b) < hdr+size {
		return op, hdr, size, frameIncomplete
	}
	return op, hdr, size, frameWhole
}

// unmask applies a client frame's masking key to its payload (RFC 6455
// §5.3), in place.
func unmask(p, key []byte) {
	k := [4]byte(key)
	for i := range p {
		p[i] ^= k[i&3]
	}
}

// frameTracker follows the frame boundaries of a client's stream, fed with
// every byte gws is handed, so that a poller takes the socket over only
// between two frames: when gws has parsed all it was given, and is not in
// a fragmented message. It reads only headers, skipping payloads. A close
// frame, or a header gws will refuse, stops it for good: the connection is
// ending.
type frameTracker struct {
	hdr      [maxClientHeader]byte
	hn       int    // header bytes seen of the frame begun
	left     uint64 // payload bytes of the frame begun still to come
	fragment bool   // in a fragmented message
	ended    bool   // a close frame, or a header no client may send
}

// boundary reports whether the bytes fed so far end between two frames.
func (t *frameTracker) boundary() bool {
	return t.hn == 0 && t.left == 0 && !t.fragment && !t.ended
}

// feed follows p, the next bytes of the stream.
func (t *frameTracker) feed(p []byte) {
	for len(p) > 0 && !t.ended {
		if t.left > 0 {
			k := min(t.left, uint64(len(p)))
			t.left -= k
			p = p[k:]
			continue
		}
		t.hdr[t.hn] = p[0]
		t.hn++
		p = p[1:]
		if t.hn < 2 {
			continue
		}
		need := 2
		switch t.hdr[1] & 0x7F {
		case 126:
			need += 2
		case 127:
			need += 8
		}
		if t.hdr[1]&0x80 != 0 {
			need += 4
		}
		if t.hn < need {
			continue
		}
		var n uint64
		switch t.hdr[1] & 0x7F {
		case 126:
			n = uint64(binary.BigEndian.Uint16(t.hdr[2:4]))
		case 127:
			n = binary.BigEndian.Uint64(t.hdr[2:10])
		default:
			n = uint64(t.hdr[1] & 0x7F)
		}
		fin, op := t.hdr[0]&0x80 != 0, gws.Opcode(t.hdr[0]&0x0F)
		switch {
		case op == gws.OpcodeCloseConnection, t.hdr[0]&0x70 != 0, t.hdr[1]&0x80 == 0:
			t.ended = true
		case op == gws.OpcodeContinuation:
			t.fragment = !fin
		case op == gws.OpcodeText || op == gws.OpcodeBinary:
			t.fragment = !fin
		}
		t.hn, t.left = 0, n
	}
}
