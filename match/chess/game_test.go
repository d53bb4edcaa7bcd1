package chess

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

func TestFoolsMate(t *testing.T) {
	g := started(t, blitz)
	at := play(t, g, t0, "f2f3", "e7e5", "g2g4", "d8h4")
	res, ok := g.Over()
	want := Result{Status: Checkmate, Winner: bob, White: alice, Black: bob}
	if !ok || res != want {
		t.Fatalf("Over() = %+v, %v; want %+v, true", res, ok, want)
	}
	if p := res.Placement(bob); p != 1 {
		t.Errorf("Placement(bob) = %d, want 1", p)
	}
	if p := res.Placement(alice); p != 2 {
		t.Errorf("Placement(alice) = %d, want 2", p)
	}
	b := g.Board(at.Add(time.Hour))
	wantB := &chessv1.Board{
		Fen:           "rnb1kbnr/pppp1ppp/8/4p3/6Pq/5P2/PPPPP2P/RNBQKBNR w KQkq - 1 3",
		Moves:         []string{"f2f3", "e7e5", "g2g4", "d8h4"},
		WhitePlayerId: alice,
		BlackPlayerId: bob,
		WhiteMs:       180000 - 2000 + 2*2000, // two moves of 1 s each, two increments
		BlackMs:       180000 - 2000 + 2*2000,
		Turn:          "white",
		Status:        "checkmate",
		Winner:        bob,
	}
	if diff := cmp.Diff(wantB, b, protocmp.Transform()); diff != "" {
		t.Errorf("Board() mismatch (-want +got):\n%s", diff)
	}
	if _, ok := g.Deadline(); ok {
		t.Error("Deadline() ok after the end, want no running clock")
	}
}

// TestRejections: every refused command is answered with its reason word
// and changes nothing, not even the version.
func TestRejections(t *testing.T) {
	tests := []struct {
		name   string
		setup  []string // moves before the command
		player string
		give   *chessv1.Command
		want   Reason
	}{
		{"garbage", nil, alice, moveCmd("hello"), IllegalMove},
		{"empty uci", nil, alice, moveCmd(""), IllegalMove},
		{"illegal", nil, alice, moveCmd("e2e5"), IllegalMove},
		{"null move", nil, alice, moveCmd("e2e2"), IllegalMove},
		{"empty square", nil, alice, moveCmd("e4e5"), IllegalMove},
		{"uppercase", nil, alice, moveCmd("E2E4"), IllegalMove},
		{"promotion suffix on a plain move", nil, alice, moveCmd("e2e4q"), IllegalMove},
		{"off the board", nil, alice, moveCmd("e2e9"), IllegalMove},
		{"second square bad", nil, alice, moveCmd("e2z4"), IllegalMove},
		{"too long", nil, alice, moveCmd("e2e4qq"), IllegalMove},
		{"san", nil, alice, moveCmd("Nf3"), IllegalMove},
		{"opponent's piece", nil, alice, moveCmd("e7e5"), IllegalMove},
		{"control: a legal move", []string{"e2e4", "e7e5"}, alice, moveCmd("e1e2"), 0},
		{"pinned piece", []string{"e2e4", "e7e5", "d1h5"}, bob, moveCmd("f7f6"), IllegalMove},
		{"king into check", []string{"e2e4", "f7f6", "d1h5"}, bob, moveCmd("e8f7"), IllegalMove},
		{"ignores check", []string{"e2e4", "f7f6", "d1h5"}, bob, moveCmd("a7a6"), IllegalMove},
		{"empty command", nil, alice, &chessv1.Command{}, IllegalMove},
		{"nil command", nil, alice, nil, IllegalMove},
		{"empty move", nil, alice, &chessv1.Command{Kind: &chessv1.Command_Move{}}, IllegalMove},
		{"out of turn", nil, bob, moveCmd("e7e5"), NotYourTurn},
		{"twice in a row", []string{"e2e4"}, alice, moveCmd("d2d4"), NotYourTurn},
		{"stranger moves", nil, "mallory", moveCmd("e2e4"), NotYourTurn},
		{"stranger resigns", nil, "mallory", resignCmd(), NotYourTurn},
		{"stranger offers", nil, "mallory", offerCmd(), NotYourTurn},
		{"after the end: move", []string{"f2f3", "e7e5", "g2g4", "d8h4"}, alice, moveCmd("e1f2"), GameOver},
		{"after the end: resign", []string{"f2f3", "e7e5", "g2g4", "d8h4"}, alice, resignCmd(), GameOver},
		{"after the end: offer", []string{"f2f3", "e7e5", "g2g4", "d8h4"}, bob, offerCmd(), GameOver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t, blitz)
			at := play(t, g, t0, tt.setup...)
			before, version := g.Board(at), g.Version()
			changed, rej := g.Apply(tt.player, tt.give, at)
			if tt.want == 0 {
				if rej != nil || !changed {
					t.Fatalf("Apply() = %v, %v; want true, nil", changed, rej)
				}
				return
			}
			if rej == nil || rej.Reason != tt.want || changed {
				t.Fatalf("Apply() = %v, %v; want false, %s", changed, rej, tt.want)
			}
			if rej.Message == "" {
				t.Error("rejection without a message")
			}
			if diff := cmp.Diff(before, g.Board(at), protocmp.Transform()); diff != "" {
				t.Errorf("a rejected command changed the board (-before +after):\n%s", diff)
			}
			if g.Version() != version {
				t.Errorf("Version() = %d, want %d", g.Version(), version)
			}
		})
	}
}

func TestWaiting(t *testing.T) {
	g, err := New(alice, bob, blitz)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []*chessv1.Command{moveCmd("e2e4"), resignCmd(), offerCmd()} {
		apply(t, g, alice, cmd, t0, false, NotYourTurn)
	}
	if _, ok := g.Deadline(); ok {
		t.Error("Deadline() ok while waiting")
	}
	if b := g.Board(t0.Add(time.Hour)); b.Status != "waiting" || b.WhiteMs != 180000 || b.BlackMs != 180000 {
		t.Errorf("Board() = %v, want waiting with full clocks", b)
	}
	if !g.Start(t0) || g.Start(t0) {
		t.Error("Start twice: want true then false")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name         string
		white, black string
		clock        Clock
	}{
		{"no white", "", bob, blitz},
		{"no black", alice, "", blitz},
		{"same player", alice, alice, blitz},
		{"no base", alice, bob, Clock{Increment: time.Second}},
		{"negative increment", alice, bob, Clock{Base: time.Minute, Increment: -time.Second}},
		{"too long", alice, bob, Clock{Base: 1000 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.white, tt.black, tt.clock); err == nil {
				t.Error("New() = nil error, want one")
			}
		})
	}
}

func TestParseClock(t *testing.T) {
	tests := []struct {
		give    string
		want    Clock
		wantErr bool
	}{
		{give: "3m+2s", want: Clock{3 * time.Minute, 2 * time.Second}},
		{give: "2s+0s", want: Clock{2 * time.Second, 0}},
		{give: "5m", want: Clock{5 * time.Minute, 0}},
		{give: " 1m30s + 500ms ", want: Clock{90 * time.Second, 500 * time.Millisecond}},
		{give: "", wantErr: true},
		{give: "0s+2s", wantErr: true},
		{give: "3m+-1s", wantErr: true},
		{give: "3+2", wantErr: true},
		{give: "3m+", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseClock(tt.give)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseClock(%q) = %v, %v; want %v, error %v", tt.give, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if back, err := ParseClock(got.String()); err != nil || back != got {
				t.Errorf("ParseClock(%q.String() = %q) = %v, %v", tt.give, got.String(), back, err)
			}
		}
	}
}

func TestFlagFall(t *testing.T) {
	g := started(t, Clock{Base: 2 * time.Second})
	at := play(t, g, t0, "e2e4") // White moves at t0+1s, with 1s left
	deadline, ok := g.Deadline()
	if want := at.Add(2 * time.Second); !ok || !deadline.Equal(want) {
		t.Fatalf("Deadline() = %v, %v; want %v, true", deadline, ok, want)
	}
	if g.Flag(deadline.Add(-time.Nanosecond)) {
		t.Fatal("Flag before the deadline = true")
	}
	if b := g.Board(deadline.Add(time.Second)); b.BlackMs != 0 || b.Status != "playing" {
		t.Errorf("Board() past the deadline = %v ms, %s; want 0, playing (Board does not flag)", b.BlackMs, b.Status)
	}
	if !g.Flag(deadline) {
		t.Fatal("Flag at the deadline = false")
	}
	res, _ := g.Over()
	if want := (Result{Status: Timeout, Winner: alice, White: alice, Black: bob}); res != want {
		t.Errorf("Over() = %+v, want %+v", res, want)
	}
	if b := g.Board(deadline.Add(time.Hour)); b.WhiteMs != 1000 || b.BlackMs != 0 || b.Status != "timeout" || b.Winner != alice {
		t.Errorf("Board() = %v", b)
	}
	if g.Flag(deadline.Add(time.Second)) {
		t.Error("Flag after the end = true")
	}
}

// TestLateMove: a move that arrives after the flag fell first ends the game
// on time (changed) and is then refused.
func TestLateMove(t *testing.T) {
	g := started(t, Clock{Base: 2 * time.Second})
	apply(t, g, alice, moveCmd("e2e4"), t0.Add(2*time.Second), true, GameOver)
	if res, _ := g.Over(); res.Status != Timeout || res.Winner != bob {
		t.Errorf("Over() = %+v, want a timeout won by bob", res)
	}
	if len(g.Moves()) != 0 {
		t.Errorf("Moves() = %v, want none", g.Moves())
	}
}

func TestTimeoutInsufficientMaterial(t *testing.T) {
	tests := []struct {
		name string
		fen  string // White to move; White flags
		want string // the winner, or empty for a draw
	}{
		{"bare king", "7k/8/8/8/8/8/PQ6/K7 w - - 0 1", ""},
		{"king and knight vs queen", "7k/6n1/8/8/8/8/1Q6/K7 w - - 0 1", bob},
		{"king and bishop vs king and pawn", "7k/8/8/3b4/8/8/P7/K7 w - - 0 1", bob},
		{"king and rook", "7k/7r/8/8/8/8/1Q6/K7 w - - 0 1", bob},
		{"king and pawn", "7k/7p/8/8/8/8/1Q6/K7 w - - 0 1", bob},
		{"king and knight vs bare king", "7k/6n1/8/8/8/8/8/K7 w - - 0 1", ""}, // never reached by play: insufficient material ends it first
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := fromFEN(t, tt.fen, Clock{Base: 2 * time.Second})
			if !g.Flag(t0.Add(2 * time.Second)) {
				t.Fatal("Flag = false")
			}
			res, _ := g.Over()
			if res.Status != Timeout || res.Winner != tt.want {
				t.Errorf("Over() = %+v, want timeout won by %q", res, tt.want)
			}
			if tt.want == "" && (!res.Draw() || res.Placement(alice) != 1 || res.Placement(bob) != 1) {
				t.Errorf("a drawn timeout: Draw() = %v, placements %d, %d; want true, 1, 1", res.Draw(), res.Placement(alice), res.Placement(bob))
			}
		})
	}
}

func TestCanMate(t *testing.T) {
	tests := []struct {
		fen          string
		white, black bool
	}{
		{"4k3/8/8/8/8/8/8/4K3 w - - 0 1", false, false},
		{"4k3/8/8/8/8/8/8/3QK3 w - - 0 1", true, false},
		{"4k3/8/8/8/8/8/8/3NK3 w - - 0 1", false, false},
		{"4k3/8/8/8/8/8/8/2NNK3 w - - 0 1", true, false},
		{"4k3/8/8/8/8/8/8/2BNK3 w - - 0 1", true, false},
		{"4k3/8/8/8/8/8/8/2BBK3 w - - 0 1", true, false},    // c1 dark, d1 light
		{"4k3/8/8/8/8/8/8/B1B1K3 w - - 0 1", false, false},  // a1, c1: both dark
		{"4k3/8/8/8/8/8/1b6/2B1K3 w - - 0 1", false, false}, // c1, b2: both dark
		{"4k3/8/8/8/8/8/2b5/2B1K3 w - - 0 1", true, true},   // c1 dark, c2 light
		{"3nk3/8/8/8/8/8/8/3NK3 w - - 0 1", true, true},     // knight vs knight
		{"3rk3/8/8/8/8/8/8/3NK3 w - - 0 1", true, true},     // knight vs rook
		{"4k3/4p3/8/8/8/8/8/2B1K3 w - - 0 1", true, true},   // bishop vs pawn
		{"4k3/8/8/8/8/8/8/4K3 w - - 0 1", false, false},     // bare kings
		{"rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", true, true},
	}
	for _, tt := range tests {
		g := fromFEN(t, tt.fen, blitz)
		b := g.lib.Position().Board()
		if got := canMate(b, white.color()); got != tt.white {
			t.Errorf("canMate(%s, white) = %v, want %v", tt.fen, got, tt.white)
		}
		if got := canMate(b, black.color()); got != tt.black {
			t.Errorf("canMate(%s, black) = %v, want %v", tt.fen, got, tt.black)
		}
	}
}

func TestDrawOffers(t *testing.T) {
	t.Run("accepted", func(t *testing.T) {
		g := started(t, blitz)
		at := play(t, g, t0, "e2e4")
		apply(t, g, alice, offerCmd(), at, true, 0) // offered on the opponent's turn
		if b := g.Board(at); b.DrawOffer != alice {
			t.Fatalf("DrawOffer = %q, want alice", b.DrawOffer)
		}
		apply(t, g, bob, offerCmd(), at.Add(3*time.Second), true, 0)
		res, _ := g.Over()
		if want := (Result{Status: DrawAgreed, White: alice, Black: bob}); res != want {
			t.Fatalf("Over() = %+v, want %+v", res, want)
		}
		b := g.Board(at.Add(time.Hour))
		if b.DrawOffer != "" || b.Status != "draw_agreed" || b.BlackMs != 177000 {
			t.Errorf("Board() = %v; want no offer, draw_agreed, black charged 3s", b)
		}
	})
	t.Run("declined by moving", func(t *testing.T) {
		g := started(t, blitz)
		at := play(t, g, t0, "e2e4")
		apply(t, g, alice, offerCmd(), at, true, 0)
		at = play(t, g, at, "e7e5")
		if b := g.Board(at); b.DrawOffer != "" {
			t.Fatalf("DrawOffer = %q after bob moved, want none", b.DrawOffer)
		}
		apply(t, g, bob, offerCmd(), at, true, 0) // a new offer, not an acceptance
		if g.Status() != Playing || g.Board(at).DrawOffer != bob {
			t.Fatalf("status %s, offer %q; want playing, bob", g.Status(), g.Board(at).DrawOffer)
		}
	})
	t.Run("the offerer's own move keeps it", func(t *testing.T) {
		g := started(t, blitz)
		apply(t, g, alice, offerCmd(), t0, true, 0) // on her own turn
		at := play(t, g, t0, "e2e4")
		if b := g.Board(at); b.DrawOffer != alice {
			t.Fatalf("DrawOffer = %q, want alice's to stand", b.DrawOffer)
		}
	})
	t.Run("offering twice changes nothing", func(t *testing.T) {
		g := started(t, blitz)
		apply(t, g, alice, offerCmd(), t0, true, 0)
		v := g.Version()
		apply(t, g, alice, offerCmd(), t0, false, 0)
		if g.Version() != v || g.Board(t0).DrawOffer != alice {
			t.Errorf("version %d → %d, offer %q", v, g.Version(), g.Board(t0).DrawOffer)
		}
	})
}

func TestResign(t *testing.T) {
	tests := []struct {
		name   string
		moves  []string
		player string
		winner string
	}{
		{"white at once", nil, alice, bob},
		{"black on white's turn", []string{"e2e4", "e7e5"}, bob, alice},
		{"black on its turn", []string{"e2e4"}, bob, alice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t, blitz)
			at := play(t, g, t0, tt.moves...)
			apply(t, g, alice, offerCmd(), at, true, 0)
			apply(t, g, tt.player, resignCmd(), at, true, 0)
			res, _ := g.Over()
			if res.Status != Resigned || res.Winner != tt.winner {
				t.Errorf("Over() = %+v, want resigned, won by %s", res, tt.winner)
			}
			if g.Board(at).DrawOffer != "" {
				t.Error("a draw offer outlived the game")
			}
		})
	}
}

func TestThreefoldRepetition(t *testing.T) {
	g := started(t, blitz)
	cycle := []string{"g1f3", "g8f6", "f3g1", "f6g8"}
	at := play(t, g, t0, cycle...)
	at = play(t, g, at, cycle[:3]...)
	if g.Status() != Playing {
		t.Fatalf("status %s after the start position occurred twice, want playing", g.Status())
	}
	play(t, g, at, cycle[3]) // the start position, a third time
	if res, _ := g.Over(); res.Status != ThreefoldRepetition || res.Winner != "" {
		t.Errorf("Over() = %+v, want threefold_repetition, a draw", res)
	}
}

// fiftyMoves are a hundred plies without a capture, a pawn move or a
// repeated position, after 1. e4 e5 (found by a search over the library's
// legal moves; the kings walk).
var fiftyMoves = strings.Fields(`
	e1e2 e8e7 e2e1 e7d6 e1e2 d6c5 e2e1 c5b4 e1e2 b4a4
	e2e1 a4a5 e1e2 a5b4 e2e1 b4a4 e1e2 a4a5 e2e1 a5b6
	e1e2 b6b5 e2d3 b5a4 d3c3 a4a5 c3b3 a5b6 b3c3 b6c5
	c3b3 c5d4 b3a4 d4c5 a4a3 c5d6 a3b3 d6c5 b3c3 c5b6
	c3b3 b6a5 b3c3 a5a4 c3d3 a4b4 d3e3 b4a4 e3f3 a4b4
	f3g3 b4a4 g3h3 a4b4 h3g4 b4a4 g4g3 a4b4 g3f3 b4a4
	f3e3 a4b4 e3d3 b4a5 d3e3 a5b6 e3d3 b6b5 d3e2 b5c4
	d1e1 c4b4 e2d1 b4a4 d1e2 a4a5 e2d1 a5b4 d1e2 b4a4
	e2d1 a4a5 d1e2 a5b5 e2d3 b5a4 d3c3 a4a5 c3b3 a5b6
	b3c3 b6c5 c3b3 c5d4 b3a4 d4c5 a4a3 c5d6 a3b3 d6c5`)

func TestFiftyMoveRule(t *testing.T) {
	g := started(t, blitz)
	at := play(t, g, t0, "e2e4", "e7e5")
	at = play(t, g, at, fiftyMoves[:99]...)
	if g.Status() != Playing {
		t.Fatalf("status %s after 99 plies, want playing", g.Status())
	}
	play(t, g, at, fiftyMoves[99])
	if res, _ := g.Over(); res.Status != FiftyMoveRule || res.Winner != "" {
		t.Errorf("Over() = %+v, want fifty_move_rule, a draw", res)
	}

	// Mate on the hundredth ply is mate (FIDE 9.3 and 5.1.1).
	g = fromFEN(t, "k7/8/1K6/8/8/8/8/7R w - - 99 80", blitz)
	play(t, g, t0, "h1h8")
	if res, _ := g.Over(); res.Status != Checkmate || res.Winner != alice {
		t.Errorf("mate on the hundredth ply: Over() = %+v, want checkmate won by alice", res)
	}
	g = fromFEN(t, "k7/8/1K6/8/8/8/8/7R w - - 99 80", blitz)
	play(t, g, t0, "h1h2")
	if res, _ := g.Over(); res.Status != FiftyMoveRule {
		t.Errorf("a quiet hundredth ply: Over() = %+v, want fifty_move_rule", res)
	}
}

func TestInsufficientMaterial(t *testing.T) {
	g := fromFEN(t, "7k/8/8/8/8/8/1n6/K1B5 w - - 0 1", blitz)
	play(t, g, t0, "c1b2") // bishop takes the last knight: K+B vs K
	if res, _ := g.Over(); res.Status != InsufficientMaterial || res.Winner != "" {
		t.Errorf("Over() = %+v, want insufficient_material, a draw", res)
	}
}

func TestStalemate(t *testing.T) {
	g := fromFEN(t, "k7/8/1K6/8/8/8/8/2Q5 w - - 0 1", blitz)
	play(t, g, t0, "c1c7")
	if res, _ := g.Over(); res.Status != Stalemate || res.Winner != "" {
		t.Errorf("Over() = %+v, want stalemate", res)
	}
}

func TestPromotion(t *testing.T) {
	opening := []string{"a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "g8f6"}
	tests := []struct {
		give string
		want Reason
		fen  string // the board part after the move
	}{
		{"b7a8n", 0, "Nn1qkb1r/2pppppp/5n2/8/8/8/1PPPPPPP/RNBQKBNR"},
		{"b7a8q", 0, "Qn1qkb1r/2pppppp/5n2/8/8/8/1PPPPPPP/RNBQKBNR"},
		{"b7a8r", 0, "Rn1qkb1r/2pppppp/5n2/8/8/8/1PPPPPPP/RNBQKBNR"},
		{"b7a8b", 0, "Bn1qkb1r/2pppppp/5n2/8/8/8/1PPPPPPP/RNBQKBNR"},
		{"b7a8", IllegalMove, ""},
		{"b7a8k", IllegalMove, ""},
		{"b7a8p", IllegalMove, ""},
		{"b7a8N", IllegalMove, ""},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			g := started(t, blitz)
			at := play(t, g, t0, opening...)
			apply(t, g, alice, moveCmd(tt.give), at, tt.want == 0, tt.want)
			if tt.want != 0 {
				return
			}
			if fen := g.FEN(); !strings.HasPrefix(fen, tt.fen+" ") {
				t.Errorf("FEN() = %s, want %s …", fen, tt.fen)
			}
			if m := g.Moves(); m[len(m)-1] != tt.give {
				t.Errorf("last move %q, want %q", m[len(m)-1], tt.give)
			}
		})
	}
}

func TestCastlingAndEnPassant(t *testing.T) {
	g := started(t, blitz)
	play(t, g, t0, "e2e4", "a7a6", "e4e5", "d7d5", "e5d6", "a6a5", "g1f3", "a5a4", "f1e2", "a4a3", "e1g1")
	if want := "rnbqkbnr/1pp1pppp/3P4/8/8/p4N2/PPPPBPPP/RNBQ1RK1 b kq - 1 6"; g.FEN() != want {
		t.Errorf("FEN() = %s, want %s", g.FEN(), want)
	}
}

// TestClockIncrement follows both clocks to the millisecond through a few
// moves of a 3m+2s game.
func TestClockIncrement(t *testing.T) {
	g := started(t, blitz)
	ms := time.Millisecond
	steps := []struct {
		think      time.Duration // since the previous move (or Start)
		uci        string
		white, blk uint32 // Board clocks right after the move
	}{
		{1234 * ms, "e2e4", 180000 - 1234 + 2000, 180000},
		{5001 * ms, "e7e5", 180766, 180000 - 5001 + 2000},
		{59999 * ms, "g1f3", 180766 - 59999 + 2000, 176999},
		{1 * ms, "b8c6", 122767, 176999 - 1 + 2000},
	}
	at := t0
	for _, st := range steps {
		// Halfway through the think, the mover's clock has run for half.
		mid := g.Board(at.Add(st.think / 2))
		running := mid.WhiteMs
		if g.turn() == black {
			running = mid.BlackMs
		}
		before := g.Board(at)
		full := before.WhiteMs
		if g.turn() == black {
			full = before.BlackMs
		}
		if want := uint32((time.Duration(full)*ms - st.think/2).Milliseconds()); running != want {
			t.Errorf("before %s, halfway: running clock %d, want %d", st.uci, running, want)
		}
		at = at.Add(st.think)
		apply(t, g, toMove(g), moveCmd(st.uci), at, true, 0)
		b := g.Board(at)
		if b.WhiteMs != st.white || b.BlackMs != st.blk {
			t.Errorf("after %s: clocks %d, %d; want %d, %d", st.uci, b.WhiteMs, b.BlackMs, st.white, st.blk)
		}
		next := time.Duration(b.WhiteMs) * ms
		if g.turn() == black {
			next = time.Duration(b.BlackMs) * ms
		}
		if d, ok := g.Deadline(); !ok || !d.Equal(at.Add(next)) {
			t.Errorf("after %s: Deadline() = %v, %v; want %v", st.uci, d, ok, at.Add(next))
		}
	}
	w, bl := g.Left(at)
	if w != 122767*ms || bl != 178998*ms {
		t.Errorf("Left() = %v, %v", w, bl)
	}
}

func TestAbort(t *testing.T) {
	g := started(t, blitz)
	at := play(t, g, t0, "e2e4")
	if !g.Abort(at.Add(time.Second)) || g.Abort(at) {
		t.Fatal("Abort: want true, then false")
	}
	res, _ := g.Over()
	if res.Status != Aborted || res.Winner != "" || res.Placement(alice) != 0 || res.Draw() {
		t.Errorf("Over() = %+v (placement %d, draw %v)", res, res.Placement(alice), res.Draw())
	}
	apply(t, g, bob, moveCmd("e7e5"), at, false, GameOver)
}

func TestStatusWords(t *testing.T) {
	for s := Waiting; s <= Aborted; s++ {
		back, ok := parseStatus(s.String())
		if !ok || back != s {
			t.Errorf("parseStatus(%q) = %v, %v", s.String(), back, ok)
		}
		if s.Over() != (s != Waiting && s != Playing) {
			t.Errorf("%s.Over() = %v", s, s.Over())
		}
	}
	for r, want := range map[Reason]string{IllegalMove: "illegal_move", NotYourTurn: "not_your_turn", GameOver: "game_over"} {
		if r.String() != want {
			t.Errorf("Reason(%d).String() = %q, want %q", r, r.String(), want)
		}
	}
}
