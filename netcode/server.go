package netcode

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/lxzan/gws"
)

// Admitter resolves a join token to the seat it names. Admit must not block
// for long: it runs before the WebSocket upgrade, on the HTTP goroutine.
type Admitter interface {
	Admit(token string) (Seat, error)
}

// Seat is one player's place in a running match. All methods must be safe
// for concurrent use and must not block.
type Seat interface {
	// Attach makes s the seat's connection and queues Welcome on it; a
	// previous session of the seat is closed with 4000 (replaced). It fails
	// once the match is over, or when the player may not come back (it
	// forfeited, or was kicked); it should then close s itself with the
	// reason — the server closes it with match_over if it did not.
	Attach(s *Session) error
	// Detach tells the seat s is gone, if s is still its connection.
	Detach(s *Session)
	// Input hands over a decoded input; the seat does not retain in.
	Input(in *arbiterv1.Input)
	// Action hands over a decoded action of a game played with actions;
	// the seat does not retain payload (it aliases the frame).
	Action(seq uint32, payload []byte)
	// Violation reports a frame the transport refused from the player, by
	// the reason the session was closed for (arbiterv1.CloseBadFrame,
	// CloseTooBig, CloseTextFrame, CloseInputFlood), for the match to count
	// against it.
	Violation(reason arbiterv1.CloseReason)
	// Tick is the match's current tick, for Pong.
	Tick() uint32
}

// EventSeat is an optional Seat capability: a seat of a match that acts on
// each action as it arrives (event-driven, such as chess) rather than
// reading its connections at its ticks (Session.Poll). Its connections are
// read from their first byte by the server's reactor, one goroutine for
// all of them blocked in epoll_wait, rather than each by a goroutine of
// its own (Linux only; not with Config.DisableTickReads). A Seat without
// it is read by its own goroutine until its match polls it.
type EventSeat interface {
	Seat
	// EventDriven reports whether the seat's match is event-driven. It
	// must not change.
	EventDriven() bool
}

// Config tunes the transport. The zero value of every field means its
// default.
type Config struct {
	// MaxFrame is the largest client frame accepted (default 4 KiB); a
	// bigger one closes the session with 1009.
	MaxFrame int
	// IdleTimeout drops a connection that sent nothing, not even a pong,
	// for this long (default 15 s).
	IdleTimeout time.Duration
	// PingInterval is how often the server pings (default IdleTimeout/3).
	PingInterval time.Duration
	// WriteTimeout bounds every batch of writes (default 5 s); a client
	// that does not take the bytes in time is a slow consumer.
	WriteTimeout time.Duration
	// MaxBehind is how many snapshots in a row may be overwritten unsent
	// before the session is closed as a slow consumer (default 60).
	MaxBehind int
	// MaxQueue bounds queued non-snapshot frames (default 64).
	MaxQueue int
	// SendBuffer, if > 0, sets each socket's kernel send buffer (SO_SNDBUF)
	// in bytes: smaller buffers find slow consumers sooner and hold less
	// memory per connection.
	SendBuffer int
	// HandshakeTimeout bounds the WebSocket handshake (default 5 s).
	HandshakeTimeout time.Duration
	// FrameRate is the sustained rate, in frames per second, at which a
	// client may send frames — data frames, pings and pongs alike (default
	// 300: five times the 60 Hz maximum tick rate, above a browser that
	// sends one input per frame at 144 Hz). A client over it is kicked
	// with input_flood and closed with 1008. Negative disables the limit.
	FrameRate int
	// FrameBurst is how many frames a client may send back to back before
	// FrameRate applies (default 3·FrameRate, three seconds' worth: a
	// network stall delivers everything the client sent meanwhile at once,
	// and a client sending at the full rate must survive a stall of up to
	// three seconds).
	FrameBurst int
	// MaxConnsPerIP caps the connections from one client address — an IPv4
	// address or an IPv6 /64 — handshakes in progress included (default
	// 16). Over it, requests are answered 429 before the token is checked.
	// The address is the TCP peer's: behind a proxy every client shares the
	// proxy's, so raise or disable the cap there. Negative disables it.
	MaxConnsPerIP int
	// Linger is how long a closing connection keeps reading, and
	// discarding, what the client still sends after the server's close
	// frame, waiting for the client's close or the end of its stream
	// before closing the socket (default 1 s): closing at once with unread
	// bytes makes the kernel send a reset, which can destroy the Kick and
	// the close frame before the client reads them.
	Linger time.Duration
	// MaxConns caps all connections, handshakes in progress included
	// (default 10000). Over it, requests are answered 503 before the token
	// is checked. Negative disables it.
	MaxConns int
	// DisableTickReads makes every connection be read by its own goroutine
	// as its frames arrive, also in matches that read their connections at
	// their ticks (Session.Poll does nothing) and in event-driven ones (no
	// reactor, see EventSeat): the transport as it was before tick-driven
	// reads, for comparison and as an escape hatch.
	DisableTickReads bool
	// CheckOrigin, if set, decides whether a request may open a game
	// connection by its Origin header, the page a browser opens it from
	// (WebSockets are not subject to CORS: a browser connects from any
	// page and leaves the check to the server). Refused requests are
	// answered 403 origin_not_allowed before anything else is looked at.
	// It must allow requests without an Origin (programs that are not
	// browsers send none). Default nil: every origin is allowed. It must
	// be safe for concurrent use and not block.
	CheckOrigin func(r *http.Request) bool
	Logger      *slog.Logger
}

func (c *Config) setDefaults() {
	if c.MaxFrame <= 0 {
		c.MaxFrame = 4 << 10
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 15 * time.Second
	}
	if c.PingInterval <= 0 {
		c.PingInterval = c.IdleTimeout / 3
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 5 * time.Second
	}
	if c.MaxBehind <= 0 {
		c.MaxBehind = 60
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 64
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 5 * time.Second
	}
	if c.FrameRate == 0 {
		c.FrameRate = 300
	}
	if c.FrameBurst <= 0 {
		c.FrameBurst = 3 * max(c.FrameRate, 1)
	}
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = 16
	}
	if c.MaxConns == 0 {
		c.MaxConns = 10000
	}
	if c.Linger <= 0 {
		c.Linger = defaultLinger
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// hardFrameLimit is the size at which gws itself refuses a frame, before
// reading its payload. Frames between MaxFrame and this get a Kick and a
// close with reason too_big; beyond it gws closes with 1009 on its own.
func hardFrameLimit(maxFrame int) int { return max(4*maxFrame, 64<<10) }

// Stats counts what the transport did; safe to read at any time.
type Stats struct {
	Accepted atomic.Uint64 // upgrades completed
	Refused  atomic.Uint64 // upgrade requests answered 401
	Active   atomic.Int64  // sessions open now
	// SnapshotKeys counts the keys written to delta sessions: the full
	// state as a delta from nothing, on a session's first snapshot and
	// after its slot replaced one unsent (docs/protocol.md, "Delta
	// snapshots"). Every other snapshot of a delta session is a delta.
	SnapshotKeys atomic.Uint64
	// TickReads counts the sessions whose socket their match took over to
	// read it at its ticks (Session.Poll), whether or not it was handed back
	// since.
	TickReads atomic.Uint64
	// Writers is the sessions' writer goroutines started and not yet
	// ended, and WriterStarts counts every start: a session has one only
	// while a frame must wait (a queued frame, a deferred snapshot, the
	// socket's tail, a close).
	Writers      atomic.Int64
	WriterStarts atomic.Uint64
	// ReactorReads counts the sessions of event-driven seats read by the
	// server's reactor from their first byte (EventSeat), whether or not
	// handed back since.
	ReactorReads atomic.Uint64

	RefusedPerIP  atomic.Uint64 // requests answered 429: MaxConnsPerIP reached
	RefusedFull   atomic.Uint64 // requests answered 503: MaxConns reached
	RefusedOrigin atomic.Uint64 // requests answered 403: CheckOrigin refused them

	// closes counts ended sessions by reason. A mutex and a map rather
	// than atomics: sessions end far less often than frames arrive, and a
	// reason outside the vocabulary is counted rather than lost.
	closes struct {
		sync.Mutex
		n map[arbiterv1.CloseReason]uint64
	}
}

// Closes returns how many sessions closed for reason.
func (s *Stats) Closes(reason arbiterv1.CloseReason) uint64 {
	s.closes.Lock()
	defer s.closes.Unlock()
	return s.closes.n[reason]
}

// countClose counts one session ended for reason.
func (s *Stats) countClose(reason arbiterv1.CloseReason) {
	s.closes.Lock()
	defer s.closes.Unlock()
	if s.closes.n == nil {
		s.closes.n = make(map[arbiterv1.CloseReason]uint64)
	}
	s.closes.n[reason]++
}

// Server accepts game connections at GET /v1/play. Create with NewServer;
// it is an http.Handler. Shutdown closes every session and waits for their
// goroutines.
type Server struct {
	cfg      Config
	admit    Admitter
	upgrader *gws.Upgrader
	// wg counts every session goroutine: read loops, and writers, which
	// come and go (see Session.wakeLocked).
	wg sync.WaitGroup
	// startWriter starts a session's writer goroutine, counted in wg. Tests
	// of a session without a connection replace it, to play the writer.
	startWriter func(*Session)
	// sendBufferWarning logs a refused SendBuffer once, not per connection.
	sendBufferWarning sync.Once

	// The frame-rate limit in GCRA form (see Session.allow); zero
	// frameInterval means no limit.
	frameInterval time.Duration // 1 s / FrameRate
	frameSlack    time.Duration // (FrameBurst-1) · frameInterval

	// Stats is updated as sessions come and go.
	Stats Stats

	mu struct {
		sync.Mutex
		sessions map[*Session]struct{}
		closed   bool
		conns    int                  // connection slots held: handshakes and open sessions
		perIP    map[netip.Prefix]int // slots held per clientKey; no zero entries
		// reactor reads event-driven seats' sockets: made and started
		// with the first of them, stopped by Shutdown. reactorFailed: it
		// could not be made; every session is read by gws.
		reactor       *reactor
		reactorFailed bool
	}
}

// NewServer returns a Server admitting through admit. It starts nothing.
func NewServer(cfg Config, admit Admitter) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, admit: admit}
	s.startWriter = func(sess *Session) { s.wg.Go(sess.writeLoop) }
	s.mu.sessions = make(map[*Session]struct{})
	s.mu.perIP = make(map[netip.Prefix]int)
	if cfg.FrameRate > 0 {
		s.frameInterval = time.Second / time.Duration(cfg.FrameRate)
		s.frameSlack = time.Duration(cfg.FrameBurst-1) * s.frameInterval
	}
	s.upgrader = gws.NewUpgrader(&handler{srv: s}, &gws.ServerOption{
		ReadMaxPayloadSize: hardFrameLimit(cfg.MaxFrame),
		HandshakeTimeout:   cfg.HandshakeTimeout,
		Recovery:           gws.Recovery,
		NewSession:         func() gws.SessionStorage { return new(sessionStore) },
		Logger:             gwsLogger{cfg.Logger},
	})
	return s
}

// ServeHTTP checks the request's origin, the connection caps and the join
// token, then upgrades the connection. A refused Origin is answered 403,
// over MaxConnsPerIP 429, over MaxConns 503, and a missing or refused token
// 401, all before any upgrade.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.CheckOrigin != nil && !s.cfg.CheckOrigin(r) {
		s.Stats.RefusedOrigin.Add(1)
		httpError(w, http.StatusForbidden, "origin_not_allowed", "connections from this page's origin are not allowed")
		return
	}
	key := clientKey(r.RemoteAddr)
	switch s.acquire(key) {
	case http.StatusTooManyRequests:
		s.Stats.RefusedPerIP.Add(1)
		httpError(w, http.StatusTooManyRequests, "too_many_connections", "too many connections from this address")
		return
	case http.StatusServiceUnavailable:
		s.Stats.RefusedFull.Add(1)
		httpError(w, http.StatusServiceUnavailable, "server_full", "the server is full")
		return
	}
	// The slot is released here on every early return, and by OnClose once
	// the session's read loop runs.
	query := r.URL.Query()
	token := query.Get("token")
	if token == "" {
		s.release(key)
		s.Stats.Refused.Add(1)
		httpError(w, http.StatusUnauthorized, "unauthorized", "missing join token")
		return
	}
	seat, err := s.admit.Admit(token)
	if err != nil {
		s.release(key)
		s.Stats.Refused.Add(1)
		s.cfg.Logger.Debug("join refused", "remote", r.RemoteAddr, "err", err)
		httpError(w, http.StatusUnauthorized, "unauthorized", "invalid or expired join token")
		return
	}
	s.mu.Lock()
	closed := s.mu.closed
	s.mu.Unlock()
	if closed {
		s.release(key)
		httpError(w, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
		return
	}
	sock, br, err := s.hijack(w)
	if err != nil {
		s.release(key)
		s.cfg.Logger.Debug("hijack failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn, err := s.upgrader.UpgradeFromConn(sock, br, r)
	if err != nil {
		s.release(key)
		s.cfg.Logger.Debug("upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // gws has answered the request and closed the connection
	}
	sess := newSession(s, conn, sock, seat)
	sess.slot = key
	sess.delta = query.Get(snapshotsParam) == snapshotsDelta
	conn.Session().Store(sessionKey, sess)
	if !s.track(sess) {
		s.release(key)
		_ = conn.WriteClose(arbiterv1.CloseShutdown.Code(), []byte(arbiterv1.CloseShutdown))
		return
	}
	s.Stats.Accepted.Add(1)
	s.Stats.Active.Add(1)
	sess.touch(time.Now())
	readLoop := func() { // counted in wg by track
		defer s.wg.Done()
		conn.ReadLoop()
	}
	if !s.readOnEvents(sess, seat, readLoop) {
		go readLoop()
	}
	sess.startPings() // the writer starts when something must wait
	if err := seat.Attach(sess); err != nil {
		sess.Close(arbiterv1.CloseMatchOver, "the match is over")
	}
}

// readOnEvents gives a new session of an event-driven seat to the
// reactor, which reads its socket from the first byte, and reports whether
// it did: the session's gws read loop (readLoop, already counted in wg)
// then starts only when the socket is handed back (socket.adopt), which
// every end of the session does — a close by the server or the match, the
// client's close or end of stream, the idle deadline, Shutdown. Otherwise
// the caller starts the read loop.
func (s *Server) readOnEvents(sess *Session, seat Seat, readLoop func()) bool {
	es, ok := seat.(EventSeat)
	if !ok || !reactorSupported || s.cfg.DisableTickReads || !es.EventDriven() {
		return false
	}
	r := s.startReactor()
	if r == nil {
		return false
	}
	if !sess.sock.adopt(r, sess, func() { go readLoop() }) {
		return false
	}
	sess.events = true
	s.Stats.ReactorReads.Add(1)
	return true
}

// Errors of the reactor's registration, logged or not at all.
var (
	errReactorStopped = errors.New("netcode: reactor stopped")
	errNoReactor      = errors.New("netcode: no reactor on this platform")
)

// startReactor returns the server's reactor, making and starting it if it
// is the first asked for; nil once the server is shutting down, or if it
// cannot be made.
func (s *Server) startReactor() *reactor {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.mu.closed || s.mu.reactorFailed:
		return nil
	case s.mu.reactor != nil:
		return s.mu.reactor
	}
	r, err := newReactor(reactorSweep(s.cfg.IdleTimeout))
	if err != nil {
		s.mu.reactorFailed = true
		s.cfg.Logger.Warn("event-driven connections are read by a goroutine each", "err", err)
		return nil
	}
	s.mu.reactor = r
	go r.run() // stopped and waited for by Shutdown
	return r
}

// reactorSweep is how often the reactor checks its sessions' idle
// deadlines: an eighth of the timeout, at most a second, so that a silent
// client is dropped at most that late.
func reactorSweep(idle time.Duration) time.Duration {
	return min(time.Second, max(idle/8, time.Millisecond))
}

// The URL query parameter by which a client chooses its snapshots'
// encoding (docs/protocol.md, "Delta snapshots"): snapshots=delta asks for
// deltas; anything else, or nothing, gets full snapshots. The Welcome says
// which the connection gets.
const (
	snapshotsParam = "snapshots"
	snapshotsDelta = "delta"
)

// readBufferSize is the size of each connection's read buffer, held as
// long as the connection: 1 KiB, not gws's default 4 KiB, since a client's
// frames are small (an input or an action tens of bytes, Hello a few
// hundred) and a server holds thousands of connections (30 MB saved at
// 10,000). A larger frame is read past the buffer, straight into its
// payload.
const readBufferSize = 1 << 10

// hijack takes the connection over from net/http and wraps it in the
// socket every frame to and from the client will pass through. br reads
// the socket, not net/http's reader, which would lock and check limits on
// every read. A client that sent bytes after its upgrade
// request, before the answer (RFC 6455 §4.1 forbids it), is refused.
func (s *Server) hijack(w http.ResponseWriter) (*socket, *bufio.Reader, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		httpError(w, http.StatusInternalServerError, "internal", "connection cannot be upgraded")
		return nil, nil, errors.New("response writer is not a Hijacker")
	}
	nc, brw, err := hj.Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	if brw.Reader.Buffered() > 0 {
		_ = nc.Close()
		return nil, nil, errors.New("client sent data before the handshake completed")
	}
	if s.cfg.SendBuffer > 0 {
		if tc, ok := nc.(*net.TCPConn); ok {
			if err := tc.SetWriteBuffer(s.cfg.SendBuffer); err != nil {
				s.sendBufferWarning.Do(func() {
					s.cfg.Logger.Warn("cannot set the send buffer size; the OS default applies", "send_buffer", s.cfg.SendBuffer, "err", err)
				})
			}
		}
	}
	sock := newSocket(nc)
	sock.linger = s.cfg.Linger
	return sock, bufio.NewReaderSize(sock, readBufferSize), nil
}

// PendingBytes returns the bytes queued across all sessions and not yet
// written: the transport's send-side memory.
func (s *Server) PendingBytes() int {
	s.mu.Lock()
	sessions := make([]*Session, 0, len(s.mu.sessions))
	for sess := range s.mu.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	total := 0
	for _, sess := range sessions {
		_, b := sess.Pending()
		total += b
	}
	return total
}

// track registers a session for Shutdown to close and counts its read
// loop in wg; it reports false once Shutdown has begun.
func (s *Server) track(sess *Session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed {
		return false
	}
	s.mu.sessions[sess] = struct{}{}
	// The session's read loop is counted from here, under the lock
	// Shutdown sets closed under: a Shutdown that saw this session waits
	// for its read loop even if it has not started yet (ServeHTTP starts it
	// after this returns, or the reactor's hand-back does), and one that
	// did not see it refused it above. Counted later, the Add could follow
	// Shutdown's Wait.
	s.wg.Add(1)
	return true
}

// acquire takes a connection slot for the client key. It returns 0, or the
// HTTP status refusing the connection: 429 when the key holds
// MaxConnsPerIP slots, 503 when the server holds MaxConns. Every slot taken
// must be released exactly once.
func (s *Server) acquire(key netip.Prefix) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.cfg.MaxConnsPerIP > 0 && s.mu.perIP[key] >= s.cfg.MaxConnsPerIP:
		return http.StatusTooManyRequests
	case s.cfg.MaxConns > 0 && s.mu.conns >= s.cfg.MaxConns:
		return http.StatusServiceUnavailable
	}
	s.mu.perIP[key]++
	s.mu.conns++
	return 0
}

// release gives back a slot taken by acquire.
func (s *Server) release(key netip.Prefix) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.mu.perIP[key] - 1; n > 0 {
		s.mu.perIP[key] = n
	} else {
		delete(s.mu.perIP, key)
	}
	s.mu.conns--
}

// clientKey is the address MaxConnsPerIP counts by: the peer's IPv4
// address, or its IPv6 /64 (one subscriber's usual allocation, which a
// client could otherwise walk through). A remote address that is not an IP
// address, such as a Unix socket's, maps to the zero Prefix, which all such
// clients share.
func clientKey(remoteAddr string) netip.Prefix {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return netip.Prefix{}
	}
	addr := ap.Addr().Unmap().WithZone("")
	bits := 32
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits) // cannot fail: bits fits the address
	return p
}

func (s *Server) untrack(sess *Session) {
	s.mu.Lock()
	delete(s.mu.sessions, sess)
	s.mu.Unlock()
}

// Shutdown stops accepting connections, closes every session with 1001
// (shutdown), and waits for all session goroutines — read loops, and the
// writers the closes start — to end; every session's ping timer is
// stopped by then (its read loop ends it). If ctx ends first, it drops the
// remaining connections, waits for their goroutines to notice, and returns
// ctx.Err().
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.mu.closed = true
	sessions := make([]*Session, 0, len(s.mu.sessions))
	for sess := range s.mu.sessions {
		sessions = append(sessions, sess)
	}
	r := s.mu.reactor
	s.mu.reactor = nil
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.Close(arbiterv1.CloseShutdown, "the server is shutting down")
	}
	if r != nil {
		// Every session it read is handed back now (Close), and no new
		// one comes (closed): nothing is left for it to read.
		r.stop()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		for _, sess := range sessions {
			sess.sock.abort()
		}
		<-done
		return ctx.Err()
	}
}

// httpError writes the JSON error shape of docs/rest.md.
func httpError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": message}})
}

// gwsLogger routes gws's own error logs (such as recovered panics) to slog.
type gwsLogger struct{ log *slog.Logger }

func (l gwsLogger) Error(v ...any) { l.log.Error("gws: " + fmt.Sprint(v...)) }
