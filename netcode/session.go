package netcode

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"
)

const sessionKey = "arbiter.session"

// closeGrace bounds how long the writer may spend delivering the last frames
// (Kick, close frame) once a session is closing.
const closeGrace = time.Second

// Session is one client connection bound to a seat. Its send methods never
// block, so a match may call them from its tick goroutine. The server owns
// the session's goroutines — gws's read loop unless the reactor reads
// the socket, and a writer while frames wait — and waits for them on
// Shutdown.
type Session struct {
	srv  *Server
	conn *gws.Conn
	sock *socket // conn's transport: snapshots bypass gws through it
	seat Seat
	// delta: the client asked for delta snapshots (snapshots=delta in the
	// URL). Set before the session is used, then read-only.
	delta bool
	// events: the server's reactor reads the socket (an EventSeat's
	// session); Poll does nothing. Set before the session is attached.
	events bool
	gone   chan struct{} // closed when the read loop has ended
	// closing mirrors mu.closing for the read loop, which checks it on
	// every frame: once a close is decided, client frames are discarded.
	closing atomic.Bool

	mu struct {
		sync.Mutex
		queue []frame // non-snapshot frames, in order; at most MaxQueue
		// snapshot is the newest unsent snapshot, if offered.
		snapshot snapshotOffer
		offered  bool
		behind   int  // snapshots overwritten unsent since one was last written or taken
		inflight bool // the writer holds frames taken from queue/snapshot, not yet written
		// writing: a writer goroutine runs, or is being started. Set by
		// whoever starts it (wakeLocked), cleared only by the writer itself,
		// under this lock, once it found nothing to write — so there is
		// never more than one, and work added under this lock is never left
		// without one. It stays set when the writer ends for good (the
		// close frame written, a write failed): no writer starts again.
		writing bool
		// pingDue: the ping timer fired while frames waited; the writer
		// writes the ping next.
		pingDue bool
		// closeQueued: Close queued its Kick; the writer writes it and the
		// close frame, then ends the session. A session closing without it
		// (the read side saw the end, gws closed the connection on its
		// own) has nothing more to write.
		closeQueued bool
		// kick is the Kick Close queued, last in queue until the writer
		// takes it (see closeDecidedLocked).
		kick []byte
		// pinger pings the client every PingInterval (see startPings); nil
		// until the server starts it.
		pinger *time.Timer
		// written is the tick of the last snapshot written to the socket
		// (or taken by the writer, which writes it before anything later):
		// the base of the delta the next one may be. 0: none yet.
		written uint32
		// frame is the fast path's buffer for a delta session's message,
		// reused from tick to tick.
		frame []byte
		// closing and reason are set together, once (Close, gwsClose or
		// end): whoever sees closing may rely on reason.
		closing  bool
		reason   arbiterv1.CloseReason
		code     uint16 // the close code Close asked for; 0 if the connection just ended
		recorded bool   // the close has been counted in Stats
	}

	slot netip.Prefix // the connection slot this session holds; OnClose releases it

	// Owned by the writer goroutine, reused from one writer to the next
	// (each starts after the last has given s.mu.writing up): the frames
	// of a batch, and a delta session's snapshot message.
	batch []frame
	msg   []byte

	// readDeadline is the idle deadline set on the socket, in Unix
	// nanoseconds. Written by the read goroutine; read by gwsClose too.
	readDeadline atomic.Int64

	// Owned by the read side: gws's read goroutine, or Poll while the
	// socket is polled (see socket.beginPoll).
	in     clientMessage
	polled bool      // Poll has found the socket polled: counted in Stats.TickReads
	tat    time.Time // frame-rate limit: when the bucket is next full (see allow)
}

type frame struct {
	op gws.Opcode
	b  []byte
}

// snapshotOffer is a snapshot offered to a session: the room's tick,
// encoded once for all its connections, and the player's own
// acknowledgements.
type snapshotOffer struct {
	snap arbiterv1.TickSnapshot
	own  arbiterv1.Ack
}

// newSession returns the session of a connection whose upgrade is done. It
// must be called before the connection's read loop starts: it installs the
// socket's close hook.
func newSession(srv *Server, conn *gws.Conn, sock *socket, seat Seat) *Session {
	s := &Session{srv: srv, conn: conn, sock: sock, seat: seat, gone: make(chan struct{})}
	sock.onClose = s.gwsClose
	return s
}

// RemoteAddr returns the client's address.
func (s *Session) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// SnapshotEncoding returns how the session's snapshots are encoded: what
// the client asked for when it connected (docs/protocol.md, "Delta
// snapshots"). The match says so in the Welcome.
func (s *Session) SnapshotEncoding() arbiterv1.SnapshotEncoding {
	if s.delta {
		return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA
	}
	return arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL
}

// Send delivers a protobuf-encoded ServerMessage after those already
// queued. When nothing waits before it, it is written at once without
// blocking, as SendSnapshot's are (an event-driven room's answer then
// costs no writer goroutine); otherwise it is queued for the writer.
// The frame must not change afterwards. A session whose queue is full is
// closed as a slow consumer.
func (s *Session) Send(b []byte) {
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		return
	}
	// s.mu is held over the one non-blocking write, as in SendSnapshot: a
	// close cannot begin meanwhile and have its Kick overtaken, nor the
	// writer take a frame queued after this one and write it first.
	if s.writeNowLocked(gws.OpcodeBinary, b) {
		s.mu.Unlock()
		return
	}
	s.enqueueLocked(frame{op: gws.OpcodeBinary, b: b})
}

// writeNowLocked writes one frame at once, without blocking, if nothing
// waits to be written before it (see socket.tryFrame), and reports whether
// it did; a tail the kernel did not take starts the writer, which flushes
// it. s.mu must be held, and is held throughout: the frame cannot overtake
// one queued meanwhile, nor a close's Kick.
func (s *Session) writeNowLocked(op gws.Opcode, b []byte) bool {
	if len(s.mu.queue) > 0 || s.mu.offered || s.mu.inflight {
		return false
	}
	switch s.sock.tryFrame(op, b) {
	case frameSent:
		return true
	case frameTail:
		s.wakeLocked()
		return true
	}
	return false
}

// enqueue queues f for the writer, after the frames already queued.
func (s *Session) enqueue(f frame) {
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		return
	}
	s.enqueueLocked(f)
}

// enqueueLocked queues f and starts the writer if none runs; s.mu must be
// held by a session not closing, and is released.
func (s *Session) enqueueLocked(f frame) {
	if len(s.mu.queue) >= s.srv.cfg.MaxQueue {
		s.mu.Unlock()
		s.Close(arbiterv1.CloseSlowConsumer, "too many messages waiting to be sent")
		return
	}
	s.mu.queue = append(s.mu.queue, f)
	s.wakeLocked()
	s.mu.Unlock()
}

// Pending returns how many frames and bytes wait to be written. By design
// it never exceeds MaxQueue frames plus one snapshot, the unwritten end of
// another (the socket's tail) and a Kick.
func (s *Session) Pending() (frames, bytes int) {
	if tail := s.sock.pending.Load(); tail > 0 {
		frames, bytes = 1, int(tail)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.mu.queue {
		bytes += len(f.b)
	}
	frames += len(s.mu.queue)
	if s.mu.offered {
		frames++
		bytes += s.snapshotSizeLocked(&s.mu.snapshot)
	}
	return frames, bytes
}

// SendSnapshot offers the newest snapshot: snap, the room's tick encoded
// once for all its connections, and own, the player's acknowledgements.
// When nothing else waits to be sent it is written at once, without
// blocking (see socket.tryFrame); otherwise it waits for the writer and
// replaces one still waiting. A session that leaves MaxBehind snapshots in
// a row unwritten is closed as a slow consumer.
//
// What is written is decided when it is written, by snapshotMessage: the
// full message for a full session; for a delta session the delta when its
// base is the snapshot last written to the socket, and otherwise (the
// session's first snapshot, or the slot replaced one unsent) the key.
func (s *Session) SendSnapshot(snap arbiterv1.TickSnapshot, own arbiterv1.Ack) {
	o := snapshotOffer{snap: snap, own: own}
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		return
	}
	// The fast path only when it cannot overtake: frames queued before this
	// snapshot (a Welcome) go first, through the writer. s.mu is held over
	// the one non-blocking write so that a close cannot begin meanwhile and
	// have its Kick overtaken, nor the writer take a snapshot.
	if len(s.mu.queue) == 0 && !s.mu.offered && !s.mu.inflight {
		msg, key := s.snapshotMessageLocked(&s.mu.frame, &o)
		switch s.sock.tryFrame(gws.OpcodeBinary, msg) {
		case frameSent:
			s.wroteLocked(&o, key)
			s.mu.Unlock()
			return
		case frameTail:
			s.wroteLocked(&o, key)
			s.wakeLocked() // the writer flushes the tail
			s.mu.Unlock()
			return
		}
	}
	if s.mu.offered {
		s.mu.behind++
		if s.mu.behind > s.srv.cfg.MaxBehind {
			s.mu.Unlock()
			s.Close(arbiterv1.CloseSlowConsumer, "not reading snapshots fast enough")
			return
		}
	}
	s.mu.snapshot, s.mu.offered = o, true
	s.wakeLocked()
	s.mu.Unlock()
}

// snapshotMessageLocked returns the message the session writes for o:
// o's full message as it is for a full session; for a delta session the
// SnapshotDelta message, built in *buf (which it keeps for reuse) — the
// delta when its base is the snapshot last written, else the key (then
// key is true). s.mu must be held: the choice depends on what was written
// last.
func (s *Session) snapshotMessageLocked(buf *[]byte, o *snapshotOffer) (msg []byte, key bool) {
	if !s.delta {
		return o.snap.Full, false
	}
	body, key := s.snapshotBodyLocked(o)
	if body == nil {
		// No key offered (the match encodes one whenever a peer takes
		// deltas): the full message does the same, a client may take it
		// as the next delta's base. It is shared: never built into.
		return o.snap.Full, true
	}
	*buf = arbiterv1.AppendDeltaMessage((*buf)[:0], body, o.own)
	return *buf, key
}

// snapshotBodyLocked returns the shared body of a delta session's message
// for o, and whether it is the key. s.mu must be held.
func (s *Session) snapshotBodyLocked(o *snapshotOffer) (body []byte, key bool) {
	if o.snap.Delta != nil && s.mu.written != 0 && o.snap.Base == s.mu.written {
		return o.snap.Delta, false
	}
	return o.snap.Key, true
}

// snapshotSizeLocked returns the size of the message the session would
// write for o now. s.mu must be held.
func (s *Session) snapshotSizeLocked(o *snapshotOffer) int {
	body, _ := s.snapshotBodyLocked(o)
	if !s.delta || body == nil {
		return len(o.snap.Full)
	}
	return arbiterv1.DeltaMessageSize(body, o.own)
}

// wroteLocked records that o's message is on its way to the socket, in
// order: the next delta may be from it. s.mu must be held.
func (s *Session) wroteLocked(o *snapshotOffer, key bool) {
	s.mu.written, s.mu.behind = o.snap.Tick, 0
	if key {
		s.srv.Stats.SnapshotKeys.Add(1)
	}
}

// Close ends the session with a Kick and a close frame, both carrying
// reason's word, the frame its code; message is for humans. It returns at
// once; the writer — started for it if none runs — delivers what it can
// within a short grace. Only the first close of a session counts.
func (s *Session) Close(reason arbiterv1.CloseReason, message string) {
	kick := kickMessage(reason, message)
	s.mu.Lock()
	if s.mu.closing {
		s.mu.Unlock()
		return
	}
	s.mu.closing, s.mu.reason, s.mu.code = true, reason, reason.Code()
	s.mu.queue = append(s.mu.queue, frame{op: gws.OpcodeBinary, b: kick})
	s.mu.kick = kick
	s.mu.snapshot, s.mu.offered = snapshotOffer{}, false
	s.mu.closeQueued, s.mu.pingDue = true, false // a closing session pings no more
	s.stopPingsLocked()
	s.wakeLocked()
	s.mu.Unlock()
	s.closing.Store(true)
	// What the client sends from now on is gws's to read and discard.
	s.sock.handBack()
	// A writer stuck on a full socket must not hold the close up for a whole
	// WriteTimeout.
	_ = s.sock.SetWriteDeadline(time.Now().Add(closeGrace))
}

// kickMessage encodes the Kick announcing a close for reason.
func kickMessage(reason arbiterv1.CloseReason, message string) []byte {
	b, _ := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Kick{Kick: &arbiterv1.Kick{Reason: string(reason), Message: message}}})
	return b // a message built here always encodes
}

// wakeLocked starts the session's writer goroutine unless one runs: the
// caller has just left it something to write (a frame queued, a snapshot
// deferred, a tail, a ping due, a Kick). s.mu must be held — the writer
// gives up s.mu.writing under it, only after finding nothing to take — and
// the session must not have been closing before: the read loop, which
// keeps the server's WaitGroup above zero until it has seen the session
// end (OnClose), is then still running — or, on a socket the reactor
// reads, still to be started by the hand-back and counted from the
// upgrade — so that starting the writer never races with Shutdown's Wait.
func (s *Session) wakeLocked() {
	if s.mu.writing {
		return
	}
	s.mu.writing = true
	s.srv.Stats.WriterStarts.Add(1)
	s.srv.Stats.Writers.Add(1)
	s.srv.startWriter(s)
}

// writeLoop is the session's writer goroutine, started by wakeLocked when
// something must wait: it writes pings due, queued frames, snapshots the
// fast path deferred and the socket's tail, in batches under a deadline,
// until nothing is left. It ends then, and for good after writing the
// close frame, after a failed write, or once the session ended without a
// close frame to write.
func (s *Session) writeLoop() {
	defer s.srv.Stats.Writers.Add(-1)
	for {
		s.mu.Lock()
		closing, reason, code := s.mu.closing, s.mu.reason, s.mu.code
		if closing && !s.mu.closeQueued {
			// The read side saw the end, or gws closed the connection
			// itself: nothing more goes out. s.mu.writing stays set.
			s.mu.Unlock()
			return
		}
		batch := s.batch[:0]
		if s.mu.pingDue {
			// A ping is not inflight: a snapshot may overtake it.
			batch = append(batch, frame{op: gws.OpcodePing})
			s.mu.pingDue = false
		}
		pings := len(batch)
		batch = s.takeLocked(batch, &s.msg)
		if len(batch) == 0 && !closing && s.sock.pending.Load() == 0 {
			// Nothing left, no tail: whoever leaves something next starts
			// another writer.
			s.mu.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.inflight = len(batch) > pings
		s.mu.Unlock()

		err := s.writeBatch(batch, closing)
		clear(batch) // drop references to frames already written
		s.batch = batch[:0]
		s.mu.Lock()
		s.mu.inflight = false
		s.mu.Unlock()
		if err != nil {
			s.broken(err)
			return
		}
		if closing {
			_ = s.conn.WriteClose(code, []byte(reason))
			s.end(reason)
			return
		}
	}
}

// startPings arms the session's ping timer: a WebSocket ping every
// PingInterval until the session closes. The server calls it once the
// session runs.
//
// A timer per session rather than a goroutine, or one server-wide
// goroutine pinging due sessions: an armed runtime timer has no stack for
// the GC to scan, it fires on a short-lived goroutine of its own only
// when a ping is due, and the pings stay spread over the interval as the
// connections came — a sweep over every session would write thousands of
// pings in one burst on a loaded core.
func (s *Session) startPings() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closing || s.mu.pinger != nil {
		return
	}
	s.mu.pinger = time.AfterFunc(s.srv.cfg.PingInterval, s.ping)
}

// ping is the ping timer's function. It re-arms the timer and sends a ping
// the way other frames go: written at once when nothing waits, else left
// to the writer. A closing session pings no more. It never blocks.
func (s *Session) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closing {
		return
	}
	s.mu.pinger.Reset(s.srv.cfg.PingInterval)
	if s.mu.pingDue || s.writeNowLocked(gws.OpcodePing, nil) {
		return // one ping waiting is enough
	}
	s.mu.pingDue = true
	s.wakeLocked()
}

// stopPingsLocked stops the ping timer, if started. s.mu must be held; a
// timer function already running finds the session closing and re-arms
// nothing.
func (s *Session) stopPingsLocked() {
	if s.mu.pinger != nil {
		s.mu.pinger.Stop()
	}
}

// takeLocked appends to batch what waits to be written, for the writer:
// the queued frames, in order, then the snapshot offered, if any, as the
// message the session writes for it — a delta session's built in *msg,
// the writer's buffer. s.mu must be held; the writer writes the batch
// before it takes another.
func (s *Session) takeLocked(batch []frame, msg *[]byte) []frame {
	batch = append(batch, s.mu.queue...)
	clear(s.mu.queue) // the batch holds them now
	s.mu.queue = s.mu.queue[:0]
	if s.mu.offered {
		o := &s.mu.snapshot
		b, key := s.snapshotMessageLocked(msg, o)
		batch = append(batch, frame{op: gws.OpcodeBinary, b: b})
		s.wroteLocked(o, key)
		s.mu.snapshot, s.mu.offered = snapshotOffer{}, false
	}
	return batch
}

// writeBatch writes the socket's tail, then batch, under one deadline:
// WriteTimeout, or the close grace while closing. Outside a batch the
// socket has no write deadline, which the fast path relies on: a stale one
// would fail it.
func (s *Session) writeBatch(batch []frame, closing bool) error {
	d := s.srv.cfg.WriteTimeout
	if closing {
		d = closeGrace
	}
	_ = s.sock.SetWriteDeadline(time.Now().Add(d))
	if err := s.sock.flush(); err != nil {
		return err
	}
	for _, f := range batch {
		if err := s.conn.WriteMessage(f.op, f.b); err != nil {
			return err
		}
	}
	if !closing {
		_ = s.sock.SetWriteDeadline(time.Time{})
	}
	return nil
}

// broken records a failed write: a timeout means the client stopped taking
// bytes (a slow consumer); anything else is a broken connection. gws has
// already closed the socket. A write that failed because the socket was
// already closed records nothing: the read side closed it (an idle timeout,
// a protocol error) and OnClose knows why.
func (s *Session) broken(err error) {
	if errors.Is(err, net.ErrClosed) {
		return
	}
	reason := arbiterv1.CloseNetwork
	if isTimeout(err) {
		reason = arbiterv1.CloseSlowConsumer
	}
	s.end(reason) // a close we asked for, cut short, keeps its own reason
	_ = s.sock.Close()
}

// end marks the session closing for reason, unless it already is, and
// counts its end once, under the reason that was set first: the one
// Close asked for, or else that of whichever of the writer (broken) and
// the read loop (OnClose) saw the connection end first. The two race — gws
// closes the socket when a write times out, so OnClose may run before the
// writer's broken — and must agree: setting closing and reason apart would
// let the loser take the empty reason for the winner's.
func (s *Session) end(reason arbiterv1.CloseReason) arbiterv1.CloseReason {
	s.mu.Lock()
	if !s.mu.closing {
		s.mu.closing, s.mu.reason = true, reason
	}
	s.stopPingsLocked()
	reason = s.mu.reason
	first := !s.mu.recorded
	s.mu.recorded = true
	s.mu.Unlock()
	s.closing.Store(true)
	if first {
		s.srv.Stats.countClose(reason)
		s.srv.cfg.Logger.Debug("session closed", "remote", s.conn.RemoteAddr(), "reason", reason)
	}
	return reason
}

// gwsClose is the socket's close hook. When gws closes the connection on
// its own while the session was not closing — a frame header announcing a
// payload beyond the hard limit (1009), a frame breaking WebSocket framing
// (1002), the idle deadline (gws says 1000) — it returns the Kick and the
// close frame the protocol promises in place of gws's frame, and marks the
// session closing with that reason. Otherwise (the session's own close
// frame, an echo of the client's, a write that failed) it returns nil.
// Called with the socket's mutex held, from whichever goroutine gws
// writes the close frame on.
func (s *Session) gwsClose(code uint16) []byte {
	var reason arbiterv1.CloseReason
	var message string
	switch {
	case code == arbiterv1.CloseTooBig.Code():
		reason, message = arbiterv1.CloseTooBig, "frame too big"
	case code == arbiterv1.CloseProtocol.Code() || code == arbiterv1.CloseBadFrame.Code():
		reason, message = arbiterv1.CloseBadFrame, "malformed WebSocket frame"
	case code == arbiterv1.CloseClientClosed.Code() && time.Now().UnixNano() >= s.readDeadline.Load():
		// gws reports its idle deadline as a normal closure, 1000.
		reason, message = arbiterv1.CloseIdle, "nothing received for too long"
	default:
		return nil
	}
	s.mu.Lock()
	if s.mu.closing {
		b := s.closeDecidedLocked(code)
		s.mu.Unlock()
		return b
	}
	s.mu.closing, s.mu.reason, s.mu.code = true, reason, reason.Code()
	s.mu.snapshot, s.mu.offered = snapshotOffer{}, false
	s.stopPingsLocked()
	s.mu.Unlock()
	s.closing.Store(true)
	kick := kickMessage(reason, message)
	b := append(appendFrameHeader(nil, len(kick)), kick...)
	return appendCloseFrame(b, reason.Code(), string(reason))
}

// closeDecidedLocked is gwsClose's answer for a session already closing.
// When Close decided the end and gws then closes the connection on its own
// (a frame breaking the protocol arriving just as the match kicks its
// player) before the writer has written Close's close frame, gws's frame
// would go out instead, without the Kick, and the client would learn
// gws's reason rather than the one the server decided: it returns Close's
// Kick, taken out of the queue if the writer has not taken it yet, and
// Close's close frame. Otherwise — the session's own close frame (Close's
// code), or an end Close did not decide — nil: the frame goes as it is.
// s.mu must be held.
func (s *Session) closeDecidedLocked(code uint16) []byte {
	if !s.mu.closeQueued || code == s.mu.code {
		return nil
	}
	var b []byte
	if n := len(s.mu.queue); n > 0 && len(s.mu.queue[n-1].b) > 0 && len(s.mu.kick) > 0 && &s.mu.queue[n-1].b[0] == &s.mu.kick[0] {
		s.mu.queue[n-1] = frame{}
		s.mu.queue = s.mu.queue[:n-1]
		b = append(appendFrameHeader(nil, len(s.mu.kick)), s.mu.kick...)
	}
	return appendCloseFrame(b, s.mu.code, string(s.mu.reason))
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// handler receives gws's events for every connection of a Server.
type handler struct {
	srv *Server
}

// sessionOf returns the connection's Session, or nil before it is stored.
func sessionOf(c *gws.Conn) *Session {
	if st, ok := c.Session().(*sessionStore); ok {
		return st.s.Load()
	}
	v, _ := c.Session().Load(sessionKey)
	s, _ := v.(*Session)
	return s
}

// sessionStore is the gws session storage of the server's connections. It
// holds only the connection's *Session, under sessionKey, so that finding
// the session for each frame is one load rather than gws's default, a map
// behind a mutex (3 % of the server's CPU at 2000 clients). Other keys are
// not kept: nothing stores any.
type sessionStore struct{ s atomic.Pointer[Session] }

func (st *sessionStore) Len() int {
	if st.s.Load() == nil {
		return 0
	}
	return 1
}

func (st *sessionStore) Load(key string) (any, bool) {
	if s := st.s.Load(); key == sessionKey && s != nil {
		return s, true
	}
	return nil, false
}

func (st *sessionStore) Delete(key string) {
	if key == sessionKey {
		st.s.Store(nil)
	}
}

func (st *sessionStore) Store(key string, value any) {
	if s, ok := value.(*Session); ok && key == sessionKey {
		st.s.Store(s)
	}
}

func (st *sessionStore) Range(f func(key string, value any) bool) {
	if s := st.s.Load(); s != nil {
		f(sessionKey, s)
	}
}

func (h *handler) OnOpen(*gws.Conn) {}

// OnClose runs once, on the read goroutine, when the connection ends for any
// reason: it records why (which stops the pings and keeps any writer from
// starting again), reports a frame the client should not have sent to its
// seat, detaches the seat, and closes the socket once the client has
// closed too or the linger has passed; a writer blocked on the socket
// then fails and ends.
func (h *handler) OnClose(c *gws.Conn, err error) {
	s := sessionOf(c)
	if s == nil {
		return
	}
	if reason := s.end(s.endReason(err)); clientFault(reason) {
		s.seat.Violation(reason)
	}
	s.seat.Detach(s) // after recording, so whoever learns of the end sees it counted
	close(s.gone)
	s.sock.finish()
	h.srv.untrack(s)
	h.srv.release(s.slot)
	h.srv.Stats.Active.Add(-1)
}

// endReason says why the connection ended with err, as the read loop saw it,
// for a session the server was not closing itself (end keeps the reason of a
// close it asked for). Runs on the read goroutine.
func (s *Session) endReason(err error) arbiterv1.CloseReason {
	var ce *gws.CloseError
	switch {
	case errors.As(err, &ce):
		return arbiterv1.CloseClientClosed
	case isTimeout(err) && time.Now().UnixNano() < s.readDeadline.Load():
		// gws closes the socket itself when a write times out, and the
		// read loop may report it first: a timeout before the read
		// deadline came from the writer.
		return arbiterv1.CloseSlowConsumer
	case isTimeout(err):
		return arbiterv1.CloseIdle
	}
	return arbiterv1.CloseNetwork // the network failed
}

// clientFault reports whether a session closed for reason was closed for a
// frame the client should never have sent: a violation the match counts
// against the player (Seat.Violation).
func clientFault(reason arbiterv1.CloseReason) bool {
	switch reason {
	case arbiterv1.CloseTextFrame, arbiterv1.CloseBadFrame, arbiterv1.CloseTooBig, arbiterv1.CloseInputFlood:
		return true
	}
	return false
}

func (h *handler) OnPing(c *gws.Conn, payload []byte) {
	if s := sessionOf(c); s != nil && s.readFrame(time.Now()) {
		s.enqueue(frame{op: gws.OpcodePong, b: append([]byte(nil), payload...)})
	}
}

func (h *handler) OnPong(c *gws.Conn, _ []byte) {
	if s := sessionOf(c); s != nil {
		s.readFrame(time.Now())
	}
}

// OnMessage handles one client data frame. It runs on the read goroutine
// and never blocks on the match.
func (h *handler) OnMessage(c *gws.Conn, msg *gws.Message) {
	defer msg.Close()
	s := sessionOf(c)
	if s == nil || !s.readFrame(time.Now()) {
		return
	}
	if reason, message, ok := handleFrame(s, msg.Opcode == gws.OpcodeBinary, msg.Bytes()); !ok {
		s.Close(reason, message)
	}
}

// readFrame accounts for one frame from the client, data or control, read
// at now: it extends the idle deadline and applies the frame-rate limit.
// It reports whether the frame should be handled; false once a close of
// the session is under way — what the client sends then is read and
// discarded —, including for the frame that broke the limit.
func (s *Session) readFrame(now time.Time) bool {
	if s.closing.Load() {
		return false
	}
	s.touch(now)
	if !s.allow(now) {
		s.Close(arbiterv1.CloseInputFlood, "too many frames")
		return false
	}
	return true
}

// handleFrame decodes one client data frame and dispatches it: an Input or
// an Action to the session's own seat — a ClientMessage has no way to name another
// entity — and a Ping to a queued Pong. It returns ok, or the reason and
// message to close the session with; it does not close the session itself,
// so that it can run without a socket (FuzzFrame). Runs on the read
// goroutine.
func handleFrame(s *Session, binary bool, data []byte) (reason arbiterv1.CloseReason, message string, ok bool) {
	switch {
	case !binary:
		return arbiterv1.CloseTextFrame, "only binary frames are accepted", false
	case len(data) > s.srv.cfg.MaxFrame:
		return arbiterv1.CloseTooBig, "frame too big", false
	}
	if err := decodeClientMessage(data, &s.in); err != nil {
		return arbiterv1.CloseBadFrame, "undecodable frame", false
	}
	switch s.in.kind {
	case kindInput:
		s.seat.Input(&s.in.input)
	case kindAction:
		s.seat.Action(s.in.actionSeq, s.in.payload)
	case kindPing:
		pong, _ := proto.Marshal(&arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Pong{Pong: &arbiterv1.Pong{
			ClientTime: s.in.clientTime, Tick: s.seat.Tick(),
		}}})
		s.Send(pong)
	default:
		return arbiterv1.CloseBadFrame, "unknown message", false
	}
	return "", "", true
}

// allow reports whether a frame arriving at now fits the frame-rate limit,
// and if so takes it into account. It is a token bucket in GCRA form: tat
// runs one frameInterval ahead per frame and never lags now, and a frame is
// refused when tat is more than frameSlack ahead of now — that is, once
// FrameBurst frames have arrived faster than FrameRate. One time.Time of
// state, no allocation. Runs on the read goroutine.
func (s *Session) allow(now time.Time) bool {
	interval := s.srv.frameInterval
	if interval == 0 {
		return true
	}
	tat := s.tat
	if tat.Before(now) {
		tat = now
	}
	if tat.Sub(now) > s.srv.frameSlack {
		return false
	}
	s.tat = tat.Add(interval)
	return true
}

// touch extends the idle deadline. It updates the socket only when half the
// timeout has passed, to keep the per-frame cost low.
func (s *Session) touch(now time.Time) {
	idle := s.srv.cfg.IdleTimeout
	if time.Duration(s.readDeadline.Load()-now.UnixNano()) > idle/2 {
		return
	}
	dl := now.Add(idle)
	s.readDeadline.Store(dl.UnixNano())
	_ = s.sock.SetReadDeadline(dl)
}
