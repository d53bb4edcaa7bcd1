package client

import (
	"time"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

// ChessClocks returns each side's time left at now as a chess client
// shows it between two States: b's clocks are the time left when the
// server made b (docs/chess.md), and while the game is played the side to
// move's clock runs from received, when the State arrived, down to zero.
// The server decides when a flag falls; the display only counts down.
// (received is later than the instant the server made b by the one-way
// latency, so the display is that much generous: the server's clock is
// the authority.)
func ChessClocks(b *chessv1.Board, received, now time.Time) (white, black time.Duration) {
	white = time.Duration(b.GetWhiteMs()) * time.Millisecond
	black = time.Duration(b.GetBlackMs()) * time.Millisecond
	if b.GetStatus() != "playing" {
		return white, black
	}
	elapsed := max(now.Sub(received), 0)
	switch b.GetTurn() {
	case "white":
		white = max(white-elapsed, 0)
	case "black":
		black = max(black-elapsed, 0)
	}
	return white, black
}
