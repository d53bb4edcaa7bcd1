// Package netcode is Arbiter's WebSocket transport, built on gws.
//
// Protocol flow (docs/protocol.md):
//
//	client                                   server
//	GET /v1/play?token=T[&snapshots=delta] ─▶ CheckOrigin: 403 for a page it refuses
//	                                          connection caps: 429 per address, 503 in all
//	                                          Admit(T): 401 unless T names a seat
//	                     ◀─────────────────── 101 Switching Protocols
//	                     ◀─────────────────── Welcome{match, entity, tick_rate, tick, snapshots}
//	ClientMessage{Input} ───────────────────▶ Seat.Input (buffered; the room applies ≤ 1 per tick)
//	                     ◀─────────────────── Snapshot every tick (newest wins if the client lags),
//	                                          or SnapshotDelta on a delta connection
//	ClientMessage{Ping}  ───────────────────▶
//	                     ◀─────────────────── Pong{client_time, tick}
//	                     ◀─────────────────── WebSocket ping every PingInterval; pong expected
//	                     ◀─────────────────── MatchEnd, Kick{match_over}, close 1000
//
// Every server-initiated close is preceded by a Kick naming the reason when
// the connection still allows it, and carries the same reason word in the
// close frame. The reasons and their close codes are the protocol's
// vocabulary, arbiterv1.CloseReason (docs/protocol.md, "Closing"); netcode
// passes them through from the match and counts every session's end under
// one of them (Stats.Closes), client_closed and network included.
//
// Clients are untrusted. Before the token is even looked at, a request is
// refused when the page it comes from (its Origin) is not one the owner's
// CheckOrigin allows, and when its address (an IPv4 address or an IPv6 /64) already holds
// MaxConnsPerIP connections, or the server MaxConns; slots are held from
// then until the session ends. Every frame a client sends, control frames
// included, draws on a per-session token bucket (FrameRate, FrameBurst);
// a client over it is kicked with input_flood. A session hands inputs only
// to the seat its token was admitted to: ClientMessage has no field naming
// an entity, so a player controls only the entity the token names.
//
// Snapshots come from the match already encoded, once per room per tick
// (arbiterv1.TickSnapshot): the full message, and the shared bodies of a
// key (the whole state from nothing) and of the delta from the previous
// tick. A client chooses its encoding in the URL (snapshots=delta; full
// otherwise). A full session writes the full message as it is. A delta
// session writes the shared body followed by its player's own
// acknowledgements, and decides which body when it writes: the delta if
// its base is the snapshot the session last wrote to the socket (TCP
// delivers in order, so the client has it), the key otherwise — on the
// session's first snapshot (a new connection, a resume) and after the
// newest-wins slot replaced one unsent. Either way nothing is allocated
// per session per tick.
//
// A Session has no goroutine of its own while nothing waits. Its reads
// are gws's read loop, which decodes frames and hands inputs to the match
// without blocking — unless the socket is polled (below), when the read
// loop is parked, or read by the reactor, when it is not started at all.
// Its writes are made at once by whoever sends (below), and a writer
// goroutine runs only while frames wait to be written: it is started when
// one must wait, writes them in batches under a deadline, and ends when
// nothing is left. Pings come from a timer per session. The match never
// blocks on a socket.
//
// A match that applies inputs only at its ticks (the arena) reads its
// players' sockets itself, at the start of every tick (Session.Poll, unless
// Config.DisableTickReads): the read loop hands the socket over between
// two frames and parks, the socket leaves Go's netpoller, and each tick
// makes one non-blocking read(2) per client — an input's arrival wakes
// nobody, which at thousands of clients was half the server's CPU. The
// poller takes only binary data frames, pings and pongs; anything else (a
// close, a text or fragmented frame, one too big, the end of the stream,
// the idle deadline), the session closing, and a write the kernel does not
// take whole hand the socket back to the read loop for good, with what was
// read but not parsed, and the session goes on as if it had never been
// polled (poll.go).
//
// A match that acts on each action as it arrives (chess: EventSeat) has
// its players' sockets read by the server's reactor (Linux, unless
// Config.DisableTickReads): one goroutine for the whole server, blocked in
// epoll_wait on their descriptors, which takes each socket over right after
// its upgrade, before gws's read loop is started — no read goroutine per
// connection, parked or not, whose stack the garbage collector would scan
// (at 10,000 connections, most of its mark work). When a socket is
// readable the reactor reads and dispatches it exactly as Poll does, and
// every few hundred milliseconds it checks the idle deadlines, which no
// event announces. The same hand-back ends it, and only then is gws's read
// loop started, reading first what the reactor left unparsed: every end of
// a session (a close by either side, the end of the stream, the idle
// deadline, Shutdown) passes through it, so OnClose runs once as ever
// (reactor_linux.go, socket.adopt).
//
// A snapshot offered, or a message sent (Send: an
// event-driven match's answer to a move), while nothing else waits to be
// sent is written at once, on the match's goroutine, with one non-blocking
// write (socket.go), and so is a ping; what the kernel does not take is
// left to the writer. Everything else waits for the writer: control
// frames and messages sent behind others in a bounded queue, a deferred
// snapshot in a single slot that the newest one overwrites. A session that stays behind — snapshots overwritten unsent
// for too long, a full queue, or a write past its deadline — is closed as a
// slow consumer.
//
// netcode knows matches only through the Admitter and Seat interfaces it
// declares; cmd adapts match's types to them.
package netcode
