package matchmaker

import (
	"context"
	"fmt"
	"testing"

	"github.com/arbiter-gg/arbiter/match"
)

// BenchmarkEnqueueToMatch measures the whole path of n duel tickets through
// a running Matchmaker on the embedded default: Enqueue, pairing, starting
// the matches, and every ticket's Wait returning matched. All ratings are
// equal, so pairing is in arrival order and the cost is the path's own.
func BenchmarkEnqueueToMatch(b *testing.B) {
	for _, n := range []int{2, 1_000} {
		b.Run(fmt.Sprintf("tickets=%d", n), func(b *testing.B) {
			modes := map[string]match.Mode{"duel": {Name: "duel", Players: 2, MinPlayers: 2}}
			b.ReportAllocs()
			for range b.N {
				mm := New(Config{Modes: modes, Logger: quietLogger()}, &fakeStarter{}, testTokens)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- mm.Run(ctx) }()
				tickets := make([]Ticket, n)
				for i := range tickets {
					tk, err := mm.Enqueue(ctx, fmt.Sprint("p", i), "duel")
					if err != nil {
						b.Fatal(err)
					}
					tickets[i] = tk
				}
				for _, tk := range tickets {
					got, err := mm.Wait(ctx, tk.ID, tk.PlayerID)
					if err != nil || got.Status != StatusMatched {
						b.Fatalf("Wait(%s) = %v, %v; want matched", tk.ID, got.Status, err)
					}
				}
				cancel()
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
