package chess

import (
	"strings"
	"testing"
	"time"

	chesslib "github.com/corentings/chess/v2"
)

// parsePGN reads pgn back with the library.
func parsePGN(t *testing.T, pgn string) *chesslib.Game {
	t.Helper()
	opt, err := chesslib.PGN(strings.NewReader(pgn))
	if err != nil {
		t.Fatalf("chess.PGN(%q): %v", pgn, err)
	}
	return chesslib.NewGame(opt)
}

func TestPGN(t *testing.T) {
	g := started(t, blitz)
	play(t, g, t0, "f2f3", "e7e5", "g2g4", "d8h4")
	want := `[Event "Arbiter chess"]
[Site "Arbiter"]
[Date "2025.03.14"]
[Round "-"]
[White "alice"]
[Black "bob"]
[Result "0-1"]
[TimeControl "180+2"]
[Termination "normal"]

1. f3 e5 2. g4 Qh4# 0-1
`
	if got := g.PGN(); got != want {
		t.Errorf("PGN() = %q, want %q", got, want)
	}
	lib := parsePGN(t, g.PGN())
	if lib.Outcome() != chesslib.BlackWon || lib.FEN() != g.FEN() {
		t.Errorf("parsed back: outcome %s, FEN %s; want 0-1, %s", lib.Outcome(), lib.FEN(), g.FEN())
	}
	for _, tag := range []struct{ k, v string }{{"White", alice}, {"Black", bob}, {"Date", "2025.03.14"}, {"Result", "0-1"}} {
		if got := lib.GetTagPair(tag.k); got != tag.v {
			t.Errorf("tag %s = %q, want %q", tag.k, got, tag.v)
		}
	}
}

// TestPGNParsesBack: long games (the movetext wraps), every kind of
// ending, and a running game parse back to the same moves.
func TestPGNParsesBack(t *testing.T) {
	tests := []struct {
		name   string
		moves  []string
		end    func(g *Game, at time.Time)
		result string
	}{
		{"fifty moves", append([]string{"e2e4", "e7e5"}, fiftyMoves...), nil, "1/2-1/2"},
		{"timeout", []string{"e2e4"}, func(g *Game, at time.Time) { g.Flag(at.Add(time.Hour)) }, "1-0"},
		{"resigned", []string{"e2e4"}, func(g *Game, at time.Time) { g.Apply(alice, resignCmd(), at) }, "0-1"},
		{"running", []string{"e2e4", "e7e5", "e1e2"}, nil, "*"},
		{"aborted", []string{"e2e4"}, func(g *Game, at time.Time) { g.Abort(at) }, "*"},
		{"promotion and castling", []string{"a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "g8f6", "b7a8n", "e7e6", "g1f3", "f8e7", "e2e3", "e8g8"}, nil, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t, blitz)
			at := play(t, g, t0, tt.moves...)
			if tt.end != nil {
				tt.end(g, at)
			}
			pgn := g.PGN()
			for _, line := range strings.Split(pgn, "\n") {
				if len(line) > 79 {
					t.Errorf("line of %d characters: %q", len(line), line)
				}
			}
			lib := parsePGN(t, pgn)
			var got []string
			for _, m := range lib.Moves() {
				got = append(got, chesslib.UCINotation{}.Encode(nil, m))
			}
			if strings.Join(got, " ") != strings.Join(g.Moves(), " ") {
				t.Errorf("moves parsed back %v, want %v", got, g.Moves())
			}
			if r := lib.GetTagPair("Result"); r != tt.result {
				t.Errorf("Result tag %q, want %q", r, tt.result)
			}
		})
	}
}
