package arbiterv1

// This file is hand-written, beside the generated code: the close vocabulary
// of the game protocol is not a protobuf message (Kick.reason is a string on
// the wire, and close frames carry a code and a reason text), but it is part
// of the protocol, and every package that opens, closes or reports a game
// connection — match, netcode, netcode/client, the metrics — takes it from
// here. docs/protocol.md's "Closing" tables are the human side of the same
// list; a test holds the two together.

// CloseReason is why a game connection ended: the one lowercase word that a
// Kick's reason field and the close frame's reason text carry, and the label
// under which closes are logged and counted. Its value is the word itself,
// so a word received from a newer server, unknown here, survives as it came.
//
// Each reason has its WebSocket close code (Code) and tells whether the
// player may reconnect with the same join token (Resumable).
type CloseReason string

// The reasons the server closes a game connection for, each preceded by a
// Kick with the same word where the connection still allows it.
const (
	// CloseMatchOver (1000): the match ended; MatchEnd came before it, and
	// the join token no longer admits.
	CloseMatchOver CloseReason = "match_over"
	// CloseShutdown (1001): the server is shutting down; the player may
	// come back (to another server) with the same token.
	CloseShutdown CloseReason = "shutdown"
	// CloseIdle (1001): nothing, not even a pong, arrived within the idle
	// timeout. Sent in case the client is still listening: it may come back.
	CloseIdle CloseReason = "idle"
	// CloseTextFrame (1003): the client sent a text frame; the protocol is
	// binary only. Also sent by the Go client to a server that does so.
	CloseTextFrame CloseReason = "text_frame"
	// CloseBadFrame (1007): a frame that does not decode as the protocol's
	// message, or that breaks WebSocket framing. Also sent by the Go client
	// for an undecodable server frame.
	CloseBadFrame CloseReason = "bad_frame"
	// CloseInputFlood (1008, policy): frames beyond the transport's
	// frame-rate limit and its burst.
	CloseInputFlood CloseReason = "input_flood"
	// CloseCheat (1008, policy): the player was kicked for cheating; its
	// Kick message names the rules broken, and the token no longer admits.
	CloseCheat CloseReason = "cheat"
	// CloseSlowConsumer (1008, policy): the client did not take its bytes
	// fast enough. It says more about the path than the player: a fresh
	// connection, with an empty queue, may come back.
	CloseSlowConsumer CloseReason = "slow_consumer"
	// CloseTooBig (1009): a frame larger than the server accepts. Also the
	// Go client's reason for a server frame beyond its own limit.
	CloseTooBig CloseReason = "too_big"
	// CloseInternalError (1011): the match failed on the server.
	CloseInternalError CloseReason = "internal_error"
	// CloseReplaced (4000): another connection with the same join token
	// took the seat; this one must not reconnect.
	CloseReplaced CloseReason = "replaced"
	// CloseForfeited (4001): the player was away past the grace period and
	// forfeited; sent instead of a Welcome when it comes back.
	CloseForfeited CloseReason = "forfeited"
)

// The ends of a connection that the server does not send: it counts its
// sessions under these words, and the Go client reports them.
const (
	// CloseClientClosed (1000): the client closed the connection. The Go
	// client's Close sends 1000 with no reason text.
	CloseClientClosed CloseReason = "client_closed"
	// CloseProtocol (1002): the Go client closes with it on a server that
	// broke the protocol (a first message other than Welcome, a second
	// Welcome, an impossible one). A server receiving a client's 1002
	// counts the session as client_closed, like any close the client
	// chose; only a framing error its WebSocket library detects itself is
	// bad_frame.
	CloseProtocol CloseReason = "protocol"
	// CloseNetwork (1006): the connection ended without a close frame. 1006
	// is never sent in a frame; it names a close that did not happen.
	CloseNetwork CloseReason = "network"
)

// closeReasons is the vocabulary, in docs/protocol.md's order: the code of
// each reason and whether the player may reconnect after it.
var closeReasons = [...]struct {
	reason    CloseReason
	code      uint16
	resumable bool
}{
	{CloseMatchOver, 1000, false},
	{CloseShutdown, 1001, true},
	{CloseIdle, 1001, true},
	{CloseTextFrame, 1003, false},
	{CloseBadFrame, 1007, false},
	{CloseInputFlood, 1008, false},
	{CloseCheat, 1008, false},
	{CloseSlowConsumer, 1008, true},
	{CloseTooBig, 1009, false},
	{CloseInternalError, 1011, true},
	{CloseReplaced, 4000, false},
	{CloseForfeited, 4001, false},
	{CloseClientClosed, 1000, true},
	{CloseProtocol, 1002, true},
	{CloseNetwork, 1006, true},
}

// CloseReasons returns every reason of the vocabulary, those the server
// sends first, in docs/protocol.md's order: for a metric that reports each
// one, even at zero. The caller owns the slice.
func CloseReasons() []CloseReason {
	rs := make([]CloseReason, 0, len(closeReasons))
	for _, c := range closeReasons {
		rs = append(rs, c.reason)
	}
	return rs
}

// ParseCloseReason returns the reason a received word (a Kick's reason, a
// close frame's reason text) names, and whether it is one of the
// vocabulary's. An unknown word — from a newer server, or not a reason at
// all — is returned as it came, with false.
func ParseCloseReason(word string) (CloseReason, bool) {
	r := CloseReason(word)
	return r, r.index() >= 0
}

// String returns the reason word.
func (r CloseReason) String() string { return string(r) }

// Code returns the WebSocket close code that goes with the reason; 1011
// (internal error) for a word outside the vocabulary.
func (r CloseReason) Code() uint16 {
	if i := r.index(); i >= 0 {
		return closeReasons[i].code
	}
	return 1011
}

// Resumable reports whether a player whose connection ended for this
// reason may reconnect with the same join token: yes when the reason
// describes the server, the path or the client's own choice (shutdown,
// idle, slow_consumer, internal_error, client_closed, protocol, network),
// no for a verdict on the player or its match (match_over, replaced,
// forfeited, cheat, and the frames no honest client sends). An unknown
// word is not resumable.
func (r CloseReason) Resumable() bool {
	i := r.index()
	return i >= 0 && closeReasons[i].resumable
}

// index returns r's position in closeReasons, or -1.
func (r CloseReason) index() int {
	for i, c := range closeReasons {
		if c.reason == r {
			return i
		}
	}
	return -1
}
