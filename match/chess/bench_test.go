package chess

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	chesslib "github.com/corentings/chess/v2"

	"google.golang.org/protobuf/proto"
)

// randomLine returns plies legal moves from the start that end nothing,
// chosen by a seeded generator: the same line every run.
func randomLine(tb testing.TB, plies int) []string {
	tb.Helper()
	for seed := uint64(1); ; seed++ {
		rng := rand.New(rand.NewPCG(seed, 2))
		g := chesslib.NewGame()
		var line []string
		for len(line) < plies && g.Outcome() == chesslib.NoOutcome && len(g.EligibleDraws()) == 1 {
			valid := g.ValidMoves()
			m := valid[rng.IntN(len(valid))]
			line = append(line, chesslib.UCINotation{}.Encode(nil, &m))
			if err := g.Move(&m, nil); err != nil {
				tb.Fatal(err)
			}
		}
		if len(line) == plies && g.Outcome() == chesslib.NoOutcome && len(g.EligibleDraws()) == 1 {
			return line
		}
	}
}

// BenchmarkApply measures one legal move applied to a game that has played
// ply moves already: the work of the room per move received. Setting up the
// games is not timed.
func BenchmarkApply(b *testing.B) {
	for _, ply := range []int{20, 80, 200} {
		b.Run(fmt.Sprintf("ply=%d", ply), func(b *testing.B) {
			line := randomLine(b, ply+1)
			cmd := moveCmd(line[ply])
			type ready struct {
				g  *Game
				at time.Time // the instant of its last move
			}
			const batch = 256
			games := make([]ready, 0, batch)
			b.ReportAllocs()
			b.StopTimer()
			for range b.N {
				if len(games) == 0 {
					for range batch {
						g := started(b, Clock{Base: time.Hour})
						games = append(games, ready{g, play(b, g, t0, line[:ply]...)})
					}
				}
				r := games[len(games)-1]
				games = games[:len(games)-1]
				player := toMove(r.g)
				b.StartTimer()
				_, rej := r.g.Apply(player, cmd, r.at.Add(time.Second))
				b.StopTimer()
				if rej != nil {
					b.Fatal(rej)
				}
			}
		})
	}
}

// BenchmarkRestore measures resuming a game of ply moves from its snapshot:
// the work of a server that takes over a game.
func BenchmarkRestore(b *testing.B) {
	for _, ply := range []int{80, 200} {
		b.Run(fmt.Sprintf("ply=%d", ply), func(b *testing.B) {
			g := started(b, Clock{Base: time.Hour})
			play(b, g, t0, randomLine(b, ply)...)
			s := g.Snapshot()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Restore(s, t0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBoard measures the state message of a game at ply 80, encoded as
// the room sends it after every change.
func BenchmarkBoard(b *testing.B) {
	g := started(b, Clock{Base: time.Hour})
	at := play(b, g, t0, randomLine(b, 80)...)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := proto.Marshal(g.Board(at)); err != nil {
			b.Fatal(err)
		}
	}
}
