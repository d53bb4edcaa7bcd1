package chess

import (
	"testing"
	"time"

	chesslib "github.com/corentings/chess/v2"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

const (
	alice = "alice" // White in every test game
	bob   = "bob"   // Black
)

// t0 is when every test game starts.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

var blitz = Clock{Base: 3 * time.Minute, Increment: 2 * time.Second}

func moveCmd(uci string) *chessv1.Command {
	return &chessv1.Command{Kind: &chessv1.Command_Move{Move: &chessv1.Move{Uci: uci}}}
}

func resignCmd() *chessv1.Command {
	return &chessv1.Command{Kind: &chessv1.Command_Resign{Resign: &chessv1.Resign{}}}
}

func offerCmd() *chessv1.Command {
	return &chessv1.Command{Kind: &chessv1.Command_OfferDraw{OfferDraw: &chessv1.OfferDraw{}}}
}

// started returns a game between alice (White) and bob under clock,
// started at t0.
func started(t testing.TB, clock Clock) *Game {
	t.Helper()
	g, err := New(alice, bob, clock)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if !g.Start(t0) {
		t.Fatal("Start(t0) = false, want true")
	}
	return g
}

// fromFEN returns a started game whose rules' state begins at fen instead of
// the standard position, for endings that take long to reach from the
// start. Only the rules are meant to be tested on it: its Snapshot and PGN
// do not know the FEN.
func fromFEN(t testing.TB, fen string, clock Clock) *Game {
	t.Helper()
	g := started(t, clock)
	lib, ok := newLibGame(fen)
	if !ok {
		t.Fatalf("FEN(%q) does not decode", fen)
	}
	g.lib = lib
	return g
}

// toMove returns the player whose turn it is.
func toMove(g *Game) string { return g.players[g.turn()] }

// play applies moves for whoever is to move, one second apart after at,
// failing on any rejection. It returns the instant of the last move.
func play(t testing.TB, g *Game, at time.Time, moves ...string) time.Time {
	t.Helper()
	for _, uci := range moves {
		at = at.Add(time.Second)
		changed, rej := g.Apply(toMove(g), moveCmd(uci), at)
		if rej != nil || !changed {
			t.Fatalf("Apply(%s, %s) = %v, %v; want true, nil (moves so far %v)", toMove(g), uci, changed, rej, g.moves.Strings())
		}
	}
	return at
}

// apply applies cmd for player at now and fails unless the answer is
// wantChanged and a rejection with wantReason (0 for none).
func apply(t testing.TB, g *Game, player string, cmd *chessv1.Command, now time.Time, wantChanged bool, wantReason Reason) {
	t.Helper()
	changed, rej := g.Apply(player, cmd, now)
	var reason Reason
	if rej != nil {
		reason = rej.Reason
	}
	if changed != wantChanged || reason != wantReason {
		t.Fatalf("Apply(%s, %v) = %v, %v; want %v, %v", player, cmd, changed, rej, wantChanged, wantReason)
	}
}

// checkInvariants fails if g's state is not one a game can be in.
func checkInvariants(t testing.TB, g *Game, now time.Time) {
	t.Helper()
	b := g.Board(now)
	if _, err := chesslib.FEN(b.Fen); err != nil {
		t.Fatalf("Board().Fen %q does not parse: %v", b.Fen, err)
	}
	if _, ok := parseStatus(b.Status); !ok {
		t.Fatalf("Board().Status = %q, not a status word", b.Status)
	}
	if b.Winner != "" && b.Winner != alice && b.Winner != bob {
		t.Fatalf("Board().Winner = %q", b.Winner)
	}
	if b.Winner != "" && !g.status.Over() {
		t.Fatalf("winner %q in a game that is %s", b.Winner, g.status)
	}
	if b.DrawOffer != "" && (g.status != Playing || (b.DrawOffer != alice && b.DrawOffer != bob)) {
		t.Fatalf("draw offer %q in a game that is %s", b.DrawOffer, g.status)
	}
	if b.Turn != "white" && b.Turn != "black" {
		t.Fatalf("Board().Turn = %q", b.Turn)
	}
	if fen := replay(t, b.Moves); fen != b.Fen {
		t.Fatalf("Board().Moves replay to %s, Board().Fen is %s", fen, b.Fen)
	}
	maxLeft := g.clock.Base + time.Duration(len(b.Moves))*g.clock.Increment
	for _, left := range g.left {
		if left < 0 || left > maxLeft {
			t.Fatalf("time left %v outside [0, %v]", left, maxLeft)
		}
	}
	if (g.lib.Outcome() != chesslib.NoOutcome) && !g.status.Over() {
		t.Fatalf("the library ended the game (%s), the game is %s", g.lib.Method(), g.status)
	}
}

// replay plays moves from the start through the library's positions,
// checking each is legal, and returns the final FEN.
func replay(t testing.TB, moves []string) string {
	t.Helper()
	pos := chesslib.StartingPosition()
	for i, uci := range moves {
		m, err := chesslib.UCINotation{}.Decode(pos, uci)
		if err != nil {
			t.Fatalf("move %d (%s): %v", i+1, uci, err)
		}
		legal := false
		for _, v := range pos.ValidMoves() {
			legal = legal || (v.S1() == m.S1() && v.S2() == m.S2() && v.Promo() == m.Promo())
		}
		if !legal {
			t.Fatalf("move %d (%s) is illegal in %s", i+1, uci, pos)
		}
		pos = pos.Update(m)
	}
	return pos.String()
}
