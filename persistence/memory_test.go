package persistence

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// The contract suite (contract_test.go) covers players, settling, reads,
// events and contexts; this is what is particular to memory.

func TestMemoryConcurrent(t *testing.T) {
	ctx := t.Context()
	m := NewMemory()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 100 {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := m.CreatePlayer(ctx, id, id, time.Time{}); err != nil {
					t.Errorf("CreatePlayer(%s) = %v", id, err)
				}
				if name, found, _ := m.PlayerName(ctx, id); !found || name != id {
					t.Errorf("PlayerName(%s) = %q, %v; want itself, true", id, name, found)
				}
			}
		})
	}
	wg.Wait()
}
