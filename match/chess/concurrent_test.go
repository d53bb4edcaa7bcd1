package chess

import (
	"fmt"
	"sync"
	"testing"
	"time"

	chessv1 "github.com/arbiter-gg/arbiter/proto/arbiter/chess/v1"
)

// TestConcurrentGames: games played at once on many goroutines — as rooms
// play them — never see each other's positions. Every capture and pawn
// move makes the engine decode a FEN through the library, whose decoder
// shares one buffer (see fenMu); run with -race, this fails without the
// lock.
func TestConcurrentGames(t *testing.T) {
	// A game with captures and pawn moves, ending in mate (the "scholar's
	// mate"): every ply but the knight's and the queen's decodes a FEN.
	moves := []string{"e2e4", "e7e5", "f1c4", "b8c6", "d1h5", "g8f6", "h5f7"}
	start := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for round := range 20 {
				white, black := fmt.Sprint("w", i), fmt.Sprint("b", i)
				g, err := New(white, black, DefaultClock)
				if err != nil {
					t.Error(err)
					return
				}
				g.Start(start)
				for ply, uci := range moves {
					player := white
					if ply%2 == 1 {
						player = black
					}
					cmd := &chessv1.Command{Kind: &chessv1.Command_Move{Move: &chessv1.Move{Uci: uci}}}
					if _, rej := g.Apply(player, cmd, start.Add(time.Duration(ply)*time.Second)); rej != nil {
						t.Errorf("game %d.%d, ply %d %s: refused %v (FEN %s)", i, round, ply+1, uci, rej, g.FEN())
						return
					}
				}
				if res, over := g.Over(); !over || res.Status != Checkmate || res.Winner != white {
					t.Errorf("game %d.%d: %+v, want White's mate", i, round, res)
				}
			}
		})
	}
	wg.Wait()
}
