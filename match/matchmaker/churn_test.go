package matchmaker

import (
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// TestEmbeddedPairsAtOnce: on the embedded default, two duel tickets are
// matched as soon as the second is queued — no poll, no timer: not a
// nanosecond of the bubble's clock passes.
func TestEmbeddedPairsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mm, _ := start(t, Config{})
		begin := time.Now()
		a := mustEnqueue(t, mm, "a", "duel")
		b := mustEnqueue(t, mm, "b", "duel")
		synctest.Wait()
		wantStatus(t, mm, a, StatusMatched)
		wantStatus(t, mm, b, StatusMatched)
		if d := time.Since(begin); d != 0 {
			t.Errorf("matched after %v of the clock, want at once", d)
		}
	})
}

// TestTicketChurnIsBounded: 200 players creating and cancelling tickets as
// fast as the REST API's per-player limit lets them (10 requests/s: five
// tickets a second each) for 60 s leave a bounded number of tickets
// behind, here and in the pool, instead of every ticket of the last
// Retention.
func TestTicketChurnIsBounded(t *testing.T) {
	const (
		players  = 200
		perSec   = 5
		duration = 60 * time.Second
	)
	synctest.Test(t, func(t *testing.T) {
		pool := newMemPool()
		mm, _ := start(t, Config{Pool: pool})
		heap := func() uint64 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return ms.HeapAlloc
		}
		before := heap()
		created := 0
		for range duration / (time.Second / perSec) {
			for p := range players {
				player := fmt.Sprint("p", p)
				tk := mustEnqueue(t, mm, player, "ffa")
				if err := mm.Cancel(t.Context(), tk.ID, player); err != nil {
					t.Fatalf("Cancel = %v", err)
				}
				created++
			}
			time.Sleep(time.Second / perSec)
			synctest.Wait()
		}
		after := heap()

		mm.mu.Lock()
		kept := len(mm.mu.tickets)
		mm.mu.Unlock()
		pool.MemoryPool.mu.Lock()
		inPool := len(pool.tickets)
		pool.MemoryPool.mu.Unlock()
		bound := players * mm.cfg.KeepPerPlayer
		t.Logf("%d tickets created and cancelled in %v: %d kept by the matchmaker, %d by the pool (bound %d each); heap %.1f → %.1f MB",
			created, duration, kept, inPool, bound, float64(before)/1e6, float64(after)/1e6)
		if kept > bound {
			t.Errorf("matchmaker keeps %d tickets, want ≤ %d (%d players × KeepPerPlayer)", kept, bound, players)
		}
		if inPool > players*memKeepPerPlayer {
			t.Errorf("pool keeps %d tickets, want ≤ %d", inPool, players*memKeepPerPlayer)
		}
	})
}
