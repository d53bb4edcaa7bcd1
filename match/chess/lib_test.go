package chess

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	chesslib "github.com/corentings/chess/v2"
)

// TestLibGameMatchesLibrary plays random games through libGame and through
// the library's own Game (which keeps every position and looks for
// repetitions its way) and checks, after every move, that both have the
// same position, the same outcome and method, and allow the same draw
// claims. The moves favour quiet ones (no capture, no pawn move) so that
// positions repeat and the fifty- and seventy-five-move rules come up;
// some games start from sparse positions, for the material rules.
func TestLibGameMatchesLibrary(t *testing.T) {
	starts := []string{
		"", // the standard position
		"4k3/8/8/8/8/8/8/R3K3 w Q - 0 1",
		"4k3/8/8/8/8/8/8/2NNK3 w - - 0 1",
		"4k3/8/8/8/8/8/1b6/2B1K3 w - - 0 1",
		"4k3/8/8/8/8/8/2b5/2B1K3 w - - 0 1",
		"3nk3/8/8/8/8/8/8/3NK3 w - - 0 1",
		"4k3/4p3/8/8/8/8/8/2B1K3 w - - 0 1",
		"r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 90 60",
		"8/8/4k3/8/8/4K3/4P3/8 w - - 0 1",
	}
	games := 2
	if testing.Short() || raceEnabled {
		games = 1
	}
	counts := map[chesslib.Method]int{}
	for i, fen := range starts {
		for seed := range uint64(games) {
			name := fmt.Sprintf("start %d seed %d", i, seed)
			counts[playBoth(t, name, fen, rand.New(rand.NewPCG(seed, uint64(i))))]++
		}
	}
	t.Logf("endings: %v", counts)
	for _, m := range []chesslib.Method{chesslib.FivefoldRepetition, chesslib.SeventyFiveMoveRule, chesslib.InsufficientMaterial} {
		if counts[m] == 0 {
			t.Errorf("no game ended by %v: the test does not exercise it", m)
		}
	}
}

// playBoth plays one random game from fen (the start when empty) through
// both and returns how it ended (NoMethod: still going after maxPlies).
func playBoth(t *testing.T, name, fen string, rng *rand.Rand) chesslib.Method {
	t.Helper()
	ours, ok := newLibGame(fen)
	if !ok {
		t.Fatalf("%s: newLibGame(%q) failed", name, fen)
	}
	theirs := chesslib.NewGame()
	if fen != "" {
		fenMu.Lock()
		opt, err := chesslib.FEN(fen)
		fenMu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		theirs = chesslib.NewGame(opt)
	}
	const maxPlies = 200      // the library's Game takes O(plies²) to play them
	var last [2]chesslib.Move // each side's previous move
	for ply := 0; ; ply++ {
		where := fmt.Sprintf("%s, ply %d (%s)", name, ply, theirs.FEN())
		if ours.FEN() != theirs.FEN() {
			t.Fatalf("%s: FEN %s, the library's %s", where, ours.FEN(), theirs.FEN())
		}
		if ours.Outcome() != theirs.Outcome() || ours.Method() != theirs.Method() {
			t.Fatalf("%s: outcome %v by %v, the library's %v by %v", where, ours.Outcome(), ours.Method(), theirs.Outcome(), theirs.Method())
		}
		eligible := theirs.EligibleDraws()
		threefold, fifty := ours.repetitions() >= 3, ours.Position().HalfMoveClock() >= 100
		if threefold != slices.Contains(eligible, chesslib.ThreefoldRepetition) || fifty != slices.Contains(eligible, chesslib.FiftyMoveRule) {
			t.Fatalf("%s: threefold %v, fifty %v claimable; the library allows %v", where, threefold, fifty, eligible)
		}
		if theirs.Outcome() != chesslib.NoOutcome {
			return theirs.Method()
		}
		if ply == maxPlies {
			return chesslib.NoMethod
		}
		valid := ours.ValidMoves()
		if lv := theirs.ValidMoves(); len(lv) != len(valid) {
			t.Fatalf("%s: %d legal moves, the library's Game %d", where, len(valid), len(lv))
		}
		m := pickMove(rng, ours.Position(), valid, last[ply%2])
		last[ply%2] = m
		ours.play(&m)
		lm := m
		if err := theirs.UnsafeMove(&lm, nil); err != nil {
			t.Fatalf("%s: the library refused %v: %v", where, m, err)
		}
	}
}

// pickMove picks a random move: half the time the move that undoes the
// side's previous one (to bring positions back), else a quiet one (no
// capture, no pawn move) nine times in ten when there is one.
func pickMove(rng *rand.Rand, pos *chesslib.Position, valid []chesslib.Move, prev chesslib.Move) chesslib.Move {
	if rng.IntN(2) == 0 {
		for _, m := range valid {
			if m.S1() == prev.S2() && m.S2() == prev.S1() && !m.HasTag(chesslib.Capture) {
				return m
			}
		}
	}
	var quiet []chesslib.Move
	for _, m := range valid {
		if !m.HasTag(chesslib.Capture) && pos.Board().Piece(m.S1()).Type() != chesslib.Pawn {
			quiet = append(quiet, m)
		}
	}
	if len(quiet) > 0 && rng.IntN(10) > 0 {
		return quiet[rng.IntN(len(quiet))]
	}
	return valid[rng.IntN(len(valid))]
}

// TestRepetitionKey: the key drops the two clocks and nothing else.
func TestRepetitionKey(t *testing.T) {
	tests := []struct{ give, want string }{
		{"rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq e3 0 1", "rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq e3"},
		{"4k3/8/8/8/8/8/8/4K3 w - - 99 120", "4k3/8/8/8/8/8/8/4K3 w - -"},
		{"nonsense", "nonsense"},
	}
	for _, tt := range tests {
		if got := repetitionKey(tt.give); got != tt.want {
			t.Errorf("repetitionKey(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}
