package chess

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	chesslib "github.com/corentings/chess/v2"
	"google.golang.org/protobuf/proto"

	"github.com/arbiter-gg/arbiter/match"
	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
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

// BenchmarkPlay measures whole games: each op plays a fixed random line of
// plies moves from the start (captures, pawn moves and quiet moves as they
// come) through Apply, and encodes the Board after every move, as the room
// does. µs/move is the mean cost of a move over the game.
func BenchmarkPlay(b *testing.B) {
	for _, plies := range []int{80, 200} {
		b.Run(fmt.Sprintf("plies=%d", plies), func(b *testing.B) {
			line := randomLine(b, plies)
			cmds := make([]*chessv1.Command, len(line))
			for i, uci := range line {
				cmds[i] = moveCmd(uci)
			}
			var buf []byte
			b.ReportAllocs()
			for b.Loop() {
				g := started(b, Clock{Base: time.Hour})
				at := t0
				for _, cmd := range cmds {
					at = at.Add(time.Second)
					if _, rej := g.Apply(toMove(g), cmd, at); rej != nil {
						b.Fatal(rej)
					}
					var err error
					if buf, err = (proto.MarshalOptions{}).MarshalAppend(buf[:0], g.Board(at)); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*plies), "µs/move")
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

// TestAllocs holds a move and a Board to an allocation budget, measured at
// ply 80 of a fixed line. Most of a move's allocations are the library's
// (legal moves, the new position, the repetition check); the budget leaves
// room for the position's varying cost, not for a new allocation per
// earlier move.
func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation budgets: not in -short")
	}
	const runs = 50
	line := randomLine(t, 81)
	games := make([]*Game, 0, runs+1)
	var at time.Time
	for range runs + 1 {
		g := started(t, Clock{Base: time.Hour})
		at = play(t, g, t0, line[:80]...)
		games = append(games, g)
	}
	cmd := moveCmd(line[80])
	moveAllocs := testing.AllocsPerRun(runs, func() {
		g := games[len(games)-1]
		games = games[:len(games)-1]
		if _, rej := g.Apply(toMove(g), cmd, at.Add(time.Second)); rej != nil {
			t.Fatal(rej)
		}
	})
	t.Logf("a move at ply 80: %v allocations", moveAllocs)
	if moveAllocs > 100 {
		t.Errorf("Apply(a move at ply 80) = %v allocations, want at most 100", moveAllocs)
	}
	g := started(t, Clock{Base: time.Hour})
	play(t, g, t0, line[:80]...)
	if n := testing.AllocsPerRun(runs, func() { g.Board(at) }); n > 12 {
		t.Errorf("Board() = %v allocations, want at most 12", n)
	}
}

// BenchmarkMovePath measures the server's work on the chess side of one
// move as a room does it (match.Room.broadcastState): the command decoded
// and applied (Act), the game saved for the live store (Save) and the
// state message encoded (AppendState, into a reused buffer). Each op is
// one move of a fixed random 200-ply line, played from the start by a
// world made as the room makes it; a new world takes over when the line
// ends (not timed). allocs/op and B/op are per move, averaged over the
// game.
func BenchmarkMovePath(b *testing.B) {
	const plies = 200
	line := randomLine(b, plies)
	payloads := make([][]byte, len(line))
	for i, uci := range line {
		p, err := proto.Marshal(moveCmd(uci))
		if err != nil {
			b.Fatal(err)
		}
		payloads[i] = p
	}
	newWorld := func() *world {
		w, err := Games{Clock: Clock{Base: time.Hour}}.NewWorld(match.WorldConfig{MatchID: "m1", PlayerIDs: []string{alice, bob}})
		if err != nil {
			b.Fatal(err)
		}
		cw := w.(*world)
		cw.Join()
		cw.Join()
		cw.Start(t0)
		return cw
	}
	var (
		w   *world
		ply int
		at  = t0
		buf []byte
	)
	b.ReportAllocs()
	for b.Loop() {
		if w == nil || ply == plies {
			b.StopTimer()
			w, ply, at = newWorld(), 0, t0
			b.StartTimer()
		}
		at = at.Add(time.Second)
		// Entity 1 or 2: the seat of the side to move.
		e := match.EntityID(1)
		if toMove(w.game) != w.players[0] {
			e = 2
		}
		changed, rej := w.Act(e, payloads[ply], at)
		if !changed || rej != nil {
			b.Fatalf("move %d: changed %v, %v", ply, changed, rej)
		}
		if _, err := w.Save(); err != nil {
			b.Fatal(err)
		}
		buf = w.AppendState(buf[:0])
		ply++
	}
}
