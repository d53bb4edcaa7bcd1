//go:build !race

// Allocation budgets of the room's per-tick hot path. The race detector
// changes allocation counts, so these run only without it.

package match

import (
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
)

// TestStepAllocs: a tick of a ten-seat room, one input queued per seat
// beforehand, half the peers full and half delta, allocates once: the
// snapshot's buffer, which holds the full message and the key and delta
// bodies together. It cannot be reused, because the same bytes are handed
// to every peer, which may hold them until its writer has sent them,
// ticks later (Peer.SendSnapshot: the snapshot is shared and immutable); a
// pool would need every peer to give the buffer back. Everything else is
// reused across ticks: the commands, the peers, the entity states, the two
// Snapshot messages (this tick's and the previous one, which the delta is
// from) with their Entity messages, and the delta encoder's scratch. Each
// peer's own acknowledgements travel by value: nothing per peer.
func TestStepAllocs(t *testing.T) {
	r, _ := benchRoom(t, 10)
	for i := 0; i < len(r.players); i += 2 {
		if err := seat(r, i).Attach(&benchDeltaPeer{}); err != nil {
			t.Fatal(err)
		}
	}
	in := &arbiterv1.Input{MoveX: 10, MoveY: -10, AimX: 40000, AimY: -25000, ViewTick: 5398}
	seq := uint32(6000)
	tick := func() {
		seq++
		in.Seq = seq
		for i := range r.players {
			seat(r, i).Input(in)
		}
		r.step()
	}
	tick() // grow the reused buffers
	if n := testing.AllocsPerRun(1000, tick); n > 1 {
		t.Errorf("a tick of 10 seats allocates %v times, want at most 1 (the snapshot buffer)", n)
	}
	if got, want := r.Stats.InputsApplied.Load(), uint64(10*1002); got != want {
		t.Errorf("InputsApplied = %d, want %d: the test did not exercise the input path", got, want)
	}
}

// TestSeatInputAllocs: queueing an input allocates nothing; the buffer is
// preallocated at InboxSize.
func TestSeatInputAllocs(t *testing.T) {
	r, _ := benchRoom(t, 2)
	s := seat(r, 0)
	in := &arbiterv1.Input{MoveX: 10, ViewTick: 5398}
	seq := uint32(6000)
	if n := testing.AllocsPerRun(1000, func() {
		seq++
		in.Seq = seq
		s.Input(in)
		drainInbox(s.p)
	}); n != 0 {
		t.Errorf("Seat.Input allocates %v times, want 0", n)
	}
	if n := r.Stats.InputsStale.Load() + r.Stats.InputsSurplus.Load(); n != 0 {
		t.Errorf("%d inputs dropped: the test did not exercise the queueing path", n)
	}
}

// TestBroadcastStateAllocs: an event room's broadcast to two connected
// players allocates once — the buffer both frames are encoded into — when
// the world's state fits the room's reused payload buffer and no store
// saves it. The State message, the list of peers and the payload are the
// room's, reused.
func TestBroadcastStateAllocs(t *testing.T) {
	world, _ := raceGame{limit: time.Hour}.NewWorld(WorldConfig{})
	cfg := RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 10 * time.Second, InboxSize: 4}
	r := newRoom("m1", Mode{Name: "race", Players: 2}, cfg, world, []string{"alice", "bob"}, newFakeClock(), discardLogger(), nil)
	peers := [2]*benchPeer{{}, {}}
	for i := range peers {
		if err := seat(r, i).Attach(peers[i]); err != nil {
			t.Fatal(err)
		}
	}
	r.broadcastState() // grow the reused buffers
	if n := testing.AllocsPerRun(1000, r.broadcastState); n != 1 {
		t.Errorf("a broadcast to 2 players allocates %v times, want 1", n)
	}
	if got := r.Stats.SnapshotFrames.Load(); got != 2*1002 {
		t.Errorf("SnapshotFrames = %d, want %d: the test did not reach the peers", got, 2*1002)
	}
}
