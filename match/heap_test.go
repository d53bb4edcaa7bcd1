package match

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// liveHeap is what the collector finds live after a full cycle: the bytes
// it scans (objects holding pointers, up to their last pointer) and the
// number of live objects.
type liveHeap struct{ scan, objects float64 }

func readLiveHeap() liveHeap {
	// Two cycles: the first may finish one already under way.
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/objects:objects"}}
	metrics.Read(s)
	return liveHeap{float64(s[0].Value.Uint64()), float64(s[1].Value.Uint64())}
}

// TestEventRoomHeap holds what an event room (a chess game's: thousands
// per server) keeps alive besides its world, with both players attached
// and a State sent: every GC cycle marks it for every room (bench/README.md,
// "Chess"). The budget leaves no room for a tick room's buffers (2,185 B
// scannable when the Room held them itself; 1,824 B without).
func TestEventRoomHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("heap budgets: not in -short")
	}
	const n = 2000
	cfg := RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 10 * time.Second}
	clock := newFakeClock()
	log := discardLogger()
	peers := [2]*benchPeer{{}, {}}
	before := readLiveHeap()
	rooms := make([]*Room, n)
	for i := range rooms {
		world, _ := raceGame{limit: time.Hour}.NewWorld(WorldConfig{})
		r := newRoom("m1", Mode{Name: "race", Players: 2}, cfg, world, []string{"alice", "bob"}, clock, log, nil)
		for s := range peers {
			if err := seat(r, s).Attach(peers[s]); err != nil {
				t.Fatal(err)
			}
		}
		r.broadcastState()
		rooms[i] = r
	}
	after := readLiveHeap()
	runtime.KeepAlive(rooms)
	scan := (after.scan - before.scan) / n
	objs := (after.objects - before.objects) / n
	t.Logf("per event room: %.0f B scannable, %.1f objects", scan, objs)
	// 2,100: between the two, with 200 B a room (400 KB in all) for
	// whatever else the test binary holds at either cycle.
	const maxScan, maxObjects = 2100, 24
	if scan > maxScan || objs > maxObjects {
		t.Errorf("an event room keeps %.0f B scannable and %.1f objects live, want at most %d B and %d", scan, objs, maxScan, maxObjects)
	}
}
