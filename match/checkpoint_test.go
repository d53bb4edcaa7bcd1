package match

import (
	"context"
	"sync"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
)

// fakeCheckpoints records what rooms hand it.
type fakeCheckpoints struct {
	mu    sync.Mutex
	saved []Checkpoint
	ended []string
}

func (f *fakeCheckpoints) Save(cp Checkpoint) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.saved = append(f.saved, cp)
}

func (f *fakeCheckpoints) Ended(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ended = append(f.ended, id)
}

// recordingSettler records every result it settles.
type recordingSettler struct {
	mu      sync.Mutex
	results []Result
}

func (s *recordingSettler) Settle(_ context.Context, res Result) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.results = append(s.results, res)
	return res, nil
}

// TestCheckpoints: a room checkpoints when created and every
// CheckpointEvery ticks while running, with the standings and the tick's
// snapshot; its checkpoint is forgotten once its result is recorded.
func TestCheckpoints(t *testing.T) {
	clock := newFakeClock()
	cps := &fakeCheckpoints{}
	ended := make(chan Result, 1)
	m, id := startDuel(t, Config{
		Room:   RoomConfig{TickRate: 20, JoinTimeout: time.Second, Grace: time.Minute, CheckpointEvery: 5},
		Clock:  clock,
		Ledger: &recordingSettler{}, Checkpoints: cps,
		OnEnd: func(r Result) { ended <- r },
	})
	for i, player := range []string{"alice", "bob"} {
		s, err := m.Admit(m.cfg.Tokens.Join(player, id, time.Now().Add(time.Hour)))
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Attach(newFakePeer())
		s.Input(&arbiterv1.Input{Seq: 1, AimX: int32(2 - i)}) // alice scores 2, bob 1
	}
	clock.WaitArmed(2)
	fireUntil(clock, ended)

	cps.mu.Lock()
	defer cps.mu.Unlock()
	var ticks []uint32
	for _, cp := range cps.saved {
		ticks = append(ticks, cp.Tick)
	}
	if want := []uint32{0, 5, 10, 15, 20}; !cmp.Equal(ticks, want) {
		t.Fatalf("checkpoint ticks = %v, want %v", ticks, want)
	}
	first, last := cps.saved[0], cps.saved[len(cps.saved)-1]
	if first.Status != StatusWaiting || first.State != nil || len(first.Players) != 2 {
		t.Errorf("first checkpoint = %+v, want waiting, no state, 2 players", first)
	}
	want := []PlayerResult{{PlayerID: "alice", Entity: 1, Score: 2}, {PlayerID: "bob", Entity: 2, Score: 1}}
	if diff := cmp.Diff(want, last.Players); diff != "" || last.Status != StatusRunning || last.StartedAt.IsZero() {
		t.Errorf("last checkpoint: status %s, started %v, players (-want +got):\n%s", last.Status, last.StartedAt, diff)
	}
	var msg arbiterv1.ServerMessage
	if err := proto.Unmarshal(last.State, &msg); err != nil || msg.GetSnapshot().GetTick() != 20 {
		t.Errorf("last checkpoint's state = %v (%v), want the snapshot of tick 20", &msg, err)
	}
	if !cmp.Equal(cps.ended, []string{id}) {
		t.Errorf("Ended = %v, want [%s]", cps.ended, id)
	}
}

// TestEventRoomCheckpoint: the checkpoint a manager saves for every room
// when it creates it is an event room's too (a room without a tick
// room's buffers): waiting, no state, its players in seat order.
func TestEventRoomCheckpoint(t *testing.T) {
	world, _ := raceGame{limit: time.Hour}.NewWorld(WorldConfig{})
	r := newRoom("m1", Mode{Name: "race", Players: 2}, RoomConfig{TickRate: 30}, world, []string{"alice", "bob"}, newFakeClock(), discardLogger(), nil)
	cp := r.checkpoint(0, nil)
	want := []PlayerResult{{PlayerID: "alice", Entity: 1}, {PlayerID: "bob", Entity: 2}}
	if diff := cmp.Diff(want, cp.Players); diff != "" || cp.Status != StatusWaiting || cp.State != nil || cp.MatchID != "m1" {
		t.Errorf("checkpoint() = %+v; players (-want +got):\n%s", cp, diff)
	}
}

// TestEndOrphans: a match left running by a dead process is recorded from
// its checkpoint, aborted and placed, and its checkpoint forgotten.
func TestEndOrphans(t *testing.T) {
	clock := newFakeClock()
	ledger, cps := &recordingSettler{}, &fakeCheckpoints{}
	m, err := NewManager(Config{Tokens: NewTokens([]byte("k")), Clock: clock, Logger: discardLogger(), Ledger: ledger, Checkpoints: cps})
	if err != nil {
		t.Fatal(err)
	}
	created := clock.Now().Add(-time.Minute)
	cp := Checkpoint{MatchID: "lost", Mode: "ffa", Status: StatusRunning, Tick: 900, CreatedAt: created, StartedAt: created.Add(time.Second),
		Players: []PlayerResult{{PlayerID: "a", Entity: 1, Score: 3}, {PlayerID: "b", Entity: 2, Score: 7}, {PlayerID: "c", Entity: 3, Score: 9, Forfeit: true}}}
	n, err := m.EndOrphans(t.Context(), []Checkpoint{cp})
	if err != nil || n != 1 {
		t.Fatalf("EndOrphans = %d, %v; want 1, nil", n, err)
	}
	want := Result{MatchID: "lost", Mode: "ffa", Aborted: true, Reason: ReasonServerLost, CreatedAt: cp.CreatedAt, StartedAt: cp.StartedAt, EndedAt: clock.Now(), Ticks: 900,
		Players: []PlayerResult{{PlayerID: "a", Entity: 1, Score: 3, Placement: 2}, {PlayerID: "b", Entity: 2, Score: 7, Placement: 1}, {PlayerID: "c", Entity: 3, Score: 9, Forfeit: true, Placement: 3}}}
	if diff := cmp.Diff([]Result{want}, ledger.results); diff != "" {
		t.Errorf("settled (-want +got):\n%s", diff)
	}
	if !cmp.Equal(cps.ended, []string{"lost"}) {
		t.Errorf("Ended = %v, want [lost]", cps.ended)
	}
}
