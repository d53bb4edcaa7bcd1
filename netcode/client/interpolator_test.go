package client

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/arbiter-gg/arbiter/sim"
)

func view(id sim.EntityID, x, y int32) EntityView {
	return EntityView{ID: id, Pos: sim.Vec{X: x, Y: y}, HP: 100}
}

func TestInterpolatorSample(t *testing.T) {
	const self = 1
	ip := NewInterpolator(self, testRate, 0)
	ip.Push(10, []EntityView{view(self, 5, 5), view(2, 1000, 2000), view(3, 0, 0), view(4, 70000, 70000)})
	// Entity 3 leaves, 5 joins, 4 respawns across the arena.
	ip.Push(12, []EntityView{view(2, 2000, 1000), view(self, 9, 9), view(5, 300, 300), view(4, 20000, 20000)})
	ip.Push(14, []EntityView{view(2, 2000, 2200), view(5, 300, 300), view(4, 20000, 20000)})

	tests := []struct {
		name string
		give float64
		want []EntityView
	}{
		{"before the oldest: clamped", 3, []EntityView{view(2, 1000, 2000), view(3, 0, 0), view(4, 70000, 70000)}},
		{"at the oldest", 10, []EntityView{view(2, 1000, 2000), view(3, 0, 0), view(4, 70000, 70000)}},
		// A teleport snaps to the nearer end in time, the newer one on a tie.
		{"midpoint", 11, []EntityView{view(2, 1500, 1500), view(5, 300, 300), view(4, 20000, 20000)}},
		{"quarter", 10.5, []EntityView{view(2, 1250, 1750), view(5, 300, 300), view(4, 70000, 70000)}},
		{"before half a teleport", 10.75, []EntityView{view(2, 1375, 1625), view(5, 300, 300), view(4, 70000, 70000)}},
		{"exactly at a middle snapshot", 12, []EntityView{view(2, 2000, 1000), view(5, 300, 300), view(4, 20000, 20000)}},
		{"second span", 13, []EntityView{view(2, 2000, 1600), view(5, 300, 300), view(4, 20000, 20000)}},
		{"after the newest: clamped", 99, []EntityView{view(2, 2000, 2200), view(5, 300, 300), view(4, 20000, 20000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ip.Sample(tt.give, nil)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Sample(%v) mismatch (-want +got):\n%s", tt.give, diff)
			}
		})
	}
}

func TestInterpolatorEmptyAndSingle(t *testing.T) {
	ip := NewInterpolator(1, testRate, 0)
	if got := ip.Sample(5, nil); len(got) != 0 {
		t.Errorf("Sample on empty = %v, want nothing", got)
	}
	ip.Push(7, []EntityView{view(2, 10, 10)})
	if diff := cmp.Diff([]EntityView{view(2, 10, 10)}, ip.Sample(100, nil)); diff != "" {
		t.Errorf("Sample with one snapshot mismatch (-want +got):\n%s", diff)
	}
}

func TestInterpolatorIgnoresStaleSnapshots(t *testing.T) {
	ip := NewInterpolator(1, testRate, 0)
	ip.Push(10, []EntityView{view(2, 10, 10)})
	tests := []struct {
		give sim.Tick
		want bool
	}{{10, false}, {9, false}, {11, true}, {11, false}}
	for _, tt := range tests {
		if got := ip.Push(tt.give, []EntityView{view(2, 99, 99)}); got != tt.want {
			t.Errorf("Push(%d) = %v, want %v", tt.give, got, tt.want)
		}
	}
	if got := ip.Len(); got != 2 {
		t.Errorf("Len() = %d, want 2", got)
	}
}

func TestInterpolatorBoundedMemory(t *testing.T) {
	const capacity = 4
	ip := NewInterpolator(1, testRate, capacity)
	es := []EntityView{view(1, 0, 0), view(2, 0, 0), view(3, 0, 0)}
	tick := sim.Tick(0)
	push := func() {
		tick++
		es[1].Pos.X = int32(tick) * 100
		ip.Push(tick, es)
	}
	for range 100 {
		push()
	}
	if got := ip.Len(); got != capacity {
		t.Errorf("Len() = %d, want %d", got, capacity)
	}
	if got, _ := ip.Oldest(); got != 97 {
		t.Errorf("Oldest() = %d, want 97", got)
	}
	if got, _ := ip.Newest(); got != 100 {
		t.Errorf("Newest() = %d, want 100", got)
	}
	// Entities were copied, not aliased: changing es does not change history.
	es[1].Pos.X = -1
	want := []EntityView{view(2, 9850, 0), view(3, 0, 0)}
	if diff := cmp.Diff(want, ip.Sample(98.5, nil)); diff != "" {
		t.Errorf("Sample(98.5) mismatch (-want +got):\n%s", diff)
	}
	// Steady state reuses the ring's entity slices.
	dst := make([]EntityView, 0, 8)
	allocs := testing.AllocsPerRun(1000, func() {
		push()
		dst = ip.Sample(float64(tick)-1.5, dst[:0])
	})
	if allocs != 0 {
		t.Errorf("Push+Sample allocate %v times per call, want 0", allocs)
	}
}
