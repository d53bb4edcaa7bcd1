package client

import (
	"testing"
	"time"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

func TestChessClocks(t *testing.T) {
	at := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	board := func(status, turn string) *chessv1.Board {
		return &chessv1.Board{Status: status, Turn: turn, WhiteMs: 60_000, BlackMs: 30_000}
	}
	tests := []struct {
		name         string
		b            *chessv1.Board
		after        time.Duration
		white, black time.Duration
	}{
		{"white to move: white's runs", board("playing", "white"), 1500 * time.Millisecond, 58500 * time.Millisecond, 30 * time.Second},
		{"black to move: black's runs", board("playing", "black"), 10 * time.Second, time.Minute, 20 * time.Second},
		{"never below zero", board("playing", "black"), time.Hour, time.Minute, 0},
		{"a clock before the State: as made", board("playing", "white"), -time.Second, time.Minute, 30 * time.Second},
		{"the game is over: both still", board("checkmate", "white"), time.Minute, time.Minute, 30 * time.Second},
		{"waiting: both still", board("waiting", "white"), time.Minute, time.Minute, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, b := ChessClocks(tt.b, at, at.Add(tt.after))
			if w != tt.white || b != tt.black {
				t.Errorf("ChessClocks after %v = %v, %v; want %v, %v", tt.after, w, b, tt.white, tt.black)
			}
		})
	}
}
