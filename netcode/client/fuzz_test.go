package client

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	arbiterv1 "github.com/arbiter-gg/arbiter/proto/arbiter/v1"
	"github.com/arbiter-gg/arbiter/sim"
)

// offlineClient returns a Client with no connection, for feeding frames to
// handle directly.
func offlineClient(opts Options) *Client {
	return &Client{
		opts:     opts.withDefaults(),
		welcomed: make(chan struct{}),
		done:     make(chan struct{}),
		closing:  make(chan struct{}),
	}
}

func mustMarshal(t testing.TB, m *arbiterv1.ServerMessage) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustUnmarshalSnapshot(t testing.TB, frame []byte) *arbiterv1.Snapshot {
	t.Helper()
	var m arbiterv1.ServerMessage
	if err := proto.Unmarshal(frame, &m); err != nil {
		t.Fatal(err)
	}
	return m.GetSnapshot()
}

// FuzzHandle feeds two arbitrary server frames to a fresh client: whatever
// they hold, the client must answer with a violation or update its state, and
// never panic. The messages of one kind of game never reach the views of the
// other: no snapshot is kept in a game played with actions, no State in the
// arena.
func FuzzHandle(f *testing.F) {
	welcome := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
		MatchId: "m", EntityId: 1, TickRate: 30, Tick: 5, PlayerId: "p", Mode: "ffa",
	}}})
	snapshot := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Snapshot{Snapshot: &arbiterv1.Snapshot{
		Tick: 6, Entities: []*arbiterv1.Entity{
			{Id: 1, X: 100, Y: 100, Hp: 100, LastInputSeq: 3, InputBacklog: 2},
			{Id: 2, X: -2147483648, Y: 2147483647, Hp: 4294967295, Score: 7},
		},
	}}})
	zeroRate := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{EntityId: 1}}})
	f.Add(welcome, snapshot)
	f.Add(welcome, welcome)
	f.Add(snapshot, welcome)
	f.Add(zeroRate, snapshot)
	f.Add([]byte{0xff, 0xff, 0xff}, snapshot)
	f.Add(welcome, []byte{0x12, 0x05, 0x08})
	f.Add([]byte{}, []byte{})
	kick := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Kick{Kick: &arbiterv1.Kick{Reason: "match_over"}}})
	f.Add(kick, snapshot) // a Kick may precede the Welcome; the client must stay usable
	// Games played with actions (more seeds in testdata/fuzz/FuzzHandle).
	chess := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
		MatchId: "m", PlayerId: "p", Mode: "chess", Game: "chess", LastActionSeq: 2,
	}}})
	state := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_State{State: &arbiterv1.State{
		Version: 1, LastActionSeq: 2, Payload: []byte("board"),
	}}})
	rejected := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Rejected{Rejected: &arbiterv1.Rejected{
		Seq: 2, Reason: "not_your_turn",
	}}})
	// Delta snapshots (more seeds in testdata/fuzz/FuzzHandle).
	deltaWelcome := mustMarshal(f, &arbiterv1.ServerMessage{Kind: &arbiterv1.ServerMessage_Welcome{Welcome: &arbiterv1.Welcome{
		MatchId: "m", EntityId: 1, TickRate: 30, Tick: 5, PlayerId: "p", Mode: "ffa", Snapshots: arbiterv1.SnapshotEncoding_SNAPSHOT_ENCODING_DELTA,
	}}})
	var enc arbiterv1.DeltaEncoder
	ents := mustUnmarshalSnapshot(f, snapshot).GetEntities()
	key := arbiterv1.AppendDeltaMessage(nil, enc.AppendBody(nil, 6, 0, nil, ents), arbiterv1.Ack{LastInputSeq: 3, InputBacklog: 2})
	delta := arbiterv1.AppendDeltaMessage(nil, enc.AppendBody(nil, 7, 6, ents, ents[1:]), arbiterv1.Ack{LastInputSeq: 4})
	f.Add(deltaWelcome, key)
	f.Add(deltaWelcome, delta) // from a snapshot the client does not have
	f.Add(deltaWelcome, snapshot)
	f.Add(welcome, key) // on a connection that did not ask
	f.Add(chess, key)
	f.Add(chess, state)
	f.Add(chess, rejected)
	f.Add(chess, snapshot)
	f.Add(welcome, state)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		c := offlineClient(Options{OnSnapshot: func(*arbiterv1.Snapshot) {}, OnState: func(*arbiterv1.State) {}, OnRejected: func(*arbiterv1.Rejected) {}})
		if v := c.handle(true, first); v != nil {
			if _, known := arbiterv1.ParseCloseReason(string(v.reason)); v.err == nil || !known {
				t.Fatalf("handle(first) = %+v, want a close reason of the vocabulary and a cause", v)
			}
			return
		}
		select {
		case <-c.welcomed:
		default:
			// Only an announced close (Kick) may come before the Welcome.
			var m arbiterv1.ServerMessage
			if err := proto.Unmarshal(first, &m); err != nil || m.GetKick() == nil {
				t.Fatal("first frame accepted without a Welcome or a Kick")
			}
		}
		if v := c.handle(true, second); v != nil {
			if _, known := arbiterv1.ParseCloseReason(string(v.reason)); v.err == nil || !known {
				t.Fatalf("handle(second) = %+v, want a close reason of the vocabulary and a cause", v)
			}
		}
		now := time.Now()
		c.Predicted()
		c.Interpolated(now)
		c.RenderTick(now)
		c.PredictionError()
		c.InputDue(now)
		c.PacingStats()
		c.LastSeq()
		if c.Welcome().PlayedWithActions() && c.LastSnapshot() != nil {
			t.Fatal("a snapshot kept in a game played with actions")
		}
		if !c.Welcome().PlayedWithActions() && c.State() != nil {
			t.Fatal("a State kept in the arena")
		}
		if p := c.PendingActions(); p != nil {
			t.Fatalf("PendingActions() = %v with nothing sent", p)
		}
	})
}

// FuzzPacer feeds a Pacer whatever a hostile or broken server may report
// (ticks, acknowledgements and backlogs at random, times going back and
// forth) between inputs sent at random times: it must never panic, and the
// next input must always be due between (1−MaxDilation) and (1+MaxDilation)
// periods after one sent on time, give or take the skew estimate, and no
// sooner than a quarter period before one sent late (at most a period late,
// the schedule keeps its slot).
func FuzzPacer(f *testing.F) {
	f.Add(uint8(30), []byte{0, 10, 1, 0, 0, 3, 0, 0, 1, 0, 1, 0, 4, 0, 1, 2, 33, 1, 5, 0, 0})
	f.Add(uint8(60), []byte{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, rate uint8, ops []byte) {
		tickRate := int(rate%41) + 20
		p := NewPacer(tickRate)
		period := float64(time.Second) / float64(tickRate)
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var seq uint32
		var tick sim.Tick
		for len(ops) >= 4 {
			op, a, b, c := ops[0], ops[1], ops[2], ops[3]
			ops = ops[4:]
			now = now.Add(time.Duration(int8(a)) * time.Millisecond)
			switch op % 3 {
			case 0: // send, on time or late by up to c ms
				at := now
				if due := p.Due(); !due.IsZero() {
					at = due.Add(time.Duration(c) * time.Millisecond)
				}
				seq++
				p.Sent(seq, at)
				d := float64(p.Due().Sub(at))
				lo := (1 - MaxDilation) * period * (1 - tickClockMaxSkew)
				hi := (1 + MaxDilation) * period * (1 + tickClockMaxSkew)
				if c > 0 {
					lo = -(MaxDilation * period * (1 + tickClockMaxSkew))
				}
				if d < lo-1 || c == 0 && d > hi+1 {
					t.Fatalf("input %d sent %d ms late: next due in %.3f periods, want within [%.3f, %.3f]", seq, c, d/period, lo/period, hi/period)
				}
				now = at
			case 1: // a snapshot: ack and backlog near the truth, or not
				tick += sim.Tick(b % 8)
				ack := seq - uint32(min(uint32(c%16), seq))
				if b&0x80 != 0 {
					ack = uint32(c) << 24
				}
				p.Observe(tick, ack, uint32(a%8), now)
			case 2: // a wild snapshot
				p.Observe(sim.Tick(uint32(a)<<24|uint32(b)), uint32(c)<<16, uint32(a)<<8, now.Add(-time.Duration(b)*time.Second))
			}
		}
		p.Stats()
	})
}
