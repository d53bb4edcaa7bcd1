package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/arbiter-gg/arbiter/persistence"
)

// benchLeague deals batches of settled ffa matches of a fixed size, as the
// archiver would hand them over, drawing the players from a pool of 20,000
// so that most are known and their ratings are updated. Safe for
// concurrent use.
type benchLeague struct {
	mu      sync.Mutex
	l       *league
	pool    []string
	rng     *rand.Rand
	players int // per match
}

func newBenchLeague(players int, seed uint64) *benchLeague {
	return &benchLeague{l: newLeague("ffa", "m"), pool: playerIDs(20_000), rng: rand.New(rand.NewPCG(1, seed)), players: players}
}

func (bl *benchLeague) batch(n int) persistence.Batch {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	var b persistence.Batch
	for range n {
		seats := make([]string, 0, bl.players)
		for len(seats) < bl.players {
			if p := bl.pool[bl.rng.IntN(len(bl.pool))]; !slices.Contains(seats, p) {
				seats = append(seats, p)
			}
		}
		b.Settlements = append(b.Settlements, bl.l.play(seats...))
	}
	return b
}

// warm writes a few batches first, so that the measured ones find the
// players and most ratings stored, as a long-running archive would.
func (bl *benchLeague) warm(b *testing.B, a *Archive, n int) {
	for range 3 {
		if err := a.Write(context.Background(), bl.batch(n)); err != nil {
			b.Fatalf("Write: %v", err)
		}
	}
}

// BenchmarkArchiveWrite measures Write with one writer: results/s is the
// archive's sustained rate for batches of that many settlements of 10-player
// matches (and, for scale, of duels).
func BenchmarkArchiveWrite(b *testing.B) {
	tests := []struct{ settlements, players int }{{100, 10}, {500, 10}, {1000, 10}, {1000, 2}}
	for _, tt := range tests {
		n := tt.settlements
		b.Run(fmt.Sprintf("settlements=%d/players=%d", n, tt.players), func(b *testing.B) {
			a := openTest(b)
			bl := newBenchLeague(tt.players, uint64(n))
			bl.warm(b, a, n)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				batch := bl.batch(n)
				b.StartTimer()
				if err := a.Write(context.Background(), batch); err != nil {
					b.Fatalf("Write: %v", err)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "results/s")
		})
	}
}

// BenchmarkArchiveWriteParallel measures Write with several batches in
// flight at once, as an archiver with that many writers would have them.
// The batches are dealt before the timer starts.
func BenchmarkArchiveWriteParallel(b *testing.B) {
	const n = 1000
	for _, writers := range []int{2, 4} {
		b.Run(fmt.Sprintf("settlements=%d/players=10/writers=%d", n, writers), func(b *testing.B) {
			a := openTest(b)
			bl := newBenchLeague(10, uint64(writers))
			bl.warm(b, a, n)
			batches := make(chan persistence.Batch, b.N)
			for range b.N {
				batches <- bl.batch(n)
			}
			close(batches)
			errs := make(chan error, writers)
			var wg sync.WaitGroup
			b.ReportAllocs()
			b.ResetTimer()
			for range writers {
				wg.Go(func() {
					for batch := range batches {
						if err := a.Write(context.Background(), batch); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatalf("Write: %v", err)
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "results/s")
		})
	}
}
