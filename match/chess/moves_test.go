package chess

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

// TestAppendBoard holds appendBoard, which writes the moves itself, to the
// bytes proto.Marshal writes for the same Board, in games with no move, a
// promotion, a standing offer and an ending.
func TestAppendBoard(t *testing.T) {
	promotion := []string{"a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "g8f6", "b7a8n", "e7e6", "g1f3", "f8e7", "e2e3", "e8g8"}
	tests := []struct {
		name  string
		moves []string
		then  *chessv1.Command // sent by the side to move after the moves, if not nil
	}{
		{name: "no move"},
		{name: "one move", moves: []string{"e2e4"}},
		{name: "promotion and castling", moves: promotion},
		{name: "a standing offer", moves: promotion[:3], then: &chessv1.Command{Kind: &chessv1.Command_OfferDraw{OfferDraw: &chessv1.OfferDraw{}}}},
		{name: "resigned", moves: promotion[:9], then: &chessv1.Command{Kind: &chessv1.Command_Resign{Resign: &chessv1.Resign{}}}},
		{name: "fool's mate", moves: []string{"f2f3", "e7e5", "g2g4", "d8h4"}},
		{name: "a random line", moves: randomLine(t, 120)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t, Clock{Base: time.Minute, Increment: time.Second})
			at := play(t, g, t0, tt.moves...)
			if tt.then != nil {
				at = at.Add(time.Second)
				g.Apply(toMove(g), tt.then, at)
			}
			now := at.Add(1500 * time.Millisecond)
			want, err := proto.Marshal(g.Board(now))
			if err != nil {
				t.Fatal(err)
			}
			prefix := []byte("kept")
			got := g.appendBoard(slices.Clone(prefix), now)
			if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
				t.Errorf("appendBoard() = %x, want %x after the prefix", got, want)
			}
			if b := g.Board(now); !slices.Equal(b.Moves, tt.moves) && len(tt.moves) > 0 {
				t.Errorf("Board().Moves = %q, want %q", b.Moves, tt.moves)
			}
		})
	}
}

// TestMoveList holds the packing: moves of four and five bytes come back
// as they went in.
func TestMoveList(t *testing.T) {
	give := []string{"e2e4", "e7e8q", "a7a8n", "h1h8", "b2b1r"}
	var l moveList
	for _, m := range give {
		l = l.append(m)
	}
	if l.Len() != len(give) {
		t.Fatalf("Len() = %d, want %d", l.Len(), len(give))
	}
	for i, want := range give {
		if got := string(l.At(i)); got != want {
			t.Errorf("At(%d) = %q, want %q", i, got, want)
		}
	}
	if got := l.Strings(); !slices.Equal(got, give) {
		t.Errorf("Strings() = %q, want %q", got, give)
	}
	if got := moveList(nil).Strings(); got != nil {
		t.Errorf("Strings() of no moves = %q, want nil", got)
	}
}
