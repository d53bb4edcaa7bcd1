package matchmaker

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestQueueSizesAndWaits checks QueueSizes as tickets come and go, and that
// ObserveWait is told each matched ticket's search time, by mode.
func TestQueueSizesAndWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		waits := map[string][]time.Duration{}
		mm, _ := start(t, Config{ObserveWait: func(mode string, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			waits[mode] = append(waits[mode], d)
		}})
		sizes := func(want map[string]int) {
			t.Helper()
			synctest.Wait()
			if diff := cmp.Diff(want, mm.QueueSizes()); diff != "" {
				t.Errorf("QueueSizes() (-want +got):\n%s", diff)
			}
		}
		sizes(map[string]int{"duel": 0, "ffa": 0})
		mustEnqueue(t, mm, "a", "duel")
		mustEnqueue(t, mm, "x", "ffa")
		mustEnqueue(t, mm, "y", "ffa")
		sizes(map[string]int{"duel": 1, "ffa": 2})

		time.Sleep(3 * time.Second)
		mustEnqueue(t, mm, "b", "duel") // pairs with a at once
		sizes(map[string]int{"duel": 0, "ffa": 2})

		time.Sleep(10 * time.Second) // ffa starts short-handed 10 s after x
		sizes(map[string]int{"duel": 0, "ffa": 0})

		mu.Lock()
		defer mu.Unlock()
		for _, ds := range waits {
			slices.Sort(ds)
		}
		want := map[string][]time.Duration{"duel": {0, 3 * time.Second}, "ffa": {10 * time.Second, 10 * time.Second}}
		if diff := cmp.Diff(want, waits); diff != "" {
			t.Errorf("observed waits (-want +got):\n%s", diff)
		}
	})
}
