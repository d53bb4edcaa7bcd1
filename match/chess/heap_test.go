package chess

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/arbiter-gg/arbiter/match"
)

// heapFootprint is what the collector finds live after a full cycle: the
// bytes it had to scan (objects holding pointers, up to their last
// pointer), the live heap and the number of live objects.
type heapFootprint struct {
	scan, live, objects float64
}

func readFootprint() heapFootprint {
	// Two cycles: the first may finish one already under way.
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}, {Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/objects:objects"}}
	metrics.Read(s)
	return heapFootprint{float64(s[0].Value.Uint64()), float64(s[1].Value.Uint64()), float64(s[2].Value.Uint64())}
}

// worldsAt returns n worlds made as a room makes them, each with the first
// plies of line played through Act, Save and AppendState as the room does.
func worldsAt(tb testing.TB, n int, line []string) []*world {
	tb.Helper()
	payloads := make([][]byte, len(line))
	for i, uci := range line {
		p, err := proto.Marshal(moveCmd(uci))
		if err != nil {
			tb.Fatal(err)
		}
		payloads[i] = p
	}
	worlds := make([]*world, 0, n)
	var buf []byte
	for range n {
		w, err := Games{Clock: Clock{Base: time.Hour}}.NewWorld(match.WorldConfig{MatchID: "m1", PlayerIDs: []string{alice, bob}})
		if err != nil {
			tb.Fatal(err)
		}
		cw := w.(*world)
		cw.Join()
		cw.Join()
		cw.Start(t0)
		at := t0
		for ply, p := range payloads {
			at = at.Add(time.Second)
			e := match.EntityID(1)
			if toMove(cw.game) != cw.players[0] {
				e = 2
			}
			if changed, rej := cw.Act(e, p, at); !changed || rej != nil {
				tb.Fatalf("move %d: changed %v, %v", ply, changed, rej)
			}
			if _, err := cw.Save(); err != nil {
				tb.Fatal(err)
			}
			buf = cw.AppendState(buf[:0])
		}
		worlds = append(worlds, cw)
	}
	return worlds
}

// TestHeapPerGame holds what a game in play keeps alive between two moves,
// per game: at 5,000 games every GC cycle marks it all (bench/README.md,
// "Chess"), and what holds pointers is what costs the mark phase its time.
// The budgets are per game, at plies 0, 40 and 80 of a fixed random line:
// room for the game, the rules' state and the library's position and
// board, not for a pointer or an object per move played. (With a []string
// of the moves and the repetition keys as strings: 1,753 B scannable and
// 49.5 objects at ply 40, 2,863 B and 90 objects at ply 80.)
func TestHeapPerGame(t *testing.T) {
	if testing.Short() {
		t.Skip("heap budgets: not in -short")
	}
	const n = 500
	line := randomLine(t, 80)
	for _, plies := range []int{0, 40, 80} {
		before := readFootprint()
		worlds := worldsAt(t, n, line[:plies])
		after := readFootprint()
		runtime.KeepAlive(worlds)
		scan := (after.scan - before.scan) / n
		live := (after.live - before.live) / n
		objs := (after.objects - before.objects) / n
		t.Logf("ply %d: per game %.0f B scannable, %.0f B live, %.1f objects", plies, scan, live, objs)
		const maxScan, maxObjects = 1024, 16
		if scan > maxScan || objs > maxObjects {
			t.Errorf("a game at ply %d keeps %.0f B scannable and %.1f objects live, want at most %d B and %d", plies, scan, objs, maxScan, maxObjects)
		}
	}
}
