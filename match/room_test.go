package match

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
)

func testRoom(t *testing.T, g *fakeGame, clock Clock, players int, duration time.Duration, onEnd func(Result) Result) *Room {
	t.Helper()
	world, _ := g.NewWorld(WorldConfig{})
	ids := make([]string, players)
	for i := range ids {
		ids[i] = string(rune('a' + i))
	}
	cfg := RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 2 * time.Second, MaxCatchUp: 3, InboxSize: 4}
	return newRoom("m1", Mode{Name: "test", Players: players, Duration: duration}, cfg, world, ids, clock, discardLogger(), onEnd)
}

func seat(r *Room, i int) *Seat { return &Seat{room: r, p: r.players[i]} }

// runTicks seats one player in the one-seat room r, runs it on clock until
// it has ticked n times, firing one timer at a time, and stops it. started
// runs once the room has started, before the first tick.
func runTicks(t *testing.T, r *Room, clock *fakeClock, n uint32, started func()) {
	t.Helper()
	if err := seat(r, 0).Attach(newFakePeer()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	clock.WaitArmed(2) // the join timer, then the first tick's timer
	started()
	for r.Tick() < n {
		armed := clock.Armed()
		if !clock.FireNext() {
			t.Fatal("no timer armed")
		}
		clock.WaitArmed(armed + 1)
	}
	cancel()
	<-done
}

// TestTickLoopNoDrift runs 10,000 ticks on a fake clock whose every tick takes
// a random share of the period, and checks that each tick starts exactly at
// start + n·period: lateness of one wake-up never shifts the next deadline.
func TestTickLoopNoDrift(t *testing.T) {
	const ticks = 10000
	clock := newFakeClock()
	rng := rand.New(rand.NewPCG(7, 7))
	period := time.Second / 30
	var start time.Time
	var late []int
	g := &fakeGame{}
	r := testRoom(t, g, clock, 1, time.Hour, nil)
	g.onStep = func(n int) {
		if want := start.Add(time.Duration(n) * period); !clock.Now().Equal(want) {
			late = append(late, n)
		}
		clock.Advance(time.Duration(rng.Int64N(int64(period * 9 / 10)))) // the tick's own work
	}
	runTicks(t, r, clock, ticks, func() { start = r.startedAt })
	if len(late) > 0 {
		t.Errorf("%d ticks did not start on their deadline, first at tick %d", len(late), late[0])
	}
	if got := r.Stats.Overruns.Load(); got != 0 {
		t.Errorf("Overruns = %d, want 0", got)
	}
	if got := r.Stats.Skipped.Load(); got != 0 {
		t.Errorf("Skipped = %d, want 0", got)
	}
}

// TestTickLoopCatchUp stalls the loop for ten periods: it runs MaxCatchUp
// ticks back to back, skips the rest, and counts both.
func TestTickLoopCatchUp(t *testing.T) {
	clock := newFakeClock()
	r := testRoom(t, &fakeGame{}, clock, 1, time.Hour, nil)
	_ = seat(r, 0).Attach(newFakePeer())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	clock.WaitArmed(2)
	clock.FireNext() // tick 1 on time
	clock.WaitArmed(3)
	clock.Advance(10 * time.Second / 30) // ticks 2..11 all due at once
	clock.WaitArmed(4)
	cancel()
	<-done
	if got, want := r.Tick(), uint32(1+3); got != want {
		t.Errorf("Tick() = %d, want %d", got, want)
	}
	if got := r.Stats.Skipped.Load(); got != 7 {
		t.Errorf("Skipped = %d, want 7", got)
	}
	if got := r.Stats.Overruns.Load(); got != 1 {
		t.Errorf("Overruns = %d, want 1", got)
	}
}

func TestSchedule(t *testing.T) {
	start := time.Unix(0, 0)
	s := newSchedule(start, 10*time.Millisecond, 3)
	tests := []struct {
		at   time.Duration
		want int
	}{
		{5 * time.Millisecond, 0},
		{10 * time.Millisecond, 1},
		{19 * time.Millisecond, 0},
		{41 * time.Millisecond, 3}, // ticks 2,3,4
		{200 * time.Millisecond, 3},
	}
	for _, tt := range tests {
		if got := s.due(start.Add(tt.at)); got != tt.want {
			t.Errorf("due(%v) = %d, want %d", tt.at, got, tt.want)
		}
	}
	if s.skipped != 13 || s.overruns != 2 {
		t.Errorf("skipped, overruns = %d, %d; want 13, 2", s.skipped, s.overruns)
	}
	if got := s.wait(start.Add(200 * time.Millisecond)); got != 10*time.Millisecond {
		t.Errorf("wait = %v, want 10ms", got)
	}
}

// TestInputSemantics checks docs/protocol.md: inputs apply once, in seq order, at most
// one per player per tick; stale ones are ignored; invalid ones are dropped
// but advance last_input_seq; the backlog stays short — oldest surplus
// dropped, never scored — and is reported in every snapshot.
func TestInputSemantics(t *testing.T) {
	type tick struct {
		send        []Input // queued before the tick
		wantX       int32   // entity position after the tick
		wantAck     uint32  // last_input_seq after the tick
		wantBacklog uint32  // input_backlog after the tick
	}
	seqs := func(from, to uint32) []Input { // seq k moves by k
		var ins []Input
		for k := from; k <= to; k++ {
			ins = append(ins, Input{Seq: k, MoveX: int32(k)})
		}
		return ins
	}
	tests := []struct {
		name    string
		waiting bool // the inputs of the first tick arrive before the match starts
		ticks   []tick
		want    [3]uint64 // stale, invalid, surplus
	}{
		{"one per tick in order", false, []tick{
			{send: seqs(1, 3), wantX: 1, wantAck: 1, wantBacklog: 2},
			{wantX: 3, wantAck: 2, wantBacklog: 1},
			{wantX: 6, wantAck: 3},
			{wantX: 6, wantAck: 3}, // nothing pending: no move
		}, [3]uint64{}},
		{"out of order arrivals are reordered", false, []tick{
			{send: []Input{{Seq: 2, MoveX: 10}, {Seq: 1, MoveX: 1}}, wantX: 1, wantAck: 1, wantBacklog: 1},
			{wantX: 11, wantAck: 2},
		}, [3]uint64{}},
		{"replayed and repeated seqs ignored", false, []tick{
			{send: []Input{{Seq: 1, MoveX: 1}}, wantX: 1, wantAck: 1},
			{send: []Input{{Seq: 1, MoveX: 1}, {Seq: 2, MoveX: 10}, {Seq: 2, MoveX: 99}}, wantX: 11, wantAck: 2},
		}, [3]uint64{2, 0, 0}},
		{"invalid dropped, next valid applied", false, []tick{
			{send: []Input{{Seq: 1, MoveX: 5, Buttons: 0xdead}, {Seq: 2, MoveX: 10}}, wantX: 10, wantAck: 2},
		}, [3]uint64{0, 1, 0}},
		{"only invalid: ack advances, no move", false, []tick{
			{send: []Input{{Seq: 7, MoveX: 5, Buttons: 0xdead}}, wantX: 0, wantAck: 7},
		}, [3]uint64{0, 1, 0}},
		{"backlog at MaxBacklog kept", false, []tick{
			{send: seqs(1, 4), wantX: 1, wantAck: 1, wantBacklog: 3},
		}, [3]uint64{}},
		{"backlog beyond MaxBacklog: all but the newest dropped", false, []tick{
			{send: seqs(1, 5), wantX: 5, wantAck: 5},
			{send: seqs(6, 6), wantX: 11, wantAck: 6},
		}, [3]uint64{0, 0, 4}},
		{"a burst beyond the inbox pushes the oldest out", false, []tick{
			{send: seqs(1, 40), wantX: 40, wantAck: 40},
			{send: seqs(41, 41), wantX: 81, wantAck: 41},
		}, [3]uint64{0, 0, 39}},
		{"before the start only the newest is kept", true, []tick{
			{send: seqs(1, 9), wantX: 9, wantAck: 9},
			{wantX: 9, wantAck: 9},
		}, [3]uint64{0, 0, 8}},
		{"a superseded seq arriving late is dropped too", true, []tick{
			{send: []Input{{Seq: 5, MoveX: 5}, {Seq: 3, MoveX: 3}}, wantX: 5, wantAck: 5},
			{send: []Input{{Seq: 4, MoveX: 4}}, wantX: 5, wantAck: 5},
		}, [3]uint64{1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRoom(t, &fakeGame{}, newFakeClock(), 2, time.Hour, nil)
			peer := newFakePeer()
			s := seat(r, 0)
			if err := s.Attach(peer); err != nil {
				t.Fatal(err)
			}
			if !tt.waiting {
				r.state.Store(stateRunning)
			}
			for i, tk := range tt.ticks {
				for _, in := range tk.send {
					s.Input(&arbiterv1.Input{Seq: in.Seq, MoveX: in.MoveX, Buttons: in.Buttons})
				}
				r.state.Store(stateRunning)
				r.step()
				e := peer.lastSnapshot(t).GetEntities()[0]
				if e.GetX() != tk.wantX || e.GetLastInputSeq() != tk.wantAck || e.GetInputBacklog() != tk.wantBacklog {
					t.Errorf("tick %d: x, last_input_seq, input_backlog = %d, %d, %d; want %d, %d, %d", i+1,
						e.GetX(), e.GetLastInputSeq(), e.GetInputBacklog(), tk.wantX, tk.wantAck, tk.wantBacklog)
				}
			}
			got := [3]uint64{r.Stats.InputsStale.Load(), r.Stats.InputsInvalid.Load(), r.Stats.InputsSurplus.Load()}
			if got != tt.want {
				t.Errorf("stale, invalid, surplus = %v, want %v", got, tt.want)
			}
			// Only invalid inputs are violations: stale and surplus are not.
			if v := r.players[0].violations; len(v) != int(tt.want[1]) {
				t.Errorf("violations = %v, want only the %d invalid", v, tt.want[1])
			}
			if peer.closed {
				t.Errorf("player closed: %q", peer.reason)
			}
		})
	}
}

// TestStandingBacklogDrained: a client one input ahead for a whole standing
// window — it sends one per tick, so a backlog never drains by itself —
// loses the standing excess at once, at the end of the window, and plays on
// with none; a client whose backlog touches one within the window keeps
// all, even after more than a second of standing (a paced client shedding
// a cushion of its own, issue 14).
func TestStandingBacklogDrained(t *testing.T) {
	tests := []struct {
		name string
		dip  int // the tick at which a late input leaves one waiting; 0: none
		want uint64
	}{
		{name: "standing", want: 1},
		{name: "dips early", dip: 10},
		{name: "dips after a second", dip: 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRoom(t, &fakeGame{}, newFakeClock(), 1, time.Hour, nil)
			peer := newFakePeer()
			s := seat(r, 0)
			_ = s.Attach(peer)
			r.state.Store(stateRunning)
			seq := uint32(0)
			send := func(n int) {
				for range n {
					seq++
					s.Input(&arbiterv1.Input{Seq: seq, MoveX: 1})
				}
			}
			send(1)
			window := standingWindow * r.cfg.TickRate
			ticks := 2 * window
			if tt.dip > 0 {
				ticks = window
			}
			var backlogs []uint32
			for tk := range ticks {
				switch {
				case tt.dip > 0 && tk == tt.dip:
					send(0) // a late input: this tick finds only one waiting
				case tt.dip > 0 && tk == tt.dip+1:
					send(2)
				default:
					send(1)
				}
				r.step()
				backlogs = append(backlogs, peer.lastSnapshot(t).GetEntities()[0].GetInputBacklog())
			}
			surplus := r.Stats.InputsSurplus.Load()
			if surplus != tt.want {
				t.Errorf("surplus %d, backlogs %v; want %d dropped", surplus, backlogs, tt.want)
			}
			if tt.want > 0 && (backlogs[window-2] != 1 || backlogs[window-1] != 0 || backlogs[len(backlogs)-1] != 0) {
				t.Errorf("backlogs %v; want 1 dropped at tick %d, none waiting after", backlogs, window)
			}
		})
	}
}

// TestWelcomeLastInputSeq: a connection that replaces another (a page
// reload) is told the highest seq received, waiting inputs included, so
// that it numbers its inputs after it.
func TestWelcomeLastInputSeq(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 2, time.Hour, nil)
	s := seat(r, 0)
	_ = s.Attach(newFakePeer())
	r.state.Store(stateRunning)
	for seq := uint32(1); seq <= 5; seq++ {
		s.Input(&arbiterv1.Input{Seq: seq})
	}
	r.step() // 1 applied, 2–5 waiting
	reload := newFakePeer()
	if err := s.Attach(reload); err != nil {
		t.Fatal(err)
	}
	if w := decode(t, reload.frames[0]).GetWelcome(); w.GetLastInputSeq() != 5 {
		t.Errorf("Welcome.last_input_seq = %d, want 5", w.GetLastInputSeq())
	}
	s.Input(&arbiterv1.Input{Seq: 1, MoveX: 100}) // a page that restarts at 1 is ignored, not punished
	if st := r.Stats.InputsStale.Load(); st != 1 {
		t.Errorf("stale = %d, want 1", st)
	}
}

// TestSnapshotEncodedOnce checks that every peer is handed the very same
// bytes each tick, and that Welcome precedes any snapshot.
func TestSnapshotEncodedOnce(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 3, time.Hour, nil)
	peers := []*fakePeer{newFakePeer(), newFakePeer(), newFakePeer()}
	for i, p := range peers {
		if err := seat(r, i).Attach(p); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		r.step()
	}
	for i, p := range peers {
		if len(p.snapshots) != 5 {
			t.Fatalf("peer %d got %d snapshots, want 5", i, len(p.snapshots))
		}
		if w := decode(t, p.frames[0]).GetWelcome(); w.GetEntityId() != uint32(i+1) || w.GetTickRate() != 30 || w.GetMatchId() != "m1" {
			t.Errorf("peer %d first frame = %v, want its Welcome", i, w)
		}
		for k := range 5 {
			if &p.snapshots[k][0] != &peers[0].snapshots[k][0] {
				t.Errorf("peer %d tick %d: snapshot bytes are a different buffer", i, k+1)
			}
			if got := decode(t, p.snapshots[k]).GetSnapshot().GetTick(); got != uint32(k+1) {
				t.Errorf("peer %d snapshot %d has tick %d", i, k, got)
			}
		}
	}
}

// TestDeltaSnapshots: each tick the room encodes the full message, the
// key and the delta from the previous tick once, hands every peer the
// same bytes with its own acknowledgements, and tells each in its Welcome
// the encoding its connection asked for. A delta peer that applies the
// first key and then every delta has, after every tick, the full
// snapshot with only its own acknowledgements; so does one that applies
// any tick's key.
func TestDeltaSnapshots(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 3, time.Hour, nil)
	full, d1, d2 := newFakePeer(), deltaPeer{newFakePeer()}, deltaPeer{newFakePeer()}
	for i, p := range []Peer{full, d1, d2} {
		if err := seat(r, i).Attach(p); err != nil {
			t.Fatal(err)
		}
	}
	r.state.Store(stateRunning)
	const ticks = 6
	for k := range ticks {
		seat(r, 0).Input(&arbiterv1.Input{Seq: uint32(k + 1), MoveX: int32(10 * k)})
		if k%2 == 0 {
			seat(r, 1).Input(&arbiterv1.Input{Seq: uint32(k + 1), MoveX: -7, AimX: 1})
			seat(r, 1).Input(&arbiterv1.Input{Seq: uint32(k + 2)}) // one left waiting: a backlog
		}
		r.step()
	}
	wantEncoding := []arbiterv1.SnapshotEncoding{
		arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_FULL,
		arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA,
		arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA,
	}
	wantBytes := 0
	for i, p := range []*fakePeer{full, d1.fakePeer, d2.fakePeer} {
		if got := decode(t, p.frames[0]).GetWelcome().GetSnapshots(); got != wantEncoding[i] {
			t.Errorf("peer %d: Welcome.snapshots = %v, want %v", i, got, wantEncoding[i])
		}
		if len(p.ticks) != ticks {
			t.Fatalf("peer %d got %d snapshots, want %d", i, len(p.ticks), ticks)
		}
		self := uint32(i + 1)
		var last *arbiterv1.Snapshot
		for k, ts := range p.ticks {
			tick := uint32(k + 1)
			if &ts.Full[0] != &full.ticks[k].Full[0] || &ts.Key[0] != &full.ticks[k].Key[0] {
				t.Errorf("peer %d tick %d: snapshot bytes are a different buffer", i, tick)
			}
			whole := decode(t, ts.Full).GetSnapshot()
			want := &arbiterv1.Snapshot{Tick: tick}
			for _, e := range whole.GetEntities() {
				e := proto.CloneOf(e)
				if e.Id == self {
					own := arbiterv1.Ack{LastInputSeq: e.LastInputSeq, InputBacklog: e.InputBacklog}
					if own != p.acks[k] {
						t.Errorf("peer %d tick %d: own acknowledgements %+v, want the entity's %+v", i, tick, p.acks[k], own)
					}
				} else {
					e.LastInputSeq, e.InputBacklog = 0, 0
				}
				want.Entities = append(want.Entities, e)
			}
			switch {
			case tick == 1 && (ts.Delta != nil || ts.Base != 0):
				t.Errorf("tick 1: a delta from tick %d; want none, there is no earlier tick", ts.Base)
			case tick > 1 && (ts.Delta == nil || ts.Base != tick-1):
				t.Errorf("tick %d: delta from tick %d (%d bytes), want one from tick %d", tick, ts.Base, len(ts.Delta), tick-1)
			}
			body := ts.Key
			if ts.Delta != nil {
				body = ts.Delta
			}
			var next *arbiterv1.Snapshot
			for _, give := range []struct {
				from *arbiterv1.Snapshot
				body []byte
			}{{nil, ts.Key}, {last, body}} { // the key alone; the chain
				got, err := arbiterv1.ApplyDelta(give.from, decode(t, arbiterv1.AppendDeltaMessage(nil, give.body, p.acks[k])).GetSnapshotDelta(), self)
				if err != nil {
					t.Fatalf("peer %d tick %d: ApplyDelta: %v", i, tick, err)
				}
				if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
					t.Errorf("peer %d tick %d: decoded snapshot (-want +got):\n%s", i, tick, diff)
				}
				next = got
			}
			last = next
			if i == 0 {
				wantBytes += len(ts.Full)
			} else {
				wantBytes += arbiterv1.DeltaMessageSize(body, p.acks[k])
			}
		}
	}
	if got := r.Stats.SnapshotBytes.Load(); got != uint64(wantBytes) {
		t.Errorf("SnapshotBytes = %d, want %d: each peer's in its encoding", got, wantBytes)
	}
	if a := d1.acks[ticks-1]; a.InputBacklog == 0 && a.LastInputSeq == 0 {
		t.Errorf("peer 1's last acknowledgements are %+v: the test did not exercise them", a)
	}
}

// TestSnapshotEncodedAsNeeded: a tick encodes what its peers take — the
// full message for full peers and for a checkpoint, the key and the delta
// for delta peers — and nothing else.
func TestSnapshotEncodedAsNeeded(t *testing.T) {
	tests := []struct {
		name      string
		delta     []bool // the peers, full or delta
		wantFull  []bool // a full message at ticks 1..4; a checkpoint every second tick
		wantDelta bool
	}{
		{"full peers", []bool{false, false}, []bool{true, true, true, true}, false},
		{"delta peers", []bool{true, true}, []bool{false, true, false, true}, true},
		{"both", []bool{false, true}, []bool{true, true, true, true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRoom(t, &fakeGame{}, newFakeClock(), len(tt.delta), time.Hour, nil)
			cps := &fakeCheckpoints{}
			r.checkpoints, r.cfg.CheckpointEvery = cps, 2
			var peers []*fakePeer
			for i, d := range tt.delta {
				p := newFakePeer()
				var peer Peer = p
				if d {
					peer = deltaPeer{p}
				}
				if err := seat(r, i).Attach(peer); err != nil {
					t.Fatal(err)
				}
				peers = append(peers, p)
			}
			r.state.Store(stateRunning)
			for range 4 {
				r.step()
			}
			if len(cps.saved) != 2 || cps.saved[0].State == nil || cps.saved[1].State == nil {
				t.Errorf("checkpoints %+v, want two with the full snapshot", cps.saved)
			}
			for k, ts := range peers[0].ticks {
				if got := ts.Full != nil; got != tt.wantFull[k] {
					t.Errorf("tick %d: a full message: %v, want %v", k+1, got, tt.wantFull[k])
				}
				if got := ts.Key != nil && (k == 0 || ts.Delta != nil); got != tt.wantDelta {
					t.Errorf("tick %d: a key and a delta: %v, want %v", k+1, got, tt.wantDelta)
				}
			}
		})
	}
}

func TestAttachReplacesPreviousPeer(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 2, time.Hour, nil)
	first, second := newFakePeer(), newFakePeer()
	_ = seat(r, 0).Attach(first)
	_ = seat(r, 0).Attach(second)
	if !first.closed || first.reason != arbiterv1.CloseReplaced {
		t.Errorf("first peer: closed=%v reason=%q; want replaced", first.closed, first.reason)
	}
	r.step()
	if len(first.snapshots) != 0 || len(second.snapshots) != 1 {
		t.Errorf("snapshots: first %d, second %d; want 0, 1", len(first.snapshots), len(second.snapshots))
	}
}

// startDuel runs a Manager with cfg — completed with a one-second duel of
// fakeGame, tokens and a quiet logger — until the test ends, and creates
// a duel of alice and bob.
func startDuel(t *testing.T, cfg Config) (*Manager, string) {
	t.Helper()
	cfg.Modes = map[string]Mode{"duel": {Name: "duel", Game: "fake", Players: 2, Duration: time.Second}}
	cfg.Games = map[string]Game{"fake": &fakeGame{}}
	cfg.Tokens, cfg.Logger = NewTokens([]byte("k")), discardLogger()
	m, err := NewManager(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	go m.Run(ctx)
	id, err := m.Create("duel", []string{"alice", "bob"})
	if err != nil {
		t.Fatal(err)
	}
	return m, id
}

// TestMatchEndsByDuration runs a room to its time limit through a Manager and
// checks the result, the MatchEnd frame, the close code and that the match's
// tokens stop admitting.
func TestMatchEndsByDuration(t *testing.T) {
	clock := newFakeClock()
	ended := make(chan Result, 1)
	m, id := startDuel(t, Config{
		Room:  RoomConfig{TickRate: 20, JoinTimeout: time.Second, Grace: time.Minute},
		Clock: clock, OnEnd: func(r Result) { ended <- r },
	})
	tokA := m.cfg.Tokens.Join("alice", id, time.Now().Add(time.Hour))
	tokB := m.cfg.Tokens.Join("bob", id, time.Now().Add(time.Hour))
	pa, pb := newFakePeer(), newFakePeer()
	for _, c := range []struct {
		tok  string
		peer *fakePeer
		aimX int32
	}{{tokA, pa, 1}, {tokB, pb, 3}} {
		s, err := m.Admit(c.tok)
		if err != nil {
			t.Fatalf("Admit: %v", err)
		}
		_ = s.Attach(c.peer)
		s.Input(&arbiterv1.Input{Seq: 1, AimX: c.aimX}) // scores via the fake game
	}
	clock.WaitArmed(2) // the join timer, then the first tick's
	res := fireUntil(clock, ended)
	want := []PlayerResult{
		{PlayerID: "alice", Entity: 1, Score: 1, Placement: 2},
		{PlayerID: "bob", Entity: 2, Score: 3, Placement: 1},
	}
	if diff := cmp.Diff(want, res.Players); diff != "" {
		t.Errorf("result players (-want +got):\n%s", diff)
	}
	if res.Ticks != 20 || res.Reason != "time_limit" || res.Aborted {
		t.Errorf("result = %d ticks, %q, aborted %v; want 20, time_limit, false", res.Ticks, res.Reason, res.Aborted)
	}
	for _, p := range []*fakePeer{pa, pb} {
		<-p.closedCh
		if last := decode(t, p.frames[len(p.frames)-1]); last.GetMatchEnd().GetMatchId() != id {
			t.Errorf("last frame = %v, want MatchEnd", last)
		}
		if p.reason != arbiterv1.CloseMatchOver {
			t.Errorf("close reason = %q, want match_over", p.reason)
		}
	}
	if _, err := m.Admit(tokA); err == nil {
		t.Error("Admit after the match ended succeeded")
	}
	// The manager's totals keep what the ended room did.
	if got := [3]uint64{m.Stats.Ticks.Load(), m.Stats.InputsApplied.Load(), m.Stats.SnapshotFrames.Load()}; got != [3]uint64{20, 2, 40} {
		t.Errorf("manager ticks, inputs applied, snapshot frames = %v, want [20 2 40]", got)
	}
}

func TestForfeitAfterGraceEndsDuel(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 2, time.Hour, nil)
	_ = seat(r, 0).Attach(newFakePeer()) // seat 1 never connects
	limit := uint32(3600 * 30)
	for i := 0; i < 2*30; i++ { // exactly the 2 s grace
		r.step()
		if why := r.endReason(limit); why != "" {
			t.Fatalf("ended at tick %d (%s), before the grace period passed", i+1, why)
		}
	}
	// Back in the last tick of the grace period: the seat is taken again.
	if err := seat(r, 1).Attach(newFakePeer()); err != nil {
		t.Fatalf("Attach within the grace period: %v", err)
	}
	seat(r, 1).Detach(nil) // a stale detach changes nothing
	r.step()
	if why := r.endReason(limit); why != "" || r.players[1].forfeited.Load() {
		t.Fatalf("a player back within the grace period forfeited (%q)", why)
	}
	// Gone again, for good this time.
	r.players[1].mu.Lock()
	r.players[1].mu.peer = nil
	r.players[1].mu.Unlock()
	for range 2*30 + 1 {
		r.step()
	}
	if why := r.endReason(limit); why != "forfeit" {
		t.Fatalf("endReason = %q, want forfeit", why)
	}
	res := r.result("forfeit", false)
	if res.Players[0].Placement != 1 || res.Players[1].Placement != 2 || !res.Players[1].Forfeit {
		t.Errorf("placements = %+v", res.Players)
	}
	// A forfeited player who comes back is told so and closed with 4001.
	back := newFakePeer()
	if err := seat(r, 1).Attach(back); err != ErrForfeited {
		t.Fatalf("Attach after forfeiting = %v, want ErrForfeited", err)
	}
	if !back.closed || back.reason != arbiterv1.CloseForfeited || len(back.frames) != 0 {
		t.Errorf("forfeited player's new connection: closed=%v %q, %d frames; want forfeited and no Welcome",
			back.closed, back.reason, len(back.frames))
	}
}

func TestPlace(t *testing.T) {
	tests := []struct {
		give []PlayerResult
		want []int
	}{
		{[]PlayerResult{{Score: 5}, {Score: 9}, {Score: 5}, {Score: 1}}, []int{2, 1, 2, 4}},
		{[]PlayerResult{{Score: 3}, {Score: 3}}, []int{1, 1}},
		{[]PlayerResult{{Score: 9, Forfeit: true}, {Score: 0}, {Score: 2, Forfeit: true}}, []int{2, 1, 2}},
	}
	for _, tt := range tests {
		Place(tt.give)
		var got []int
		for _, p := range tt.give {
			got = append(got, p.Placement)
		}
		if !cmp.Equal(got, tt.want) {
			t.Errorf("Place = %v, want %v", got, tt.want)
		}
	}
}

// TestPanicEndsOnlyThatMatch: a game that panics ends its room with 1011.
func TestPanicEndsOnlyThatMatch(t *testing.T) {
	clock := newFakeClock()
	g := &fakeGame{onStep: func(int) { panic("boom") }}
	var got Result
	r := testRoom(t, g, clock, 1, time.Hour, func(res Result) Result { got = res; return res })
	p := newFakePeer()
	_ = seat(r, 0).Attach(p)
	done := make(chan error, 1)
	go func() { done <- r.Run(t.Context()) }()
	clock.WaitArmed(2)
	clock.FireNext()
	if err := <-done; err == nil {
		t.Fatal("Run returned nil after a panic")
	}
	if p.reason != arbiterv1.CloseInternalError || !got.Aborted {
		t.Errorf("close reason %q, aborted %v; want internal_error, true", p.reason, got.Aborted)
	}
}

func TestRoomSummary(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 2, time.Hour, nil)
	s := r.Summary()
	if s.Status != StatusWaiting || s.MatchID != "m1" || !cmp.Equal(s.Players, []string{"a", "b"}) {
		t.Errorf("Summary() = %+v", s)
	}
	r.state.Store(stateRunning)
	if got := r.Summary().Status; got != StatusRunning {
		t.Errorf("Status = %q, want running", got)
	}
}

// TestCheaterKicked: a player whose violations pass the game's threshold is
// closed with Kick "cheat" and 1008 — the message names the rules and how
// often —, forfeits, cannot come back with its token, and an event with its
// violation counts is reported; the honest player keeps playing. Refused
// frames (Seat.Violation) count; floods, replays and surplus do not.
func TestCheaterKicked(t *testing.T) {
	g := &fakeGame{suspectAt: 70}
	r := testRoom(t, g, newFakeClock(), 2, time.Hour, nil)
	r.state.Store(stateRunning)
	var events []AntiCheatEvent
	r.report = func(ev AntiCheatEvent) { events = append(events, ev) }
	cheat, honest := newFakePeer(), newFakePeer()
	_ = seat(r, 0).Attach(cheat)
	_ = seat(r, 1).Attach(honest)

	seq := uint32(0)
	for tick := 0; tick < 100; tick++ { // a flood and replays: no kick
		for range 10 {
			seq++
			seat(r, 0).Input(&arbiterv1.Input{Seq: seq, MoveX: 1})
		}
		seat(r, 0).Input(&arbiterv1.Input{Seq: 1})
		seat(r, 1).Input(&arbiterv1.Input{Seq: uint32(tick + 1), MoveX: 1})
		r.step()
	}
	if cheat.closed || len(r.players[0].violations) != 0 {
		t.Fatalf("a flood of valid inputs was punished: closed %v, violations %v", cheat.closed, r.players[0].violations)
	}
	seat(r, 0).Violation(arbiterv1.CloseBadFrame)
	for tick := 0; tick < 10 && !cheat.closed; tick++ {
		for range 3 {
			seq++
			seat(r, 0).Input(&arbiterv1.Input{Seq: seq, Buttons: 0xdead})
		}
		r.step()
	}
	if !cheat.closed || cheat.reason != arbiterv1.CloseCheat {
		t.Fatalf("cheater: closed=%v reason=%q; want cheat", cheat.closed, cheat.reason)
	}
	if want := "removed for cheating: " + errFakeInvalid.Error() + " ×6, bad_frame ×1"; cheat.message != want {
		t.Errorf("kick message %q, want %q", cheat.message, want)
	}
	if honest.closed {
		t.Fatal("honest player was closed")
	}
	before := len(honest.snapshots)
	r.step()
	if len(honest.snapshots) != before+1 || len(cheat.snapshots) > before {
		t.Errorf("after the kick: honest got %d more snapshots, cheater has %d", len(honest.snapshots)-before, len(cheat.snapshots))
	}
	if len(events) != 1 || events[0].PlayerID != "a" || events[0].Violations["bad_frame"] != 1 || events[0].Violations[errFakeInvalid.Error()] != 6 {
		t.Errorf("events = %+v, want one kick of a with its violation counts", events)
	}
	again := newFakePeer()
	if err := seat(r, 0).Attach(again); err != ErrKicked || again.reason != arbiterv1.CloseCheat {
		t.Errorf("Attach after kick = %v (closed %q), want ErrKicked and cheat", err, again.reason)
	}
	if res := r.result("forfeit", false); !res.Players[0].Forfeit || res.Players[0].Placement != 2 {
		t.Errorf("cheater result = %+v, want forfeit, last", res.Players[0])
	}
	if r.Stats.Kicks.Load() != 1 {
		t.Errorf("Kicks = %d, want 1", r.Stats.Kicks.Load())
	}
}

func TestKickMessage(t *testing.T) {
	tests := []struct {
		give map[string]int
		want string
	}{
		{map[string]int{"move_length": 7}, "removed for cheating: move_length ×7"},
		{map[string]int{"view_tick": 2, "move_length": 7, "aim_range": 2}, "removed for cheating: move_length ×7, aim_range ×2, view_tick ×2"},
	}
	for _, tt := range tests {
		if got := KickMessage(tt.give); got != tt.want {
			t.Errorf("KickMessage(%v) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

func TestInvalidInputsCountedByName(t *testing.T) {
	r := testRoom(t, &fakeGame{}, newFakeClock(), 1, time.Hour, nil)
	_ = seat(r, 0).Attach(newFakePeer())
	r.state.Store(stateRunning)
	seat(r, 0).Input(&arbiterv1.Input{Seq: 1, Buttons: 0xdead})
	r.step()
	if got := r.players[0].violations[errFakeInvalid.Error()]; got != 1 {
		t.Errorf("violations = %v, want one %q", r.players[0].violations, errFakeInvalid)
	}
}

// TestTickPhases: with TickPhases set, a room that starts at an odd instant
// starts its schedule on the shared grid — a whole number of period/phases
// since the Unix epoch — and ticks one period apart from there, so that
// rooms started apart tick in one of the phases.
func TestTickPhases(t *testing.T) {
	for _, phases := range []int{1, 4} {
		clock := newFakeClock()
		clock.Advance(12345678 * time.Nanosecond) // an instant off every grid
		g := &fakeGame{}
		world, _ := g.NewWorld(WorldConfig{})
		cfg := RoomConfig{TickRate: 30, JoinTimeout: time.Second, Grace: 2 * time.Second, MaxCatchUp: 3, InboxSize: 4, TickPhases: phases}
		r := newRoom("m1", Mode{Name: "test", Players: 1, Duration: time.Hour}, cfg, world, []string{"a"}, clock, discardLogger(), nil)
		period := time.Second / 30
		step := period / time.Duration(phases)
		var starts []time.Time
		g.onStep = func(int) { starts = append(starts, clock.Now()) }
		runTicks(t, r, clock, 50, func() {})
		if first := starts[0].Sub(r.startedAt); first < period || first >= period+step {
			t.Errorf("phases %d: first tick %v after the start, want within [period, period+step)", phases, first)
		}
		// The schedule starts on the grid; ticks follow a period apart
		// (a period need not be a whole number of steps: 33333333 ns).
		if origin := starts[0].Add(-period); origin.UnixNano()%int64(step) != 0 {
			t.Fatalf("phases %d: schedule starts at %v, off the %v grid", phases, origin.UnixNano(), step)
		}
		for i, at := range starts {
			if i > 0 && at.Sub(starts[i-1]) != period {
				t.Fatalf("phases %d: ticks %d and %d are %v apart, want %v", phases, i, i+1, at.Sub(starts[i-1]), period)
			}
		}
	}
}

func TestAlignUp(t *testing.T) {
	step := 10 * time.Millisecond
	base := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct{ in, want time.Duration }{
		{0, 0}, {1, step}, {step - 1, step}, {step, step}, {step + 1, 2 * step},
	} {
		if got := alignUp(base.Add(tt.in), step).Sub(base); got != tt.want {
			t.Errorf("alignUp(base+%v) = base+%v, want base+%v", tt.in, got, tt.want)
		}
	}
	if got := alignUp(base.Add(3), 0); !got.Equal(base.Add(3)) {
		t.Errorf("alignUp with no step moved the time to %v", got)
	}
}

// TestUntimedTickMode: a tick game whose mode has no time limit
// (Duration 0) is not ended by the clock: only by its score or forfeits.
func TestUntimedTickMode(t *testing.T) {
	tests := []struct {
		name     string
		duration time.Duration
		tick     uint32
		want     string
	}{
		{"untimed, at tick 1", 0, 1, ""},
		{"untimed, much later", 0, 1 << 20, ""},
		{"timed, before the limit", time.Second, 19, ""},
		{"timed, at the limit", time.Second, 20, "time_limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mode := Mode{Name: "m", Game: "fake", Players: 2, Duration: tt.duration}
			world, _ := (&fakeGame{}).NewWorld(WorldConfig{})
			r := newRoom("r", mode, RoomConfig{TickRate: 20}, world, []string{"a", "b"}, newFakeClock(), slog.New(slog.DiscardHandler), func(res Result) Result { return res })
			r.tick.Store(tt.tick)
			limit := uint32(mode.Duration.Seconds() * 20)
			if got := r.endReason(limit); got != tt.want {
				t.Errorf("endReason at tick %d = %q, want %q", tt.tick, got, tt.want)
			}
		})
	}
}

// pollingPeer is a fakePeer that is a Poller: each Poll hands its seat the
// inputs queued for it, as a polled connection hands over what its client
// sent since the last tick.
type pollingPeer struct {
	*fakePeer
	seat   *Seat
	queued []Input
	polls  []time.Time
}

func (p *pollingPeer) Poll(now time.Time) {
	p.polls = append(p.polls, now)
	for _, in := range p.queued {
		p.seat.Input(&arbiterv1.Input{Seq: in.Seq, MoveX: in.MoveX})
	}
	p.queued = p.queued[:0]
}

// TestPollerReadAtTick: a tick room polls each Poller peer at the start of
// every tick, with the tick's time, before it takes the inputs: what a
// poll hands over is applied, and acknowledged, in that same tick.
// Peers that are not Pollers are left alone.
func TestPollerReadAtTick(t *testing.T) {
	clock := newFakeClock()
	r := testRoom(t, &fakeGame{}, clock, 2, time.Hour, nil)
	polled := &pollingPeer{fakePeer: newFakePeer(), seat: seat(r, 0)}
	plain := newFakePeer()
	for i, p := range []Peer{polled, plain} {
		if err := seat(r, i).Attach(p); err != nil {
			t.Fatal(err)
		}
	}
	r.state.Store(stateRunning)
	for tick := range uint32(3) {
		polled.queued = append(polled.queued, Input{Seq: tick + 1, MoveX: 10})
		clock.Advance(time.Second / 30)
		r.step()
		if got := len(polled.polls); got != int(tick+1) {
			t.Fatalf("tick %d: polled %d times, want once per tick", tick+1, got)
		}
		if got, want := polled.polls[tick], clock.Now(); !got.Equal(want) {
			t.Errorf("tick %d: polled with %v, want the tick's time %v", tick+1, got, want)
		}
		if ack := polled.acks[tick].LastInputSeq; ack != tick+1 {
			t.Errorf("tick %d: acknowledged seq %d, want %d (the input the poll handed over)", tick+1, ack, tick+1)
		}
		if x := polled.lastSnapshot(t).GetEntities()[0].GetX(); x != int32(10*(tick+1)) {
			t.Errorf("tick %d: entity at x = %d, want %d", tick+1, x, 10*(tick+1))
		}
	}
}
