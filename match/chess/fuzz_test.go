package chess

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	chesslib "github.com/corentings/chess/v2"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

// fuzzOpenings are the games FuzzCommand's commands land on: the start, a
// promotion pending (b7xa8), a position where Black is in check, and a
// finished game.
var fuzzOpenings = [][]string{
	nil,
	{"a2a4", "b7b5", "a4b5", "a7a6", "b5a6", "c8b7", "a6b7", "g8f6"},
	{"e2e4", "f7f6", "d1h5"},
	{"f2f3", "e7e5", "g2g4", "d8h4"},
}

// FuzzCommand decodes arbitrary bytes as a Command, as the room will an
// Action's payload, and applies it to one of fuzzOpenings for one of the
// players (or a stranger), ms milliseconds after the last move. It must
// not panic; a refusal carries one of the three reason words and changes
// nothing; the game stays one a game can be.
func FuzzCommand(f *testing.F) {
	for _, cmd := range []*chessv1.Command{moveCmd("e2e4"), moveCmd("b7a8n"), moveCmd("e7e8k"), resignCmd(), offerCmd(), {}} {
		data, err := proto.Marshal(cmd)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(0), uint16(1000), data)
	}
	f.Fuzz(func(t *testing.T, who uint8, ms uint16, data []byte) {
		var cmd chessv1.Command
		if err := proto.Unmarshal(data, &cmd); err != nil {
			return // the envelope's concern: not a Command at all
		}
		g := started(t, Clock{Base: 30 * time.Second, Increment: time.Second})
		at := play(t, g, t0, fuzzOpenings[int(who)%len(fuzzOpenings)]...)
		player := [...]string{alice, bob, "mallory"}[int(who/4)%3]
		now := at.Add(time.Duration(ms) * time.Millisecond)
		before, version := g.Board(now), g.Version()

		changed, rej := g.Apply(player, &cmd, now)

		if rej != nil {
			switch rej.Reason.String() {
			case "illegal_move", "not_your_turn", "game_over":
			default:
				t.Fatalf("rejection with reason %q", rej.Reason)
			}
			if !utf8.ValidString(rej.Message) {
				t.Fatalf("rejection message %q is not UTF-8", rej.Message)
			}
			if !changed {
				if diff := cmp.Diff(before, g.Board(now), protocmp.Transform()); diff != "" || g.Version() != version {
					t.Fatalf("a rejected command changed the game (-before +after):\n%s", diff)
				}
			}
		}
		if changed && g.Version() == version {
			t.Fatal("changed, but Version() did not move")
		}
		checkInvariants(t, g, now)
	})
}

// FuzzMoves plays a space-separated list of UCI-ish strings (the first
// maxFuzzMoves of them), for White and Black alternately whatever the turn,
// 700 ms apart. It must not panic; after every command the Board's FEN
// parses, and at the end the game is one a game can be (its moves replay to
// its FEN).
func FuzzMoves(f *testing.F) {
	const maxFuzzMoves = 400 // a game's length, and a bound on each input's time
	f.Add("f2f3 e7e5 g2g4 d8h4 e1f2")
	f.Add("e2e4 e7e5 e7e5 e2e4 g1f3 b8c6 f1c4 f8c5 e1g1 g8f6")
	f.Add("g1f3 g8f6 f3g1 f6g8 g1f3 g8f6 f3g1 f6g8 g1f3")
	f.Add("a2a4 b7b5 a4b5 a7a6 b5a6 c8b7 a6b7 g8f6 b7a8 b7a8k b7a8n")
	f.Add("e2e4 a7a6 e4e5 d7d5 e5d6 e8d7")
	f.Fuzz(func(t *testing.T, line string) {
		g := started(t, Clock{Base: time.Minute})
		at := t0
		fields := strings.Fields(line)
		for i, uci := range fields[:min(len(fields), maxFuzzMoves)] {
			at = at.Add(700 * time.Millisecond)
			player := [2]string{alice, bob}[i%2]
			if _, rej := g.Apply(player, moveCmd(uci), at); rej != nil {
				if rej.Reason != IllegalMove && rej.Reason != NotYourTurn && rej.Reason != GameOver {
					t.Fatalf("rejection with reason %q", rej.Reason)
				}
				if !utf8.ValidString(rej.Message) {
					t.Fatalf("rejection message %q is not UTF-8", rej.Message)
				}
			}
			b := g.Board(at)
			if _, err := chesslib.FEN(b.Fen); err != nil {
				t.Fatalf("after %q: Board().Fen %q does not parse: %v", uci, b.Fen, err)
			}
		}
		checkInvariants(t, g, at)
	})
}
