package client

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/arbiter-gg/arbiter/sim"
)

const testRate = 30 // ticks per second; a full move is 666 centi-units a tick

// lockstep plays a client and a server model against each other, tick by
// tick: the client sends input seq i at tick i (and predicts it), the server
// processes it lag ticks later (applying it with sim.Move unless it is
// invalid or drop says the server dropped it) and the client reconciles with the resulting snapshot in the
// same tick. It returns the Predictor and the server's final position.
func lockstep(t *testing.T, start sim.Vec, moves []sim.Vec, drop map[uint32]bool, lag int) (*Predictor, sim.Vec) {
	t.Helper()
	p := NewPredictor(testRate, 1, 0)
	p.Reconcile(start, 0)
	server := start
	var processed uint32
	for tick := 1; tick <= len(moves)+lag; tick++ {
		if tick <= len(moves) {
			m := moves[tick-1]
			p.Apply(sim.Input{Seq: uint32(tick), MoveX: m.X, MoveY: m.Y})
		}
		if next := tick - lag; next >= 1 && next <= len(moves) {
			in := sim.Input{MoveX: moves[next-1].X, MoveY: moves[next-1].Y}
			if !drop[uint32(next)] && sim.Validate(in) == sim.ViolationNone {
				server = sim.Move(server, in, testRate)
			}
			processed = uint32(next)
		}
		p.Reconcile(server, processed)
	}
	return p, server
}

func vec(x, y int32) sim.Vec { return sim.Vec{X: x, Y: y} }

func repeat(v sim.Vec, n int) []sim.Vec {
	out := make([]sim.Vec, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestPredictorLockstep(t *testing.T) {
	right := sim.Vec{X: 1000}
	zigzag := []sim.Vec{vec(1000, 0), vec(0, 1000), vec(-707, 707), vec(0, 0), vec(600, -800), vec(-1000, 0), vec(1, 1), vec(500, 500)}
	tests := []struct {
		name  string
		start sim.Vec
		moves []sim.Vec
		drop  map[uint32]bool
		lag   int
		want  PredictionStats
	}{
		{
			name: "acks in order, no lag", start: sim.Vec{X: 50000, Y: 50000},
			moves: zigzag, lag: 0,
			want: PredictionStats{Checked: 8},
		},
		{
			name: "acks in order, five ticks of lag", start: sim.Vec{X: 50000, Y: 50000},
			moves: zigzag, lag: 5,
			want: PredictionStats{Checked: 8},
		},
		{
			name: "clamped at the arena edge", start: sim.Vec{X: sim.ArenaSize - 1000, Y: 10},
			moves: repeat(sim.Vec{X: 707, Y: -707}, 6), lag: 3,
			want: PredictionStats{Checked: 6},
		},
		{
			name: "server dropped one input", start: sim.Vec{X: 50000, Y: 50000},
			moves: repeat(right, 10), drop: map[uint32]bool{4: true}, lag: 3,
			// Seq 4's prediction is one step ahead; the replay after its
			// ack fixes seqs 5..10, which are then exact.
			want: PredictionStats{Checked: 10, Corrections: 1, Last: 0, Max: 666},
		},
		{
			name: "server dropped two inputs", start: sim.Vec{X: 50000, Y: 50000},
			moves: repeat(right, 10), drop: map[uint32]bool{2: true, 7: true}, lag: 2,
			want: PredictionStats{Checked: 10, Corrections: 2, Last: 0, Max: 666},
		},
		{
			name: "dropped input that did not move", start: sim.Vec{X: 50000, Y: 50000},
			moves: []sim.Vec{vec(1000, 0), vec(0, 0), vec(1000, 0)}, drop: map[uint32]bool{2: true}, lag: 1,
			want: PredictionStats{Checked: 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, server := lockstep(t, tt.start, tt.moves, tt.drop, tt.lag)
			if diff := cmp.Diff(tt.want, p.Stats()); diff != "" {
				t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
			}
			if got := p.Position(); got != server {
				t.Errorf("Position() = %v, want the server's %v", got, server)
			}
			if got := p.Pending(); got != 0 {
				t.Errorf("Pending() = %d, want 0 after every input was acknowledged", got)
			}
		})
	}
}

func TestPredictorRewindAndReplay(t *testing.T) {
	p := NewPredictor(testRate, 1, 0)
	start := sim.Vec{X: 10000, Y: 10000}
	p.Reconcile(start, 0)
	for seq := uint32(1); seq <= 5; seq++ {
		p.Apply(sim.Input{Seq: seq, MoveX: 1000})
	}
	if got, want := p.Position(), (sim.Vec{X: 10000 + 5*666, Y: 10000}); got != want {
		t.Fatalf("Position() after 5 inputs = %v, want %v", got, want)
	}
	// The server processed 1..2 but also pushed the entity up by 50 (say,
	// a knockback): the prediction keeps the correction and replays 3..5.
	server := sim.Vec{X: 10000 + 2*666, Y: 10050}
	got := p.Reconcile(server, 2)
	if want := (sim.Vec{X: 10000 + 5*666, Y: 10050}); got != want {
		t.Errorf("Reconcile(%v, 2) = %v, want %v", server, got, want)
	}
	if diff := cmp.Diff(PredictionStats{Checked: 1, Corrections: 1, Last: 50, Max: 50}, p.Stats()); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}
	if got := p.Pending(); got != 3 {
		t.Errorf("Pending() = %d, want 3", got)
	}
}

func TestPredictorBeforeAnyAck(t *testing.T) {
	tests := []struct {
		name    string
		lastSeq uint32 // acknowledged in the first snapshot
		want    sim.Vec
		pending int
	}{
		{"no ack: rebase and replay all", 0, sim.Vec{X: 20000 + 3*666, Y: 20000}, 3},
		{"ack of the first: replay the rest", 1, sim.Vec{X: 20000 + 2*666, Y: 20000}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := NewPredictor(testRate, 7, 0)
			// Inputs sent before the first snapshot are predicted from an
			// unknown position.
			for seq := uint32(1); seq <= 3; seq++ {
				p.Apply(sim.Input{Seq: seq, MoveX: 1000})
			}
			if p.Known() {
				t.Fatal("Known() = true before any snapshot")
			}
			got := p.Reconcile(sim.Vec{X: 20000, Y: 20000}, tt.lastSeq)
			if got != tt.want {
				t.Errorf("Reconcile = %v, want %v", got, tt.want)
			}
			if p.Pending() != tt.pending {
				t.Errorf("Pending() = %d, want %d", p.Pending(), tt.pending)
			}
			// Predictions made from the unknown position are not errors.
			if diff := cmp.Diff(PredictionStats{}, p.Stats()); diff != "" {
				t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPredictorIgnoresStaleAndInvalidInputs(t *testing.T) {
	p := NewPredictor(testRate, 1, 0)
	start := sim.Vec{X: 50000, Y: 50000}
	p.Reconcile(start, 0)
	p.Apply(sim.Input{Seq: 1, MoveX: 1000})
	want := sim.Vec{X: 50666, Y: 50000}
	tests := []struct {
		name string
		give sim.Input
	}{
		{"duplicate seq", sim.Input{Seq: 1, MoveX: 1000}},
		{"seq zero", sim.Input{Seq: 0, MoveY: 1000}},
		// The server rejects an over-long move vector without moving.
		{"move vector too long", sim.Input{Seq: 2, MoveX: 1000, MoveY: 1000}},
	}
	for _, tt := range tests {
		if got := p.Apply(tt.give); got != want {
			t.Errorf("%s: Apply(%+v) = %v, want %v", tt.name, tt.give, got, want)
		}
	}
	// The invalid input is pending (the server will acknowledge it) and,
	// acknowledged without movement, is not an error.
	p.Reconcile(want, 2)
	if diff := cmp.Diff(PredictionStats{Checked: 1}, p.Stats()); diff != "" {
		t.Errorf("Stats() mismatch (-want +got):\n%s", diff)
	}
	// An ack older than what was applied does not lower the seq floor.
	p.Reconcile(want, 1)
	if got := p.LastSeq(); got != 2 {
		t.Errorf("LastSeq() = %d, want 2", got)
	}
}

func TestPredictorBoundsPending(t *testing.T) {
	const limit = 4
	p := NewPredictor(testRate, 1, limit)
	start := sim.Vec{X: 10000, Y: 10000}
	p.Reconcile(start, 0)
	for seq := uint32(1); seq <= 10; seq++ {
		p.Apply(sim.Input{Seq: seq, MoveX: 1000})
	}
	if got := p.Pending(); got != limit {
		t.Errorf("Pending() = %d, want the limit %d", got, limit)
	}
	// The forgotten inputs stay folded into the prediction.
	if got, want := p.Position(), (sim.Vec{X: 10000 + 10*666, Y: 10000}); got != want {
		t.Errorf("Position() = %v, want %v", got, want)
	}
	// An ack older than everything pending only rebases: 7..10 replayed.
	server := sim.Vec{X: 10000 + 3*666, Y: 10000}
	if got, want := p.Reconcile(server, 3), (sim.Vec{X: 10000 + 7*666, Y: 10000}); got != want {
		t.Errorf("Reconcile(%v, 3) = %v, want %v", server, got, want)
	}
	// An ack of a pending one drops up to it.
	server = sim.Vec{X: 10000 + 8*666, Y: 10000}
	if got, want := p.Reconcile(server, 8), (sim.Vec{X: 10000 + 10*666, Y: 10000}); got != want {
		t.Errorf("Reconcile(%v, 8) = %v, want %v", server, got, want)
	}
	if got := p.Pending(); got != 2 {
		t.Errorf("Pending() = %d, want 2", got)
	}
	if got := cap(p.pending); got != limit {
		t.Errorf("cap(pending) = %d, want %d: the backing array must not grow", got, limit)
	}
}

func TestPredictorSteadyStateDoesNotAllocate(t *testing.T) {
	p := NewPredictor(testRate, 1, 0)
	p.Reconcile(sim.Vec{X: 50000, Y: 50000}, 0)
	seq := uint32(0)
	allocs := testing.AllocsPerRun(1000, func() {
		seq++
		p.Apply(sim.Input{Seq: seq, MoveX: int32(seq%3) * 300})
		if seq > 3 {
			p.Reconcile(sim.Vec{X: 50000, Y: 50000}, seq-3)
		}
	})
	if allocs != 0 {
		t.Errorf("Apply+Reconcile allocate %v times per call, want 0", allocs)
	}
}

func BenchmarkReconcile(b *testing.B) {
	for _, pending := range []int{1, 6, 60} {
		b.Run(fmt.Sprintf("pending=%d", pending), func(b *testing.B) {
			p := NewPredictor(60, 1, 0)
			p.Reconcile(sim.Vec{X: 50000, Y: 50000}, 0)
			var seq uint32
			for range pending {
				seq++
				p.Apply(sim.Input{Seq: seq, MoveX: 700, MoveY: -700})
			}
			b.ReportAllocs()
			for b.Loop() {
				// One tick of a client: send an input, get a snapshot
				// acknowledging the oldest pending one.
				seq++
				p.Apply(sim.Input{Seq: seq, MoveX: 700, MoveY: -700})
				p.Reconcile(sim.Vec{X: 50000, Y: 50000}, seq-uint32(pending))
			}
		})
	}
}
