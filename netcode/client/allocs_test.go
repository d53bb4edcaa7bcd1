//go:build !race

// Allocation budgets of the client's per-tick path. The race detector
// changes allocation counts, so these run only without it.

package client

import (
	"testing"
	"time"

	"github.com/arbiter-gg/arbiter/sim"
)

// TestClientTickAllocs: a tick of the arena client (BenchmarkClientTick)
// allocates the snapshot it hands over and nothing else: three
// allocations (the Snapshot, its entities, the pointers to them), with
// deltas as with full snapshots.
func TestClientTickAllocs(t *testing.T) {
	for _, full := range []bool{false, true} {
		frames := benchStream(t, full, 1200)
		clock := time.Unix(1e9, 0)
		c := benchClient(t, &clock, full)
		i := 0
		tick := func() {
			clock = clock.Add(time.Second / benchRate)
			_ = c.InputDue(clock)
			c.send.Lock()
			c.prepareInputLocked(sim.Input{})
			c.send.Unlock()
			clock = clock.Add(3 * time.Millisecond)
			if v := c.handle(true, frames[i]); v != nil {
				t.Fatal(v.err)
			}
			i++
		}
		for range 100 { // past the start: the buffers have grown
			tick()
		}
		if n := testing.AllocsPerRun(1000, tick); n > 3 {
			t.Errorf("full %v: a client tick allocates %v times, want at most 3", full, n)
		}
	}
}
