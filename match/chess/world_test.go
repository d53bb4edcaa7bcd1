package chess

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
	chesslib "github.com/corentings/chess/v2"
	"google.golang.org/protobuf/proto"
)

// TestRecord: the record the room archives holds the moves, a PGN that
// parses back to them and to the result, and the final position.
func TestRecord(t *testing.T) {
	tests := []struct {
		name       string
		moves      []string
		wantResult chesslib.Outcome
	}{
		{"fool's mate", []string{"f2f3", "e7e5", "g2g4", "d8h4"}, chesslib.BlackWon},
		{"running", []string{"e2e4"}, chesslib.NoOutcome},
		{"no move", nil, chesslib.NoOutcome},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := started(t, blitz)
			play(t, g, t0, tt.moves...)
			w := &world{game: g, players: []string{alice, bob}}
			b, err := w.Record()
			if err != nil {
				t.Fatalf("Record() = %v", err)
			}
			var rec Record
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatalf("Record() = %s: %v", b, err)
			}
			if rec.Moves == nil || !slices.Equal(rec.Moves, tt.moves) {
				t.Errorf("Record().moves = %#v, want %q", rec.Moves, tt.moves)
			}
			if rec.FEN != g.FEN() || rec.PGN != g.PGN() {
				t.Errorf("Record() = %s, want the game's FEN %q and PGN", b, g.FEN())
			}
			lib := parsePGN(t, rec.PGN)
			var got []string
			for _, m := range lib.Moves() {
				got = append(got, chesslib.UCINotation{}.Encode(nil, m))
			}
			if !slices.Equal(got, tt.moves) || lib.FEN() != rec.FEN || lib.Outcome() != tt.wantResult {
				t.Errorf("the record's PGN parses back to %v, %s, %s; want %v, %s, %s", got, lib.FEN(), lib.Outcome(), tt.moves, rec.FEN, tt.wantResult)
			}
		})
	}
}

// TestStateAt: the Board a room sends after a change has the clocks of
// that change; the one it sends a player who connects later has the side
// to move's clock run down since (match.StateAt), the same position.
func TestStateAt(t *testing.T) {
	g := started(t, Clock{Base: time.Minute})
	w := &world{game: g, players: []string{alice, bob}, at: t0}
	decode := func(b []byte) *chessv1.Board {
		var board chessv1.Board
		if err := proto.Unmarshal(b, &board); err != nil {
			t.Fatal(err)
		}
		return &board
	}
	made, now := decode(w.AppendState(nil)), decode(w.AppendStateAt(nil, t0.Add(7*time.Second)))
	if made.GetWhiteMs() != 60_000 || now.GetWhiteMs() != 53_000 || now.GetBlackMs() != 60_000 || now.GetFen() != made.GetFen() {
		t.Errorf("as made: white %d ms; as of 7 s later: white %d, black %d; want 60000, 53000, 60000, same FEN",
			made.GetWhiteMs(), now.GetWhiteMs(), now.GetBlackMs())
	}
}
