package netcode

// CloseReason is why a session ended. Its String form is the reason word of
// docs/protocol.md, used in Kick messages, close frames, logs and metric labels.
type CloseReason uint8

// Close reasons. ReasonClientClosed and ReasonNetwork are not sent to
// clients: the client closed, or the connection broke. ReasonIdle is sent
// (Kick idle, 1001) when the client went silent past the idle timeout, in
// case it is still listening: it may come back.
const (
	ReasonClientClosed CloseReason = iota
	ReasonNetwork
	ReasonIdle
	CloseMatchOver
	CloseShutdown
	CloseTextFrame
	CloseBadFrame
	CloseTooBig
	CloseSlowConsumer
	CloseReplaced
	CloseInternal
	CloseInputFlood
	CloseCheat
	CloseForfeited
	numReasons
)

var reasonWords = [numReasons]string{
	ReasonClientClosed: "client_closed",
	ReasonNetwork:      "network",
	ReasonIdle:         "idle",
	CloseMatchOver:     "match_over",
	CloseShutdown:      "shutdown",
	CloseTextFrame:     "text_frame",
	CloseBadFrame:      "bad_frame",
	CloseTooBig:        "too_big",
	CloseSlowConsumer:  "slow_consumer",
	CloseReplaced:      "replaced",
	CloseInternal:      "internal_error",
	CloseInputFlood:    "input_flood",
	CloseCheat:         "cheat",
	CloseForfeited:     "forfeited",
}

var reasonCodes = [numReasons]uint16{
	ReasonClientClosed: 1000,
	ReasonNetwork:      1006,
	ReasonIdle:         1001,
	CloseMatchOver:     1000,
	CloseShutdown:      1001,
	CloseTextFrame:     1003,
	CloseBadFrame:      1007,
	CloseTooBig:        1009,
	CloseSlowConsumer:  1008,
	CloseReplaced:      4000,
	CloseInternal:      1011,
	CloseInputFlood:    1008,
	CloseCheat:         1008,
	CloseForfeited:     4001,
}

// String returns the reason word.
func (r CloseReason) String() string {
	if r < numReasons {
		return reasonWords[r]
	}
	return "unknown"
}

// Code returns the WebSocket close code sent for the reason.
func (r CloseReason) Code() uint16 {
	if r < numReasons {
		return reasonCodes[r]
	}
	return 1011
}

// clientFault reports whether the session was closed for a frame the
// client should never have sent: a violation the match counts against the
// player (Seat.Violation).
func (r CloseReason) clientFault() bool {
	switch r {
	case CloseTextFrame, CloseBadFrame, CloseTooBig, CloseInputFlood:
		return true
	}
	return false
}

// parseReason maps a reason word from the match back to its CloseReason, for
// counting; unknown words count as internal errors.
func parseReason(word string) CloseReason {
	for r, w := range reasonWords {
		if w == word {
			return CloseReason(r)
		}
	}
	return CloseInternal
}
