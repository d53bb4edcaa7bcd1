package client

import (
	"errors"
	"fmt"
	"net/url"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

var (
	// ErrClosed is returned by the sending methods of a Client whose
	// connection has ended, for whatever reason; CloseError says why.
	ErrClosed = errors.New("client: connection closed")
	// ErrProtocol is the cause recorded in CloseError when the server broke
	// the protocol in a way the client cannot live with (a first message
	// that is not a Welcome, a second Welcome, a text frame, a Snapshot in
	// a game played with actions, a State or Rejected in the arena). The
	// client closes such connections with 1002, or 1003 for a text frame.
	ErrProtocol = errors.New("client: protocol violation by server")
	// ErrBadFrame is the cause recorded in CloseError when a server frame
	// could not be decoded; the client closes with 1007 (bad_frame).
	ErrBadFrame = errors.New("client: undecodable server frame")
	// ErrNotResumable is returned by Resume, wrapped together with the
	// earlier Client's *CloseError, when that connection ended in a way
	// that forbids coming back (match over, replaced, forfeited, kicked); see
	// CloseError.Resumable. Resume makes no attempt then.
	ErrNotResumable = errors.New("client: connection not resumable")
	// ErrResumeMismatch is returned by Resume when the server welcomed the
	// new connection to another match or entity than the earlier Client's.
	ErrResumeMismatch = errors.New("client: resumed into another match or entity")
	// ErrWrongGame is returned by SendAction and SendActionMessage in the
	// arena, and by SendInput and RunInputs in a game played with actions
	// (Welcome.PlayedWithActions): the server would ignore what was sent.
	// Nothing is sent and the connection stays open.
	ErrWrongGame = errors.New("client: message not of the match's game")
)

// HandshakeError is returned by Dial, wrapped, when the server answered the
// WebSocket upgrade request with something other than 101 Switching
// Protocols — 401 for a missing, forged, expired or wrong-match token.
// Retrieve it with errors.As.
type HandshakeError struct {
	// StatusCode is the HTTP status code of the refusal, e.g. 401.
	StatusCode int
	// Status is the HTTP status line text, e.g. "401 Unauthorized".
	Status string
	// Err is what the WebSocket library reported.
	Err error
}

// Error implements error.
func (e *HandshakeError) Error() string {
	return fmt.Sprintf("client: handshake refused: %s", e.Status)
}

// Unwrap returns the library's error.
func (e *HandshakeError) Unwrap() error { return e.Err }

// CloseError describes how a connection ended. Client.CloseError returns it
// once Done is closed.
type CloseError struct {
	// Code is the WebSocket close code: the server's (1000 match_over,
	// 1001 shutdown or idle, 1008 policy, 4000 replaced, 4001 forfeited,
	// …) when the server closed, the client's own when it did (Local), and
	// 1006 when the connection dropped without a close frame.
	Code uint16
	// Reason is the close frame's reason text, a word of the protocol's
	// vocabulary such as arbiterv1.CloseMatchOver (or whatever text a
	// server or proxy outside it sent): the server's, or the client's own
	// when Local.
	Reason arbiterv1.CloseReason
	// Local reports whether the client closed the connection: Close (1000),
	// or a protocol violation by the server (1002, 1003, 1007, 1009).
	Local bool
	// KickReason and KickMessage are the last Kick the server sent before
	// closing, if any: the reason word, as it came, and text for humans.
	KickReason  arbiterv1.CloseReason
	KickMessage string
	// Err is the local cause, if any: ErrBadFrame or ErrProtocol (wrapped),
	// or the network error that ended a connection without a close frame.
	Err error
}

// Error implements error.
func (e *CloseError) Error() string {
	s := fmt.Sprintf("client: connection closed: code %d", e.Code)
	if e.Reason != "" {
		s += " (" + string(e.Reason) + ")"
	}
	if e.KickReason != "" {
		s += ", kicked: " + string(e.KickReason)
		if e.KickMessage != "" {
			s += ": " + e.KickMessage
		}
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the local cause.
func (e *CloseError) Unwrap() error { return e.Err }

// redact returns rawURL without its query, which carries the join token: error
// messages end up in logs, tokens must not.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<invalid url>"
	}
	if u.RawQuery != "" {
		u.RawQuery = "redacted"
	}
	u.User = nil
	return u.String()
}
