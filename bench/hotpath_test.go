//go:build !race

// Allocation budgets of the per-input path across packages: the wire
// decode (protobuf) and the game's validation (match/arena). This is an
// external test package, so package bench itself still imports no server
// internals. The race detector changes allocation counts, so these run
// only without it.

package bench_test

import (
	"testing"

	"github.com/arbiter-gg/arbiter/match"
	"github.com/arbiter-gg/arbiter/match/arena"
	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
	"google.golang.org/protobuf/proto"
)

func arenaWorld(t *testing.T) (match.TickWorld, match.EntityID) {
	t.Helper()
	world, err := arena.Game{}.NewWorld(match.WorldConfig{Mode: "ffa", TickRate: 30, Players: 10})
	if err != nil {
		t.Fatal(err)
	}
	w := world.(match.TickWorld)
	id := w.Join()
	for range 10 {
		w.Join()
	}
	for range 100 {
		w.Step(nil)
	}
	return w, id
}

// TestArenaValidateAllocs: arena's World.Validate allocates nothing,
// accepting or rejecting (its errors are preallocated).
func TestArenaValidateAllocs(t *testing.T) {
	w, id := arenaWorld(t)
	tests := []struct {
		name  string
		in    match.Input
		valid bool
	}{
		{"accept", match.Input{MoveX: 707, MoveY: -707, Buttons: sim.ButtonFire, AimX: 40000, AimY: -25000, ViewTick: 98}, true},
		{"reject", match.Input{MoveX: sim.MoveTolerance + 1, ViewTick: 98}, false},
	}
	for _, tt := range tests {
		seq := uint32(0)
		var bad int
		n := testing.AllocsPerRun(1000, func() {
			seq++
			tt.in.Seq = seq
			if (w.Validate(id, tt.in) == nil) != tt.valid {
				bad++
			}
			w.Step(nil)
		})
		if n != 0 {
			t.Errorf("%s: World.Validate allocates %v times, want 0", tt.name, n)
		}
		if bad > 0 {
			t.Errorf("%s: %d verdicts not as expected", tt.name, bad)
		}
	}
}

// TestInputDecodeAllocs: decoding an Input frame into a reused
// ClientMessage, as the transport does, allocates twice: Unmarshal resets
// the message, so the oneof wrapper and the Input are new every time.
// netcode's TestHandleFrameInputAllocs holds the transport to the same
// budget.
func TestInputDecodeAllocs(t *testing.T) {
	frame, err := proto.Marshal(&arbiterv1.ClientMessage{Kind: &arbiterv1.ClientMessage_Input{Input: &arbiterv1.Input{
		Seq: 3000, MoveX: 707, MoveY: -707, Buttons: sim.ButtonFire, AimX: 40000, AimY: -25000, ViewTick: 2998,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	var m arbiterv1.ClientMessage
	if n := testing.AllocsPerRun(1000, func() {
		if err := proto.Unmarshal(frame, &m); err != nil {
			panic(err)
		}
	}); n > 2 {
		t.Errorf("decoding an Input frame allocates %v times, want at most 2", n)
	}
	if m.GetInput().GetSeq() != 3000 {
		t.Errorf("decoded %v", &m)
	}
}
