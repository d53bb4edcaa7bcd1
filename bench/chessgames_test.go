package bench

import (
	"slices"
	"testing"

	chesslib "github.com/corentings/chess/v2"
)

// TestRecordedGamesLegal replays every recorded game with the chess library
// the server plays by (match/chess): each move is one of the position's
// legal moves, no position on the way ends the game by the rules the server
// applies at once (mate, stalemate, insufficient material, threefold
// repetition, fifty moves), and the last one is either a mate (the server
// ends the game) or no ending (the bot to move resigns).
func TestRecordedGamesLegal(t *testing.T) {
	if len(recordedGames) < 5 {
		t.Fatalf("%d recorded games, want at least 5", len(recordedGames))
	}
	for i, moves := range recordedMoves {
		name := recordedGames[i].Name
		if n := len(moves); n < 30 || n > maxPlies-1 {
			t.Errorf("%s: %d plies, want 30 to %d", name, n, maxPlies-1)
		}
		g := chesslib.NewGame()
		for ply, uci := range moves {
			if g.Outcome() != chesslib.NoOutcome {
				t.Errorf("%s: the game ended (%s) before ply %d", name, g.Method(), ply+1)
				break
			}
			legal := slices.IndexFunc(g.ValidMoves(), func(m chesslib.Move) bool { return m.String() == uci })
			if legal < 0 {
				t.Errorf("%s: ply %d %q is not a legal move in %s", name, ply+1, uci, g.FEN())
				break
			}
			m := g.ValidMoves()[legal]
			if err := g.Move(&m, nil); err != nil {
				t.Errorf("%s: ply %d %q: %v", name, ply+1, uci, err)
				break
			}
			for _, d := range g.EligibleDraws() {
				if d == chesslib.ThreefoldRepetition || d == chesslib.FiftyMoveRule {
					t.Errorf("%s: after ply %d the server would end the game (%s)", name, ply+1, d)
				}
			}
		}
		if m := g.Method(); m != chesslib.NoMethod && m != chesslib.Checkmate {
			t.Errorf("%s ends by %s, want checkmate or no ending", name, m)
		}
	}
}
